"""Full-length training runs with order parameters logged along training.

`sweep.run` stops a batch early once every run in it has generalized (seed 002's
rule) and logs no order parameters. Claims that re-read histories under other
detection rules (stricter thresholds or longer patience) or follow order
parameters through the transition need neither: `run` here trains with
``early_stop=False`` (each history spans ``0..cfg.steps``) and, with
``order_every=k``, keeps parameter checkpoints every k steps and evaluates the
five order parameters of `grokcore.engine.orderparams` on them, batched over all
(checkpoint, run) pairs at once. They are stored as extra history metrics

    "order/step"  (C,) checkpoint steps
    "order/rqi", "order/eff_rank", "order/pr", "order/kernel_align", "order/fourier_snr"  (C,)

in the same content-addressed store (`RunConfig.key`): a cached run is reused
only if it is full length and, when order parameters are asked for, carries
them with the same cadence; otherwise it is retrained and replaced (a superset
of what `sweep.run` stores, so `sweep.run` keeps reusing it).

What the order parameters are evaluated on (per family; seed 001's code evaluates
on the test set):
  emb  (R, M, D): the token representation: mu_mlp / li2 -> the a-block of the
       first layer W1[:M] (one-hot input, so row a is token a's embedding);
       embed_mlp -> E; transformer -> tok.
  W    (R, a, b): the first hidden layer's weights (mu_mlp W1, li2 W, embed_mlp W1,
       transformer fc1 of the last block).
  H    (R, N, K): hidden features on each run's *test* pairs (the F returned by
       models.forward), labels y (R, N).
"""
from __future__ import annotations

import functools

import numpy as np
import torch

from grokcore.engine import models, orderparams, sweep, tasks
from grokcore.engine.config import RunConfig
from grokcore.engine.train import History, torch_threads, train

ORDER_KEYS = ("order/rqi", "order/eff_rank", "order/pr", "order/kernel_align", "order/fourier_snr")


def _emb_and_w(family: str, P: dict[str, torch.Tensor], M: int, depth: int):
    if family == "mu_mlp":
        return P["W1"][:, :M], P["W1"]
    if family == "li2":
        return P["W"][:, :M], P["W"]
    if family == "embed_mlp":
        return P["E"], P["W1"]
    return P["tok"], P[f"fc1.{depth - 1}"]


@torch.no_grad()
def order_parameters_along(cfgs: list[RunConfig], checkpoints: list[tuple[int, dict]],
                           device="cpu", max_rows: int = 4096) -> dict[str, np.ndarray]:
    """Order parameters of R shape-compatible runs at C checkpoints -> {key: (C, R)}.

    All C·R (checkpoint, run) pairs are stacked on the run axis and evaluated in
    blocks of at most max_rows rows. H are the hidden features on each run's test
    pairs (test sets of equal size: same ratio / n_train and M)."""
    c0, R = cfgs[0], len(cfgs)
    M, spec = c0.M, c0.model
    if c0.task != "add":  # RQI's parallelograms are those of modular addition (orderparams.rqi)
        raise ValueError(f"order parameters along training are defined for task 'add' only, got {c0.task!r}")
    a, b, y = tasks.table(c0.task, M)
    te = [tasks.run_split(c.task, c.M, c.ratio, c.n_train, c.split_seed, c.curriculum)[1] for c in cfgs]
    if len({t.numel() for t in te}) != 1:
        raise ValueError("order parameters need test sets of one size across the batch")
    te = torch.stack(te)  # (R, N)
    alpha = torch.tensor([c.model.alpha for c in cfgs])
    C = len(checkpoints)
    out = {k: np.full((C, R), np.nan) for k in ORDER_KEYS}
    per_block = max(1, max_rows // R)
    for c_start in range(0, C, per_block):
        chunk = checkpoints[c_start:c_start + per_block]
        n = len(chunk)
        P = {k: torch.cat([ck[k] for _, ck in chunk]).to(device) for k in chunk[0][1]}  # (n R, ...)
        idx = te.repeat(n, 1).to(device)  # (n R, N)
        aa, bb, yy = a.to(device)[idx], b.to(device)[idx], y.to(device)[idx]
        _, H = models.forward(spec, P, aa, bb, alpha.repeat(n).to(device))
        emb, W = _emb_and_w(spec.family, P, M, spec.depth)
        if W.dim() > 3:
            W = W.flatten(1, -2)
        vals = orderparams.order_parameters(emb, W, H, yy, M, op="add")
        for k in ORDER_KEYS:
            out[k][c_start:c_start + n] = vals[k].float().cpu().numpy().reshape(n, R)
    return out


def _complete(h: History, order_every: int) -> bool:
    m = h.metrics
    if int(m["step"][-1]) != h.config.steps:
        return False
    if order_every:
        st = m.get("order/step")
        if st is None or any(k not in m for k in ORDER_KEYS):
            return False
        want = np.arange(0, h.config.steps + 1, order_every)
        return st.shape == want.shape and bool(np.all(st == want))
    return True


def run(cfgs: list[RunConfig], store=None, device: str = "cpu", experiment: str = "adhoc",
        order_every: int = 0, max_batch: int = 256, threads: int | None = None) -> list[History]:
    """One full-length History per config (in order), cached in `store` by config key;
    with order_every > 0 also order parameters every that many steps (see module doc).
    threads: torch intra-op threads while training here (restored afterwards); 1 is
    faster for these overhead-bound tiny models on a loaded CPU. Chunks go to the
    current executor (`grokcore.engine.executor`), which trains them under this thread count."""
    with torch_threads(threads):
        return sweep.run(cfgs, store, device, experiment, max_batch, early_stop=False,
                         accept=lambda h: _complete(h, order_every),
                         train_chunk=functools.partial(_train_chunk, device=device, order_every=order_every))


def _train_chunk(chunk: list[RunConfig], device, order_every: int) -> list[History]:
    """Train one chunk full length; with order_every, order parameters at its checkpoints."""
    res = train(chunk, device, early_stop=False, checkpoint_every=order_every)
    hists = res.histories
    if order_every:
        op = order_parameters_along(chunk, res.checkpoints, device)
        steps = np.array([s for s, _ in res.checkpoints])
        for r, h in enumerate(hists):
            h.metrics["order/step"] = steps
            for k in ORDER_KEYS:
                h.metrics[k] = op[k][:, r]
    return hists
