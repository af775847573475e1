"""The training loop: R runs at once -> one History per run.

Runs in a batch share shapes (`RunConfig.batch_key`); each has its own init
seed, train split (sizes may differ), lr, weight decay, betas, init scale and
alpha. The loss is the sum of per-run mean losses, so the gradient of each
run's parameters is that run's own gradient: runs never couple.

Every `eval_every` steps the loop evaluates all M² pairs (no grad) and logs,
into preallocated device buffers (E, R), without a host sync:
  train|test/loss|acc, norm/<p> = ‖p‖, delta/<p> = ‖p_{t+1} − p_t‖ for that
  step, rel_delta/<p> = delta/‖p‖, drift/<p> = ‖p_t − p_0‖/‖p_0‖, grad/<p> =
  ‖∂L/∂p‖ (loss gradient, without weight decay), gf/norm = ‖∂L/∂F‖ over the
  training batch (G_F, F the hidden features), grad/cos = mean pairwise cosine
  of the hidden neurons' input-weight gradients.
The host syncs only every `check_every` evaluations, to stop early once every
run has generalized (test acc ≥ rule threshold for `patience` evals) or
diverged. A run whose loss turns NaN/inf is marked `diverged`, never "did not
grok".

Compaction (``compact=True``, opt-in): at the same host checks, each run that
has generalized or diverged leaves the batch on its own, and the rest go on in
a smaller batch (every (R, ...) tensor of the loop is index-selected on the run
axis: parameters, optimizer state, per-run hyperparameters, data masks and
indices, log buffers). A run's history is then its uncompacted history cut at
its own stop (see `train`), and its summary says so: ``summary["compacted"] =
True`` and ``summary["stop"]`` = "grokked" | "diverged" | "budget". Only for
claims that read nothing after a run's grokking step.
"""
from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from grokcore.engine import models, tasks
from grokcore.base.history import GEN_PATIENCE, GEN_THRESHOLD, MEM_THRESHOLD, History, summarize  # noqa: F401 (re-exported)
from grokcore.engine.config import RunConfig
from grokcore.engine.optim import BatchedOptimizer

@contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run the block with n torch intra-op threads (None or 0: leave as is), restoring
    the caller's setting. The fast tier's tiny models are launch-bound on CPU: one
    thread is fastest and does not oversubscribe a loaded machine."""
    old = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


# Evaluations between host checks (early stop, compaction). sweep.run trains with this value,
# and reading a stored history's compaction point back (sweep.own_stop_rows) assumes it.
CHECK_EVERY = 20
STOPS = ("grokked", "diverged", "budget")  # summary["stop"] of a history trained with compact=True
# The summary's rule (base.detect) compares accuracies in float64; a float32 tensor against the
# Python float 0.95 compares in float32, where 19/20 = float32(0.95) = 0.949999988 passes and
# float64 says it falls short. Compaction stops runs on the summary's rule, so its streak
# compares against the smallest float32 >= GEN_THRESHOLD: the float32 comparison is then the
# float64 one. (Whole-batch early stop keeps the float32 comparison it always made.)
GEN_THRESHOLD_F32 = float(np.float32(GEN_THRESHOLD)) if float(np.float32(GEN_THRESHOLD)) >= GEN_THRESHOLD \
    else float(np.nextafter(np.float32(GEN_THRESHOLD), np.float32(np.inf)))


@dataclass
class TrainResult:
    histories: list[History]
    params: dict[str, torch.Tensor]  # final (R, ...) parameters, detached (compact: each run's at its stop)
    opt_state: dict | None  # None when compaction stopped runs at different steps (no common Adam t)
    checkpoints: list[tuple[int, dict[str, torch.Tensor]]]  # (step, {name: (R, ...)}) on CPU


def hash_index(seed: torch.Tensor, step: int, B: int, n: torch.Tensor, j: torch.Tensor | None = None) -> torch.Tensor:
    """Counter-based minibatch sampler: (R,) seeds, step -> (R, B) indices in [0, n_r).

    A few rounds of a 32-bit integer mix (kept below 2^62, so no overflow);
    with-replacement sampling that depends only on (seed, step, j), so a run
    draws the same minibatches whether it trains alone or in a batch. j: a prebuilt
    arange(B) on seed's device (the train loop passes one, so no per-step allocation)."""
    if j is None:
        j = torch.arange(B, device=seed.device)
    x = (seed[:, None] * 0x9E3779B1 + step * 0x85EBCA77 + j * 0xC2B2AE3D) & 0xFFFFFFFF
    for _ in range(3):
        x = ((x ^ (x >> 16)) * 0x45D9F3B) & 0xFFFFFFFF
    return x % n[:, None]


def _data(cfgs: list[RunConfig], device):
    """Full table (N,) tensors and per-run split masks / padded train indices."""
    c0 = cfgs[0]
    a, b, y = (t.to(device) for t in tasks.table(c0.task, c0.M))
    N = a.numel()
    splits = [tasks.run_split(c.task, c.M, c.ratio, c.n_train, c.split_seed, c.curriculum) for c in cfgs]
    n = torch.tensor([tr.numel() for tr, _ in splits], device=device)  # (R,)
    train_mask = torch.zeros(len(cfgs), N, dtype=torch.bool)
    test_mask = torch.zeros(len(cfgs), N, dtype=torch.bool)
    idx = torch.zeros(len(cfgs), int(n.max()), dtype=torch.long)  # padded with pair 0
    for r, (tr, te) in enumerate(splits):
        train_mask[r, tr], test_mask[r, te] = True, True
        idx[r, : tr.numel()] = tr
    return a, b, y, n, train_mask.to(device), test_mask.to(device), idx.to(device)


def _per_sample_loss(logits: torch.Tensor, y: torch.Tensor, kind: str) -> torch.Tensor:
    """logits (R, B, M), y (R, B) -> (R, B)."""
    R, B, M = logits.shape
    if kind == "ce":
        return F.cross_entropy(logits.reshape(R * B, M).float(), y.reshape(-1), reduction="none").view(R, B)
    return ((logits - F.one_hot(y, M).to(logits.dtype)) ** 2).mean(-1)  # as nn.MSELoss on one-hot targets


def eval_chunk(R: int, spec, M: int, device, eval_chunk_elems: int = 1 << 24,
               mem_fraction: float = 0.5) -> int:
    """Pairs per evaluation chunk. CPU: eval_chunk_elems / (R x max(4K, M)) (a cache-sized chunk,
    as before). CUDA: `mem_fraction` of the free device memory (torch.cuda.mem_get_info) over the
    no-grad forward's bytes per pair for R runs (models.activation_floats x 4 x R), at most M²."""
    if torch.device(device).type != "cuda":
        return max(1, eval_chunk_elems // (R * max(spec.width * 4, M)))
    free, _ = torch.cuda.mem_get_info(torch.device(device))
    per_pair = 4 * R * models.activation_floats(spec, M)
    return int(min(M * M, max(1, mem_fraction * free // per_pair)))


@torch.no_grad()
def _evaluate(spec, P, alpha, a, b, y, masks, loss_kind, chunk):
    """Loss and accuracy over each run's train and test masks (R, N): all pairs, chunked."""
    R, N = masks[0].shape
    tot = {k: torch.zeros(R, device=a.device) for k in ("loss_tr", "acc_tr", "loss_te", "acc_te")}
    for s in range(0, N, chunk):
        sl = slice(s, min(N, s + chunk))
        aa, bb, yy = (t[sl].expand(R, -1) for t in (a, b, y))
        logits, _ = models.forward(spec, P, aa, bb, alpha)
        loss = _per_sample_loss(logits, yy, loss_kind)  # (R, C)
        acc = (logits.argmax(-1) == yy).float()
        for tag, m in zip(("tr", "te"), masks):
            mm = m[:, sl].float()
            tot[f"loss_{tag}"] += (loss * mm).sum(1)
            tot[f"acc_{tag}"] += (acc * mm).sum(1)
    n_tr, n_te = masks[0].sum(1).clamp(min=1), masks[1].sum(1).clamp(min=1)
    return tot["loss_tr"] / n_tr, tot["acc_tr"] / n_tr, tot["loss_te"] / n_te, tot["acc_te"] / n_te


def _step_loss(spec, P, a, b, y, w, alpha, loss_kind):
    """The training step's forward: pairs a, b, labels y, weights w (R, B) -> per-run weighted
    loss (R,) and the hidden features (R, B, K) (for G_F)."""
    logits, feats = models.forward(spec, P, a, b, alpha)  # (R, B, M), (R, B, K)
    return (_per_sample_loss(logits, y, loss_kind) * w).sum(1), feats


_COMPILED: dict[str, object] = {}


class CudaGraphFallback(UserWarning):
    """cuda_graph=True was asked where CUDA graphs are unavailable; training went on without."""


def cuda_graphs_available(device) -> bool:
    return torch.device(device).type == "cuda" and torch.cuda.is_available()


def _compiled_step_loss(mode: str = "default"):
    """torch.compile(_step_loss, mode=mode), built once per process and mode (dynamo
    re-specializes per shape); "reduce-overhead" captures CUDA graphs."""
    if mode not in _COMPILED:
        _COMPILED[mode] = torch.compile(_step_loss, mode=mode, dynamic=False)
    return _COMPILED[mode]


def _norm(x: torch.Tensor) -> torch.Tensor:
    return x.flatten(1).norm(dim=1)  # (R,)


def _grad_cosine(g: torch.Tensor) -> torch.Tensor:
    """Mean pairwise cosine of neurons' gradients; g (R, fan_in, K) columns = neurons.
    With unit vectors u_k: mean_{i≠j} u_i·u_j = (‖Σ u_k‖² − K) / (K (K − 1))."""
    u = g / g.norm(dim=1, keepdim=True).clamp(min=1e-30)
    K = g.shape[-1]
    return (u.sum(-1).pow(2).sum(-1) - K) / (K * (K - 1))


def train(cfgs: list[RunConfig], device: str | torch.device = "cpu", *,
          params: dict[str, torch.Tensor] | None = None, opt_state: dict | None = None,
          early_stop: bool = True, check_every: int = CHECK_EVERY, checkpoint_every: int = 0,
          start_step: int = 0, eval_chunk_elems: int = 1 << 24, progress=None,
          compile: bool = False, cuda_graph: bool = False, flat_optim: bool | None = None,
          compact: bool = False) -> TrainResult:
    """Train R = len(cfgs) shape-compatible runs together.

    params / opt_state continue earlier training (curricula, finetuning);
    checkpoint_every > 0 keeps a CPU copy of the parameters every that many
    steps (for LLC along training); progress is an optional callable(step, steps).
    Metric groups not in the configs' ``metrics`` are neither computed nor logged.
    compile: torch.compile the step's forward + loss and the optimizer update (default off;
    not bit-identical to the eager step: fused kernels round differently). Logged steps that
    measure G_F run the eager forward (the compiled graph does not expose F to autograd).
    cuda_graph: capture the compiled step in CUDA graphs (torch.compile mode "reduce-overhead",
    which replays one graph launch per step); where that is unavailable (no CUDA device, or
    device not CUDA) it warns (CudaGraphFallback) and trains with the step it would otherwise use.
    flat_optim: the optimizer updates all parameters as one flat (R, D) tensor (a dozen
    kernels per step instead of ~10 per parameter); None = on CUDA only, since on CPU the
    default per-parameter path is the one the verdict-stability table was measured with.

    compact (default off; needs early_stop): at each host check (every `check_every`
    evaluations, the same syncs as early_stop, none added), every run that has generalized
    (test acc >= GEN_THRESHOLD for GEN_PATIENCE evals, compared as the summary compares:
    GEN_THRESHOLD_F32) or diverged leaves the batch, and the others continue as a smaller
    batch; so a run that left as "grokked" has its generalized_step in its history. The rule for a run that leaves at the check of step s:
      - its history is its rows 0..s: its gradient statistics at s are logged, the update
        after s is not made (delta/<p>, rel_delta/<p> of that row stay NaN, as on the last
        row of every history), so it equals the uncompacted history cut at s;
      - its params are those at step s; summary["compacted"] = True, summary["stop"] =
        "grokked" | "diverged" (runs that reach cfg.steps: "budget").
    A run's trajectory does not depend on its batch-mates: minibatches come from its own
    (seed, step) (hash_index), padding of full-batch steps is kept (weight 0; trimming it
    would change the reduction's blocking), and the evaluation chunk stays the one of the
    first batch. What can move it is the float path: a run that moves to another slot of the
    batch has its (B, M) slab of a batched matmul's output at another address, and MKL's sgemm
    rounds by the output's alignment for some narrow outputs (measured on an AMD EPYC,
    AVX-512/AVX2/generic: output widths 5-7 and 9-11, i.e. Li² M <= 11; every M from 12 to
    130 is exact; test_compaction.py and benchmarks/README.md give the tolerance). Not with checkpoint_every (checkpoints are (R, ...) of one batch);
    opt_state is None once runs stopped at different steps (Adam's t differs between them);
    with compile each new batch size compiles the step once more (past dynamo's recompile
    limit that step runs eager)."""
    if len({c.batch_key for c in cfgs}) != 1:
        raise ValueError("runs in one batch must share batch_key (shapes, optimizer, steps, loss)")
    if compact and not early_stop:
        raise ValueError("compact=True stops each run at its own grokking step: it needs early_stop=True")
    if compact and checkpoint_every:
        raise ValueError("compact=True cannot keep checkpoints: they hold (R, ...) of one batch, and the batch shrinks")
    c0, R, t0 = cfgs[0], len(cfgs), time.perf_counter()
    spec, M, steps, k = c0.model, c0.M, c0.steps, c0.eval_every
    a, b, y, n, train_mask, test_mask, idx = _data(cfgs, device)

    # --- parameters and optimizer: each run initialized from its own generator
    if params is None:
        per_run = [models.init_params(c.model, M, torch.Generator().manual_seed(c.seed), c.model.init_scale)
                   for c in cfgs]
        P = models.stack_params(per_run, device)
    else:
        P = {kk: v.detach().clone().to(device).requires_grad_(True) for kk, v in params.items()}
    if flat_optim is None:
        flat_optim = torch.device(device).type == "cuda"
    opt = BatchedOptimizer(P, [c.optim for c in cfgs], flat=flat_optim, compile=compile)
    if opt_state is not None:
        opt.load_state_dict(opt_state)
    alpha = torch.tensor([c.model.alpha for c in cfgs], device=device)
    seeds = torch.tensor([c.seed for c in cfgs], device=device)
    hid = f"fc1.{spec.depth - 1}" if spec.family == "transformer" else models.HIDDEN_IN[spec.family]
    want = set(c0.metrics)  # optional metric groups (config.METRICS); the batch shares them
    P0 = {kk: v.detach().clone() for kk, v in P.items()} if "drift" in want else {}
    # static step inputs, built once: the full batch's gathered pairs and weights, or the
    # minibatch's arange and uniform weights (no per-step arange / full)
    if c0.batch_size:
        j_mb = torch.arange(c0.batch_size, device=device)  # (B,)
        w_mb = torch.full((R, c0.batch_size), 1.0 / c0.batch_size, device=device)  # (R, B)
    else:
        full_w = (torch.arange(idx.shape[1], device=device)[None] < n[:, None]) / n[:, None]  # (R, Nmax)
        a_full, b_full, y_full = a[idx], b[idx], y[idx]  # (R, Nmax) each
    chunk = eval_chunk(R, spec, M, device, eval_chunk_elems)
    if cuda_graph and not cuda_graphs_available(device):
        warnings.warn(f"cuda_graph=True needs a CUDA device (got {device!r}, CUDA available: "
                      f"{torch.cuda.is_available()}): training without CUDA-graph capture", CudaGraphFallback)
        cuda_graph = False
    step_loss = _compiled_step_loss("reduce-overhead" if cuda_graph else "default") if compile or cuda_graph \
        else _step_loss

    # --- preallocated log buffers (E, R); E evals at steps 0, k, 2k, ..., steps
    E = steps // k + 1 + (steps % k != 0)
    keys = ["train/loss", "train/acc", "test/loss", "test/acc"]
    keys += [kk for g, kk in (("gf", "gf/norm"), ("grad_cos", "grad/cos")) if g in want]
    keys += [f"{s}/{p}" for p in P for s in ("norm", "delta", "rel_delta", "drift", "grad") if s in want]
    buf = {kk: torch.full((E, R), float("nan"), device=device) for kk in keys}
    finite = torch.ones(R, dtype=torch.bool, device=device)
    streak = torch.zeros(R, device=device)  # consecutive evals at test acc >= GEN_THRESHOLD
    log_steps, checkpoints = [], []
    # compaction: row r of every (R, ...) tensor is run orig[r] of cfgs; runs that left are
    # kept on device as (their cfgs indices, rows kept, {key: (E', L)}, finite (L,), {p: (L, ...)})
    orig, left = list(range(R)), []
    gen_thr = GEN_THRESHOLD_F32 if compact else GEN_THRESHOLD  # see GEN_THRESHOLD_F32

    step, e = 0, 0
    while True:
        log = step % k == 0 or step == steps
        if log:  # --- evaluate all pairs, weight norms and drift from init
            ltr, atr, lte, ate = _evaluate(spec, P, alpha, a, b, y, (train_mask, test_mask), c0.loss, chunk)
            for kk, v in (("train/loss", ltr), ("train/acc", atr), ("test/loss", lte), ("test/acc", ate)):
                buf[kk][e] = v
            for p in P:
                if "norm" in want:
                    buf[f"norm/{p}"][e] = _norm(P[p].detach())
                if "drift" in want:
                    buf[f"drift/{p}"][e] = _norm(P[p].detach() - P0[p]) / _norm(P0[p]).clamp(min=1e-30)
            streak = torch.where(ate >= gen_thr, streak + 1, torch.zeros_like(streak))
            log_steps.append(step)
        if checkpoint_every and step % checkpoint_every == 0:
            checkpoints.append((step, {kk: v.detach().cpu().clone() for kk, v in P.items()}))
        stop = step == steps
        leave = None  # compact: host (R,) bool of the runs that leave after this step's gradient
        if not stop and early_stop and log and (e + 1) % check_every == 0:  # the only host sync
            if compact:
                done = ((streak >= GEN_PATIENCE) | ~finite).cpu()  # (R,): one transfer, as the .all() below
                stop = bool(done.all())
                leave = done if bool(done.any()) and not stop else None
            else:
                stop = bool(((streak >= GEN_PATIENCE) | ~finite).all())

        # --- forward and backward on each run's training batch
        if c0.batch_size:
            bi = idx.gather(1, hash_index(seeds, start_step + step, c0.batch_size, n, j_mb))  # (R, B)
            aa, bb, yy, w = a[bi], b[bi], y[bi], w_mb
        else:
            aa, bb, yy, w = a_full, b_full, y_full, full_w  # (R, Nmax): padded entries carry weight 0
        gf = log and "gf" in want
        # G_F needs the features as a node of the autograd graph: a compiled step returns them
        # as a separate output, so logged steps that measure G_F run the eager step
        fn = _step_loss if gf else step_loss
        loss, feats = fn(spec, P, aa, bb, yy, w, alpha, c0.loss)  # (R,) per-run mean, (R, B, K)
        finite &= torch.isfinite(loss)
        wrt = list(P.values()) + ([feats] if gf else [])
        grads = torch.autograd.grad(loss.sum(), wrt)
        G = dict(zip(P, grads))
        if log:  # --- gradient statistics at this step
            if "grad" in want:
                for p in P:
                    buf[f"grad/{p}"][e] = _norm(G[p])
            if "gf" in want:
                buf["gf/norm"][e] = _norm(grads[-1])
            if "grad_cos" in want:
                gh = G[hid]
                buf["grad/cos"][e] = _grad_cosine(gh.flatten(1, -2) if gh.dim() > 3 else gh)
            if want & {"delta", "rel_delta"}:
                before = {p: P[p].detach().clone() for p in P}

        if stop:  # the last row gets its gradient statistics, but no update
            e += 1
            break

        if leave is not None:  # --- compaction: finished runs leave before the update, as at a stop
            out = torch.nonzero(leave).flatten().tolist()
            L = torch.tensor(out, device=device)
            left.append(([orig[i] for i in out], e + 1, {kk: v[: e + 1].index_select(1, L) for kk, v in buf.items()},
                         finite[L], {kk: v.detach()[L] for kk, v in P.items()}))
            stay = [i for i in range(len(orig)) if not leave[i]]
            orig = [orig[i] for i in stay]
            K_ = torch.tensor(stay, device=device)  # (R',) the rows that go on

            def sel(t: torch.Tensor) -> torch.Tensor:
                return t.index_select(0, K_)

            sd = opt.state_dict()  # rebuilt through its public state: same hyperparameter floats, same t
            P = {kk: sel(v.detach()).requires_grad_(True) for kk, v in P.items()}  # (R', ...) leaves again
            opt = BatchedOptimizer(P, [cfgs[i].optim for i in orig], flat=flat_optim, compile=compile)
            opt.load_state_dict({"t": sd["t"], "state": {kk: {nm: sel(b) for nm, b in st.items()}
                                                          for kk, st in sd["state"].items()}})
            G = {kk: sel(v) for kk, v in G.items()}
            P0 = {kk: sel(v) for kk, v in P0.items()}
            if want & {"delta", "rel_delta"}:
                before = {kk: sel(v) for kk, v in before.items()}
            alpha, seeds, n, finite, streak = sel(alpha), sel(seeds), sel(n), sel(finite), sel(streak)  # (R',)
            train_mask, test_mask, idx = sel(train_mask), sel(test_mask), sel(idx)  # (R', N), (R', N), (R', Nmax)
            if c0.batch_size:
                w_mb = sel(w_mb)  # (R', B)
            else:
                full_w, a_full, b_full, y_full = sel(full_w), sel(a_full), sel(b_full), sel(y_full)  # (R', Nmax)
            buf = {kk: v.index_select(1, K_) for kk, v in buf.items()}  # (E, R')

        # --- update, then the per-step weight change at logged steps
        opt.step(P, G)
        if log:
            for p in P if want & {"delta", "rel_delta"} else ():
                d = _norm(P[p].detach() - before[p])
                if "delta" in want:
                    buf[f"delta/{p}"][e] = d
                if "rel_delta" in want:
                    buf[f"rel_delta/{p}"][e] = d / _norm(before[p]).clamp(min=1e-30)
            e += 1
        step += 1
        if progress is not None:
            progress(step, steps)

    # --- one transfer to host; split into per-run histories
    E_done = len(log_steps)
    if compact:
        return _compact_result(cfgs, device, left + [(orig, E_done, {kk: v[:E_done] for kk, v in buf.items()},
                                                      finite, {kk: v.detach() for kk, v in P.items()})],
                               log_steps, time.perf_counter() - t0, opt)
    host = {kk: v[:E_done].cpu().numpy() for kk, v in buf.items()}
    fin = finite.cpu().numpy()
    wall = time.perf_counter() - t0
    hists = []
    for r, c in enumerate(cfgs):
        m = {"step": np.asarray(log_steps)} | {kk: v[:, r] for kk, v in host.items()}
        hists.append(History(c, m, "ok" if fin[r] else "diverged", wall / R, str(device)))
    final = {kk: v.detach() for kk, v in P.items()}
    return TrainResult(hists, final, opt.state_dict(), checkpoints)


def _compact_result(cfgs: list[RunConfig], device, groups: list, log_steps: list[int], wall: float,
                    opt: BatchedOptimizer) -> TrainResult:
    """Histories and final parameters of a compacted batch, in cfgs' order. groups: one per set of
    runs that left together (the last: those still in the batch at the end), each (cfgs indices,
    rows kept E', {key: (E', L)} on device, finite (L,), {p: (L, ...)} parameters at the stop)."""
    R, steps = len(cfgs), cfgs[0].steps
    hists: list[History | None] = [None] * R
    rows = {}
    for where, E_r, logs, fin, params in groups:
        host, fin = {kk: v.cpu().numpy() for kk, v in logs.items()}, fin.cpu().numpy()
        for j, r in enumerate(where):
            m = {"step": np.asarray(log_steps[:E_r])} | {kk: v[:, j] for kk, v in host.items()}
            h = History(cfgs[r], m, "ok" if fin[j] else "diverged", wall / R, str(device))
            # a reader (and sweep.run's cache) must never take this for a full-budget history
            h.summary["compacted"] = True
            h.summary["stop"] = "diverged" if not fin[j] else "budget" if int(m["step"][-1]) >= steps else "grokked"
            hists[r] = h
            rows[r] = {kk: v[j] for kk, v in params.items()}
    final = {kk: torch.stack([rows[r][kk] for r in range(R)]) for kk in rows[0]}  # (R, ...)
    same_t = len(groups) == 1  # nobody left early: the optimizer state is the whole batch's
    return TrainResult(hists, final, opt.state_dict() if same_t else None, [])
