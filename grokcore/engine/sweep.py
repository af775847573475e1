"""Sweeps: grids -> RunConfigs -> cached, shape-compatible batches -> Histories.

`grid(base, **axes)` expands a base config over named axes (dotted names reach
into the model and optimizer: `optim.weight_decay`, `model.width`). `run`
takes what the store already has (content-addressed by `RunConfig.key`),
groups the rest by `batch_key`, trains each group in chunks (`chunks`: similar
split sizes, at most `max_batch` runs, a cache-sized batch on CPU; a chunk that
does not fit in GPU memory is halved), stores
each run, and returns one History per config, in order. Chunks train on an
executor (`grokcore.engine.executor`: here by default, or one Ray task each); the
caller's process alone writes the store.

Which stored history a call may reuse depends on how it stops (`reusable`):
early_stop=False needs full length, early_stop=True also takes a history a batch
cut short (every run generalized) but never one that compaction cut at the run's
own stop, and compact=True takes any of them cut at the run's own compaction
point, so its result does not depend on what the store held.
"""
from __future__ import annotations

import dataclasses
import functools
import math
import sys
from collections import defaultdict
from typing import Callable

import numpy as np

from grokcore import __version__
from grokcore.base.history import GEN_PATIENCE, GEN_THRESHOLD
from grokcore.engine import executor as _executor
from grokcore.engine.config import RunConfig
from grokcore.engine.oom import split_on_oom
from grokcore.engine.train import CHECK_EVERY, History, train


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


def to_stored(h: History, experiment: str):
    """History -> the store's row (non-finite summary floats become null)."""
    from grokcore.engine.store import StoredRun
    return StoredRun(key=h.config.key, experiment=experiment, config=h.config.to_dict(), status=h.status,
                     summary={k: _json_safe(v) for k, v in h.summary.items()}, history=h.metrics,
                     wall_s=h.wall_s, device=h.device, version=__version__, created="")


# CPU: keep one chunk's widest activation (R x n_max x width floats) near the cache size;
# measured on the 2-core CI CPU (Li² M=71 K=128, one ratio): R=16 trains 227 model-steps/s,
# R=64 165 (2026-11-23). On CUDA the GPU wants the largest batch that fits: no budget.
CPU_CHUNK_ELEMS = 1 << 22
MAX_PAD = 1.25  # a chunk's largest train split is at most this times its smallest


def _n_train(c: RunConfig) -> int:
    return c.n_train if c.n_train is not None else round(c.ratio * c.M * c.M)


def chunks(group: list[RunConfig], max_batch: int = 256, device: str = "cpu") -> list[list[RunConfig]]:
    """Split one shape group into training chunks.

    Full-batch steps pad every run of a chunk to the chunk's largest split, so runs
    are sorted by split size and a chunk is closed once its largest split would
    exceed MAX_PAD x its smallest (wasted work <= 25%); minibatch runs have no
    padding. On CPU a chunk also holds at most CPU_CHUNK_ELEMS / (n_max x width)
    runs: the batched step is compute-bound there and a too-large batch falls out
    of cache (see the constant). Every chunk holds at least one run."""
    group = sorted(group, key=lambda c: (_n_train(c), c.key))
    out: list[list[RunConfig]] = []
    for c in group:
        cur = out[-1] if out else None
        if cur is not None and len(cur) < max_batch:
            n_max = c.batch_size or _n_train(c)
            fits = c.batch_size or n_max <= MAX_PAD * _n_train(cur[0])
            if not str(device).startswith("cuda"):
                fits = fits and (len(cur) + 1) * n_max * max(c.model.width, c.M) <= CPU_CHUNK_ELEMS
            if fits:
                cur.append(c)
                continue
        out.append([c])
    return out


def from_stored(s) -> History:
    """The store's row -> History."""
    return History(RunConfig.from_dict(s.config), dict(s.history), s.status, s.wall_s, s.device, dict(s.summary))


def own_stop_rows(h: History, check_every: int = CHECK_EVERY) -> int | None:
    """Rows that `train(..., compact=True)` keeps of the run whose uncompacted history is h:
    e + 1 for the first host check e ((e + 1) % check_every == 0, not the history's last row
    at cfg.steps) where test acc has been >= GEN_THRESHOLD for GEN_PATIENCE evals (the
    streak as train(compact=True) counts it, compared as the summary compares: in float64);
    None if no check met it.
    The rule is exact for runs that did not diverge (compaction also stops a run at the first
    check after its training loss turned non-finite, which the logged curves do not show); the
    curves up to there equal compaction's as far as the float path lets (train: a run moved
    to another slot may round differently)."""
    ok = np.asarray(h.metrics["test/acc"], dtype=float) >= GEN_THRESHOLD  # (E,) as base.detect
    last = len(ok) - 1 if int(h.metrics["step"][-1]) >= h.config.steps else len(ok)
    streak = 0
    for e, hit in enumerate(ok):
        streak = streak + 1 if hit else 0
        if (e + 1) % check_every == 0 and e < last and streak >= GEN_PATIENCE:
            return e + 1
    return None


def cut(h: History, rows: int, stop: str) -> History:
    """h as compaction would have returned it: its first `rows` evaluations, the summary of
    those, marked compacted with `stop`. The last row's delta/rel_delta become NaN (compaction
    makes no update after a run's last row); metrics that are not one value per evaluation
    (param/*, order/*) are dropped: they describe the run beyond the cut."""
    E = len(h.metrics["step"])
    m = {k: np.array(v[:rows]) for k, v in h.metrics.items()
         if not k.startswith(("param/", "order/")) and np.ndim(v) == 1 and len(v) == E}
    for k in m:
        if k.startswith(("delta/", "rel_delta/")) and rows < E:
            m[k][-1] = np.nan
    out = History(h.config, m, h.status, h.wall_s, h.device)
    out.summary.update(compacted=True, stop=stop)
    return out


def reusable(s, early_stop: bool = True, compact: bool = False, save_params: tuple[str, ...] = ()) -> History | None:
    """The stored run `s` as a call with these settings may use it, or None (train it again).

      early_stop=False: only a full-length history (last step = cfg.steps).
      early_stop=True:  also one that a whole-batch stop cut short, never one that compaction
                        cut at the run's own stop (summary "compacted", shorter than cfg.steps):
                        what a batch logs after a run's grokking step (a late memorized_step,
                        the final accuracies) is missing there.
      compact=True:     any of those, cut where compaction would have stopped the run
                        (`own_stop_rows`), so that a warm store returns what a cold one trains.
                        A diverged run's stored history is served as stored, marked stop
                        "diverged" (its compaction point is not in the logged curves); a cut is
                        refused when save_params are asked (stored parameters are those of the
                        last stored row). Nothing is written back: the store keeps what it had.
    Every history needs the param/<p> of save_params."""
    if not all(f"param/{p}" in s.history for p in save_params):
        return None
    short = s.history["step"][-1] < s.config["steps"]
    if not early_stop:
        return None if short else from_stored(s)
    if not compact:
        return None if short and s.summary.get("compacted") else from_stored(s)
    h = from_stored(s)
    if s.summary.get("compacted"):
        return h
    if h.status != "ok":  # as stored, with the mark a compact call gives every history
        h.summary.update(compacted=True, stop="diverged")
        return h
    rows = own_stop_rows(h)
    if rows is None and short:  # a batch stop that no check of this cadence explains: retrain
        return None
    if rows is None or rows == len(h.metrics["step"]):  # compaction would end it where it ends
        h.summary.update(compacted=True, stop="budget" if rows is None else "grokked")
        return h
    return None if save_params else cut(h, rows, "grokked")


def _train_chunk(cfgs: list[RunConfig], device, save_params, progress, early_stop=True,
                 compact=False) -> list[History]:
    """Train one chunk; on out-of-memory, free the failed attempt's memory, then train
    each half (`oom.split_on_oom`: the retry runs outside the exception handler)."""
    def attempt(part: list[RunConfig]) -> list[History]:
        res = train(part, device, progress=progress, early_stop=early_stop, compact=compact)
        for r, hist in enumerate(res.histories):
            for p in save_params:
                hist.metrics[f"param/{p}"] = res.params[p][r].cpu().numpy()
        return res.histories

    return split_on_oom(attempt, cfgs, "training chunk")


def _bar(total_steps: int, label: str):
    """A tqdm progress bar on a terminal, else None (no output in CI logs)."""
    if not sys.stderr.isatty():
        return None, None
    from tqdm import tqdm
    bar = tqdm(total=total_steps, desc=label, unit="step", leave=False)
    return bar, lambda step, steps: bar.update(1)


def run(cfgs: list[RunConfig], store=None, device: str = "cpu", experiment: str = "adhoc",
        max_batch: int = 256, save_params: tuple[str, ...] = (), early_stop: bool = True,
        accept: Callable[[History], bool] | None = None,
        train_chunk: Callable[[list[RunConfig]], list[History]] | None = None,
        executor=None, compact: bool = False) -> list[History]:
    """One History per config (in order): cached ones from `store`, the rest trained.

    early_stop=True stops a batch once every run in it has generalized (seed 002's
    rule) or diverged, so a history may end before cfg.steps; early_stop=False
    trains (and reuses from the store) only full-length histories, as claims that
    re-read a history under a longer-patience rule need.

    compact=True (opt-in, default off) trains with `train(..., compact=True)`: each run
    leaves its batch at the first host check after it generalized (or diverged), so its
    history ends at its own stop (summary "compacted" = True, "stop" = "grokked" |
    "diverged" | "budget"). For claims that read nothing after a run's grokking step
    (generalized_step, success at the budget). Which stored histories each setting reuses:
    `reusable` (a compacted one is never served to a call without compact=True unless it
    is full length).

    The one front-end for cached training: ``accept(history)`` may further restrict
    which stored histories are reused (e.g. trajectory.run needs its order parameters),
    and ``train_chunk(chunk)`` replaces the plain training of one chunk (it must return
    one History per config, in order).

    ``executor`` (default `grokcore.engine.executor.current()`, local unless configured) is
    where chunks train. Local: here, chunk after chunk. Ray: every chunk is a task
    (``train_chunk`` must then pickle: a module function or functools.partial); each
    chunk's histories are stored as they return. Chunks that fail for good are stored
    as nothing and raise `executor.UnitsFailed` (run key -> error) once the others
    are stored."""
    if compact and not early_stop:
        raise ValueError("compact=True stops each run at its own grokking step: it needs early_stop=True")
    if compact and train_chunk is not None:
        raise ValueError("compact=True trains with train(..., compact=True); a custom train_chunk does not")
    keys = [c.key for c in cfgs]
    have: dict[str, History] = {}
    if store is not None:
        for k, s in store.get_many(set(keys)).items():
            h = reusable(s, early_stop, compact, save_params)
            if h is not None and (accept is None or accept(h)):
                have[k] = h
    todo = {c.key: c for c in cfgs if c.key not in have}  # dedupe repeated configs
    groups = defaultdict(list)
    for c in todo.values():
        groups[c.batch_key].append(c)
    work = [chunk for group in groups.values() for chunk in chunks(group, max_batch, device)]

    def keep(hists: list[History]) -> None:  # the driver alone writes the store
        if store is not None:
            store.put_many([to_stored(h, experiment) for h in hists])
        have.update((h.config.key, h) for h in hists)

    executor = executor if executor is not None else _executor.current()
    if executor.name == "local":
        for chunk in work:
            if train_chunk is not None:
                hists = split_on_oom(train_chunk, chunk, "training chunk")  # same OOM fallback
            else:
                bar, cb = _bar(chunk[0].steps, f"{experiment} M={chunk[0].M} R={len(chunk)}")
                hists = _train_chunk(chunk, device, save_params, cb, early_stop, compact)
                if bar is not None:
                    bar.close()
            keep(hists)
    elif work:
        fn = (functools.partial(split_on_oom, train_chunk, what="training chunk") if train_chunk is not None
              else functools.partial(_train_chunk, device=device, save_params=save_params, progress=None,
                                     early_stop=early_stop, compact=compact))
        failed: dict[str, str] = {}
        for i, out in executor.map(fn, work, gpu=str(device).startswith("cuda")):
            if isinstance(out, _executor.Failure):
                failed.update((c.key, out.error) for c in work[i])
            else:
                keep(out)
        if failed:
            raise _executor.UnitsFailed(failed)
    return [have[k] for k in keys]


def outcomes(hists: list[History], attr: str = "generalized_step") -> np.ndarray:
    """1.0 where the summary's `attr` is set, 0.0 where not, NaN for diverged runs."""
    return np.array([np.nan if h.status != "ok" else float(h.summary.get(attr) is not None) for h in hists])
