"""Staged training (seed 004): curricula, finetuning chains, and LLC along them.

Shape convention: R = runs trained together, Q = models in one LLC call
(checkpoints x runs), C = SGLD chains, M = modulus, D = embedding dim, K = width.

A staged run is a list of stages; stage s of run r is an ordinary `RunConfig`
(`configs[s][r]`), all runs of a stage share a `batch_key` and train in ONE
`train.train` call that continues from the previous stage's parameters.

Curriculum (`curriculum`): the same task (a+b) % M at every stage, stage s
restricting the run's own training split to a < r_s, b < r_s
(`RunConfig.curriculum`, default ranges 8, 16, 32, 0 = [0,7] ⊂ [0,15] ⊂ [0,31]
⊂ [0,63]), so the stages are nested subsets of one split and the test set is
the run's full held-out set at every stage. Parameters AND Adam state (moments
and step count t) carry from stage to stage. The engine's minibatch sampler
hashes (seed, step) and restarts `step` at 0 in every `train` call, so stage
s > 0 runs with config seed `seed + SEED_STRIDE·s`: a fresh minibatch stream
(init is never re-drawn when params are given, so that seed changes nothing
else). The direct arm (`direct_configs`) is one uninterrupted `train` call on
the full split for the same number of optimizer steps (= minibatches; the
source's "equalized budget" counts batches), with the same init and split seed
(paired by seed). It is a separate call, not batched with the curriculum: with
full-batch steps the curriculum's small early stages would be padded to the
full split. Training never stops early: every run gets its whole budget.

Finetuning (`finetune`): moduli 7 → 11 → 23 → 49 → 53, so the vocabulary and
the number of classes grow between stages. Resizing (`resize_embed_mlp`):
  - hidden layer W1 (2D, K) and b1 (K) are kept unchanged;
  - embedding rows E[i] and output columns W2[:, j], b2[j] of tokens/classes
    i, j < min(M_old, M_new) are copied (token i means the integer i under every
    modulus, class j the residue j);
  - rows/columns for the new tokens/classes are taken from the new stage's own
    seeded init (`models.init_params` at M_new with that stage's config seed),
    the same draw a from-scratch run with that config would start from;
  - the optimizer state is NOT kept: every finetuning stage starts a fresh Adam
    (t = 0, zero moments), as re-creating the torch modules and optimizer would.
The from-scratch arm (fresh init at the target modulus, fresh Adam, the final
stage's step budget) trains in the same batch as the last finetuning stage.

Run-set cache (`cached_set`): a staged run set (with whatever was measured on it,
e.g. its LLC) is stored as one artifact of the results store under a content key
(`set_key`: the base config's key, which carries the training-semantics version,
plus every setting the set depends on), and kept in a process cache, so the claims
that share a set, xdist workers and reruns train it once.

LLC along training (`checkpoint_llc`): every checkpoint of every run is stacked
on the leading axis and estimated in ONE `llc.estimate_llc` call; the loss of
model q is its own mean cross-entropy on its own training split (the split of
the stage the checkpoint belongs to), on a deterministic minibatch per SGLD
draw that depends only on (the run's split_seed, draw), so paired models (same
seed) see the same minibatches.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from grokcore.engine import executor, models, tasks
from grokcore.engine.config import RunConfig
from grokcore.engine.llc import SGLDConfig, estimate_llc, expand_chains
from grokcore.engine.train import History, hash_index, train

CURRICULUM_RANGES = (8, 16, 32, 0)  # seed 004: inputs in [0,7], [0,15], [0,31], [0,63]
FINETUNE_MODULI = (7, 11, 23, 49, 53)
SEED_STRIDE = 7919  # minibatch-stream offset per stage (a prime, far from grid seeds)

Params = dict[str, torch.Tensor]


@dataclass
class Checkpoint:
    step: int  # global optimizer step (summed over stages)
    stage: int
    params: Params  # {name: (R, ...)} on CPU


@dataclass
class Staged:
    """R runs trained through S stages: configs[s][r], histories[s][r]."""

    configs: list[list[RunConfig]]
    histories: list[list[History]]
    checkpoints: list[Checkpoint] = field(default_factory=list)
    params: Params | None = None  # final, (R, ...)
    opt_state: dict | None = None  # final optimizer state (its "t" counts every carried step)
    offsets: list[int] = field(default_factory=list)  # global step at the start of each stage

    @property
    def R(self) -> int:
        return len(self.configs[0])

    def trajectory(self, r: int) -> dict[str, np.ndarray]:
        """Run r's logged curves over all stages on the global step axis (stage
        boundaries keep both the last eval of one stage and the first of the next)."""
        keys = ("train/loss", "train/acc", "test/loss", "test/acc")
        parts = [(s, h[r].metrics) for s, h in enumerate(self.histories)]
        out = {"step": np.concatenate([m["step"] + self.offsets[s] for s, m in parts]),
               "stage": np.concatenate([np.full(len(m["step"]), s) for s, m in parts])}
        return out | {k: np.concatenate([m[k] for _, m in parts]) for k in keys}


def stage_seed(seed: int, stage: int) -> int:
    """The config seed of a run at `stage` (0: its init seed; later: a fresh minibatch stream)."""
    return seed + SEED_STRIDE * stage


def run_stages(configs: list[list[RunConfig]], device: str | torch.device = "cpu", *,
               checkpoint_every: int = 0, carry_opt_state: bool = True,
               between: Callable[[Params, list[RunConfig], list[RunConfig]], Params] | None = None,
               early_stop_last: bool = False, compact_last: bool = False) -> Staged:
    """Train configs[s] stage after stage, each stage starting from the last one's params.

    Run r of stage s continues run r of stage s-1. A stage may append runs: those
    beyond the previous stage's count start from their own seeded init (a
    from-scratch arm batched with it); this needs carry_opt_state=False, since
    the batched Adam has one step count t for all runs.
    between(params, old_cfgs, new_cfgs) maps parameters across a stage boundary
    (e.g. a vocabulary resize; it sees the continuing runs only); carry_opt_state
    keeps Adam's moments and t. early_stop_last lets the last stage stop once every
    run has generalized (the engine's rule); compact_last (needs early_stop_last) also
    lets each run of the last stage leave its batch at its own stop (train(...,
    compact=True): its history ends there, for sets that read nothing of the last stage
    after a run's grokking step); earlier stages always train their whole budget.
    Checkpoints (every `checkpoint_every` steps, which must divide each stage's
    steps) are kept on CPU with global steps; a stage's step-0
    checkpoint is dropped after stage 0 (it equals the previous stage's last one).
    """
    if compact_last and not early_stop_last:
        raise ValueError("compact_last stops each run of the last stage at its own stop: it needs early_stop_last")
    if any(len(b) < len(a) for a, b in zip(configs, configs[1:])):
        raise ValueError("a stage may add runs but not drop them")
    if checkpoint_every and any(c[0].steps % checkpoint_every for c in configs):
        raise ValueError(f"checkpoint_every={checkpoint_every} must divide every stage's steps")
    out = Staged(configs=configs, histories=[])
    params = opt_state = None
    offset = 0
    for s, cfgs in enumerate(configs):
        if s > 0 and between is not None:
            params = between(params, configs[s - 1], cfgs[: len(configs[s - 1])])
        if s > 0 and len(cfgs) > len(configs[s - 1]):
            if carry_opt_state:
                raise ValueError("runs added at a later stage need carry_opt_state=False")
            new = [models.init_params(c.model, c.M, torch.Generator().manual_seed(c.seed), c.model.init_scale)
                   for c in cfgs[len(configs[s - 1]):]]
            params = {k: torch.cat([v.detach().cpu(), torch.stack([p[k] for p in new])]) for k, v in params.items()}
        res = train(cfgs, device, params=params, opt_state=opt_state if carry_opt_state else None,
                    early_stop=early_stop_last and s == len(configs) - 1, checkpoint_every=checkpoint_every,
                    compact=compact_last and s == len(configs) - 1)
        out.histories.append(res.histories)
        out.offsets.append(offset)
        out.checkpoints += [Checkpoint(offset + st, s, p) for st, p in res.checkpoints if s == 0 or st > 0]
        params, opt_state = res.params, res.opt_state
        offset += cfgs[0].steps
    out.params, out.opt_state = {k: v.cpu() for k, v in params.items()}, opt_state
    return out


# ------------------------------------------------------------------ curriculum

def curriculum_configs(base: RunConfig, seeds: Sequence[int], stage_steps: Sequence[int],
                       ranges: Sequence[int] = CURRICULUM_RANGES) -> list[list[RunConfig]]:
    """configs[s][i]: seed i's curriculum run at stage s (split_seed and init seed = seeds[i])."""
    if len(stage_steps) != len(ranges):
        raise ValueError("one step count per curriculum stage")
    return [[base.replace(seed=stage_seed(x, s), split_seed=x, curriculum=r, steps=n) for x in seeds]
            for s, (r, n) in enumerate(zip(ranges, stage_steps))]


def direct_configs(base: RunConfig, seeds: Sequence[int], stage_steps: Sequence[int]) -> list[list[RunConfig]]:
    """The direct arm as one stage: the full split for sum(stage_steps) steps, same seeds."""
    return [[base.replace(seed=x, split_seed=x, curriculum=0, steps=int(sum(stage_steps))) for x in seeds]]


def curriculum(base: RunConfig, seeds: Sequence[int], stage_steps: Sequence[int], device="cpu", *,
               ranges: Sequence[int] = CURRICULUM_RANGES, checkpoint_every: int = 0) -> tuple[Staged, Staged]:
    """(curriculum arm, direct arm), one run per seed in each, paired by seed (same
    init, same split): see the module docstring for what carries over between stages."""
    cur = run_stages(curriculum_configs(base, seeds, stage_steps, ranges), device,
                     checkpoint_every=checkpoint_every, carry_opt_state=True)
    direct = run_stages(direct_configs(base, seeds, stage_steps), device, checkpoint_every=checkpoint_every)
    return cur, direct


# ------------------------------------------------------------------ finetuning

def resize_embed_mlp(params: Params, old: list[RunConfig], new: list[RunConfig]) -> Params:
    """Map embed_mlp parameters (R, ...) from modulus old[r].M to new[r].M.

    Keeps W1, b1; copies E rows and W2 columns / b2 entries of the first
    min(M_old, M_new) tokens/classes; the rest comes from new[r]'s seeded init."""
    if any(c.model.family != "embed_mlp" for c in new):
        raise NotImplementedError("resize is defined for embed_mlp only")
    Mo, Mn = old[0].M, new[0].M
    m = min(Mo, Mn)
    init = models.stack_params([models.init_params(c.model, Mn, torch.Generator().manual_seed(c.seed),
                                                   c.model.init_scale) for c in new], "cpu")
    out = {k: v.detach().clone() for k, v in init.items()}
    src = {k: v.detach().cpu() for k, v in params.items()}
    out["W1"], out["b1"] = src["W1"].clone(), src["b1"].clone()
    out["E"][:, :m] = src["E"][:, :m]  # (R, M, D): token rows
    out["W2"][:, :, :m] = src["W2"][:, :, :m]  # (R, K, M): class columns
    out["b2"][:, :m] = src["b2"][:, :m]  # (R, M)
    return out


def finetune_configs(base: RunConfig, seeds: Sequence[int], stage_steps: Sequence[int],
                     moduli: Sequence[int] = FINETUNE_MODULI, scratch: bool = True) -> list[list[RunConfig]]:
    """configs[s] = chain runs at moduli[s] (one per seed); the last stage also holds
    the from-scratch runs (same seeds: same split and the same init draw at the target)."""
    if len(stage_steps) != len(moduli):
        raise ValueError("one step count per finetuning stage")
    out = [[base.replace(M=M, seed=stage_seed(x, s), split_seed=x, steps=n) for x in seeds]
           for s, (M, n) in enumerate(zip(moduli, stage_steps))]
    if scratch:
        out[-1] += [base.replace(M=moduli[-1], seed=x, split_seed=x, steps=stage_steps[-1]) for x in seeds]
    return out


def finetune(base: RunConfig, seeds: Sequence[int], stage_steps: Sequence[int], device="cpu", *,
             moduli: Sequence[int] = FINETUNE_MODULI, scratch: bool = True,
             early_stop_last: bool = True, compact_last: bool = False) -> Staged:
    """Chain runs 0..n-1 through `moduli`; with scratch, runs n..2n-1 join at the last
    stage from their own init at moduli[-1]. Optimizer state resets at every stage.
    early_stop_last stops the last stage once every run there has generalized;
    compact_last also stops each run there at its own grokking step (run_stages)."""
    return run_stages(finetune_configs(base, seeds, stage_steps, moduli, scratch), device,
                      carry_opt_state=False, between=resize_embed_mlp, early_stop_last=early_stop_last,
                      compact_last=compact_last)


# ------------------------------------------------------------------ LLC

def _stack_models(items: Sequence[tuple[RunConfig, Params]], device) -> tuple[list[str], list[torch.Tensor]]:
    names = list(items[0][1])
    return names, [torch.stack([p[k] for _, p in items]).to(device) for k in names]


def checkpoint_llc(items: Sequence[tuple[RunConfig, Params]], sgld: SGLDConfig = SGLDConfig(),
                   device: str | torch.device = "cpu", batch_size: int = 128) -> dict[str, np.ndarray]:
    """LLC of Q models in one batched SGLD call; items[q] = (config, one model's params).

    Model q's loss is its mean CE on its own training split (`tasks.run_split` of its
    config, so a curriculum checkpoint uses its stage's split), on a minibatch of
    `batch_size` pairs drawn with replacement per draw from (config.split_seed, draw)
    (0 = full batch, padded). All models must share task, M and model shape.
    Returns numpy arrays: llc/mean, llc/std (Q,), llc/chains (Q, C), loss/init (Q,)."""
    c0 = items[0][0]
    if any((c.task, c.M, c.model) != (c0.task, c0.M, c0.model) for c, _ in items):
        raise ValueError("checkpoint_llc needs one task, modulus and model for all items")
    a, b, y = (t.to(device) for t in tasks.table(c0.task, c0.M))
    splits = [tasks.run_split(c.task, c.M, c.ratio, c.n_train, c.split_seed, c.curriculum)[0] for c, _ in items]
    Q, C = len(items), sgld.chains
    n = torch.tensor([len(t) for t in splits], device=device)  # (Q,)
    idx = torch.zeros(Q, int(n.max()), dtype=torch.long)  # padded with pair 0, weight 0
    for q, t in enumerate(splits):
        idx[q, : len(t)] = t
    idx = idx.to(device)
    key = torch.tensor([c.split_seed for c, _ in items], device=device)  # (Q,) paired models share minibatches
    full_w = (torch.arange(idx.shape[1], device=device)[None] < n[:, None]) / n[:, None]  # (Q, Nmax)
    idx_c, n_c, key_c, w_c = expand_chains([idx, n, key, full_w], C)  # (Q*C, ...)
    names, stacked = _stack_models(items, device)
    spec = c0.model

    def loss_fn(ps: list[torch.Tensor], draw: int, rows: slice = slice(None)) -> torch.Tensor:
        # rows: the models' expanded rows this call covers (llc's out-of-memory split)
        ix, nn, kk, ww = idx_c[rows], n_c[rows], key_c[rows], w_c[rows]
        if batch_size:
            bi = ix.gather(1, hash_index(kk, draw, batch_size, nn))  # (rows, B)
            w = torch.full(bi.shape, 1.0 / batch_size, device=device)
        else:
            bi, w = ix, ww
        logits, _ = models.forward(spec, dict(zip(names, ps)), a[bi], b[bi])  # (Q*C, B, M)
        ce = F.cross_entropy(logits.flatten(0, 1).float(), y[bi].flatten(), reduction="none")
        return (ce.view(bi.shape) * w).sum(1)  # (rows,)

    est = estimate_llc(loss_fn, stacked, sgld)
    return {k: est[k].numpy() for k in ("llc/mean", "llc/std", "llc/chains", "loss/init")}


def staged_llc_items(st: Staged, runs: Sequence[int]) -> list[tuple[int, int, RunConfig, Params]]:
    """(run, checkpoint index, config of that checkpoint's stage, params) for every
    checkpoint of every run in `runs`, ready for `checkpoint_llc`."""
    return [(r, i, st.configs[ck.stage][r], {k: v[r] for k, v in ck.params.items()})
            for i, ck in enumerate(st.checkpoints) for r in runs]


# ------------------------------------------------------------------ run-set cache

_SET_CACHE: dict[str, Any] = {}


def set_key(kind: str, base: RunConfig, **spec) -> str:
    """Content address of a staged run set: ``kind`` plus a hash of its base config's key
    (which carries the training-semantics version) and every setting in ``spec``."""
    blob = json.dumps({"kind": kind, "base": base.key, **spec}, sort_keys=True, default=str)
    return f"{kind}-" + hashlib.sha256(blob.encode()).hexdigest()[:32]


def cached_set(store, kind: str, base: RunConfig, compute: Callable[[], Any], **spec) -> Any:
    """The run set ``set_key(kind, base, **spec)``: from the process cache, else from the
    results store's artifacts (shared by xdist workers and reruns), else ``compute()``d and
    stored in both. ``store`` may be None (process cache only). ``compute`` runs on the
    current executor (`grokcore.engine.executor`: on ray as one task, so it must pickle; the
    driver stores its result); a failure there raises `executor.UnitsFailed`."""
    key = set_key(kind, base, **spec)
    if key in _SET_CACHE:
        return _SET_CACHE[key]
    out = store.get_artifact(key) if store is not None else None
    if out is None:
        out = executor.current().call(compute, label=key)  # local: compute() here; ray: one task
        if store is not None:
            store.put_artifact(key, out, kind=kind)
    _SET_CACHE[key] = out
    return out


def clear_set_cache() -> None:
    """Empty the process cache (the store keeps its artifacts)."""
    _SET_CACHE.clear()
