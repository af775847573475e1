"""Sweeps: grids -> RunConfigs -> cached, shape-compatible batches -> Histories.

`grid(base, **axes)` expands a base config over named axes (dotted names reach
into the model and optimizer: `optim.weight_decay`, `model.width`). `run`
takes what the store already has (content-addressed by `RunConfig.key`),
groups the rest by `batch_key`, trains each group in chunks of at most
`max_batch` runs (halving a chunk that does not fit in GPU memory), stores
each run, and returns one History per config, in order.
"""
from __future__ import annotations

import dataclasses
import math
import sys
from collections import defaultdict

import numpy as np
import torch

from . import __version__
from .config import RunConfig
from .train import History, train


def _set(cfg: RunConfig, name: str, value) -> RunConfig:
    if name.startswith(("model.", "optim.")):
        part, attr = name.split(".", 1)
        return cfg.replace(**{part: dataclasses.replace(getattr(cfg, part), **{attr: value})})
    return cfg.replace(**{name: value})


def grid(base: RunConfig, **axes) -> list[RunConfig]:
    """Cartesian product over axes, e.g. grid(base, M=[11, 13], seed=range(4), **{"optim.lr": [1e-3]}).
    An axis whose value is a callable(cfg) -> list is evaluated per point (e.g. ratios centred on log M / M)."""
    cfgs = [base]
    for name, values in axes.items():
        cfgs = [_set(c, name, v) for c in cfgs for v in (values(c) if callable(values) else values)]
    return cfgs


def _json_safe(x):
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def _to_stored(h: History, experiment: str):
    from .store import StoredRun
    return StoredRun(key=h.config.key, experiment=experiment, config=h.config.to_dict(), status=h.status,
                     summary={k: _json_safe(v) for k, v in h.summary.items()}, history=h.metrics,
                     wall_s=h.wall_s, device=h.device, version=__version__, created="")


def _from_stored(s) -> History:
    return History(RunConfig.from_dict(s.config), dict(s.history), s.status, s.wall_s, s.device, dict(s.summary))


def _train_chunk(cfgs: list[RunConfig], device, save_params, progress, early_stop=True) -> list[History]:
    """Train one chunk; on CUDA out-of-memory, split it in half and retry."""
    try:
        res = train(cfgs, device, progress=progress, early_stop=early_stop)
    except torch.cuda.OutOfMemoryError:
        if len(cfgs) == 1:
            raise
        torch.cuda.empty_cache()
        h = len(cfgs) // 2
        return (_train_chunk(cfgs[:h], device, save_params, progress, early_stop)
                + _train_chunk(cfgs[h:], device, save_params, progress, early_stop))
    for r, hist in enumerate(res.histories):
        for p in save_params:
            hist.metrics[f"param/{p}"] = res.params[p][r].cpu().numpy()
    return res.histories


def _bar(total_steps: int, label: str):
    """A tqdm progress bar on a terminal, else None (no output in CI logs)."""
    if not sys.stderr.isatty():
        return None, None
    from tqdm import tqdm
    bar = tqdm(total=total_steps, desc=label, unit="step", leave=False)
    return bar, lambda step, steps: bar.update(1)


def run(cfgs: list[RunConfig], store=None, device: str = "cpu", experiment: str = "adhoc",
        max_batch: int = 256, save_params: tuple[str, ...] = (), early_stop: bool = True) -> list[History]:
    """One History per config (in order): cached ones from `store`, the rest trained.

    early_stop=True stops a batch once every run in it has generalized (seed 002's
    rule) or diverged, so a history may end before cfg.steps; early_stop=False
    trains (and reuses from the store) only full-length histories, as claims that
    re-read a history under a longer-patience rule need."""
    keys = [c.key for c in cfgs]
    have: dict[str, History] = {}
    if store is not None:
        for k, s in store.get_many(set(keys)).items():
            full = early_stop or s.history["step"][-1] >= s.config["steps"]
            if full and all(f"param/{p}" in s.history for p in save_params):
                have[k] = _from_stored(s)
    todo = {c.key: c for c in cfgs if c.key not in have}  # dedupe repeated configs
    groups = defaultdict(list)
    for c in todo.values():
        groups[c.batch_key].append(c)
    for group in groups.values():
        # similar train sizes together: full-batch steps pad every run to the largest split
        group.sort(key=lambda c: (c.n_train or 0, c.ratio or 0.0))
        for i in range(0, len(group), max_batch):
            chunk = group[i:i + max_batch]
            bar, cb = _bar(chunk[0].steps, f"{experiment} M={chunk[0].M} R={len(chunk)}")
            hists = _train_chunk(chunk, device, save_params, cb, early_stop)
            if bar is not None:
                bar.close()
            if store is not None:
                store.put_many([_to_stored(h, experiment) for h in hists])
            have.update((h.config.key, h) for h in hists)
    return [have[k] for k in keys]


def outcomes(hists: list[History], attr: str = "generalized_step") -> np.ndarray:
    """1.0 where the summary's `attr` is set, 0.0 where not, NaN for diverged runs."""
    return np.array([np.nan if h.status != "ok" else float(h.summary.get(attr) is not None) for h in hists])


def by(hists: list[History], key) -> dict:
    """Group histories by key(config) -> list, keeping order."""
    out = defaultdict(list)
    for h in hists:
        out[key(h.config)].append(h)
    return dict(out)



