"""Grokking detection and stage segmentation on logged training curves.

Curves are NumPy arrays: ``steps`` (E,) strictly increasing evaluation steps, and a
metric of shape (E,) for one run or (E, R) for R runs. Results have shape () for
(E,) input and (R,) for (E, R) input; "never" is NaN (steps) or -1 (indices).

A run has grokked at the first evaluation of the first window of ``patience``
consecutive evaluations with metric >= threshold (seed 002: validation accuracy
>= 95% for 10 evaluations). NaN metrics (diverged runs) never count. A window still
open when the log ends, shorter than ``patience``, is "not yet": NaN, since later
evaluations could still complete or break it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class DetectRule:
    threshold: float = 0.95  # seed 002: validation accuracy >= 95% ...
    patience: int = 10  # ... for 10 consecutive evaluations


def _check(steps, values, name: str) -> tuple[np.ndarray, np.ndarray]:
    steps, values = np.asarray(steps), np.asarray(values, dtype=float)
    if steps.ndim != 1 or steps.size == 0:
        raise ValueError(f"steps must be a non-empty 1-D array, got shape {steps.shape}")
    if np.any(np.diff(steps) <= 0):
        raise ValueError("steps must be strictly increasing")
    if values.ndim not in (1, 2) or values.shape[0] != steps.size:
        raise ValueError(f"{name} must have shape (E,) or (E, R) with E = len(steps) = {steps.size}, "
                         f"got {values.shape}")
    return steps, values


def first_run_index(mask: np.ndarray, patience: int, start: np.ndarray | int = 0) -> np.ndarray:
    """Index of the first element of the first run of ``patience`` consecutive True
    values in each column of ``mask`` (E,) or (E, R), at or after row ``start``; -1 if none.

    run[i] = length of the True run ending at i = c[i] - c[last False <= i], with c the
    cumulative count of True; the window ending at the first i with run[i] >= patience
    starts at i - patience + 1.
    """
    if int(patience) != patience or patience < 1:
        raise ValueError(f"patience must be a positive integer, got {patience}")
    mask = np.asarray(mask, dtype=bool)
    m = mask.reshape(mask.shape[0], -1)
    rows = np.arange(m.shape[0])[:, None]
    m = m & (rows >= np.broadcast_to(np.asarray(start).reshape(-1), (m.shape[1],)))  # ignore rows before start
    c = np.cumsum(m, axis=0)
    run = c - np.maximum.accumulate(np.where(m, 0, c), axis=0)
    hit = run >= patience
    idx = np.where(hit.any(axis=0), hit.argmax(axis=0) - int(patience) + 1, -1)
    return idx.reshape(mask.shape[1:])


def _steps_at(steps: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """steps[idx] as float, NaN where idx == -1."""
    return np.where(idx >= 0, steps[np.maximum(idx, 0)].astype(float), np.nan)


def first_sustained(steps, values, threshold: float, patience: int) -> np.ndarray:
    """Step of the first eval of the first window of ``patience`` consecutive evals with
    values >= threshold; NaN if there is none (including a window cut short by the end
    of the log). Shape () for (E,) values, (R,) for (E, R)."""
    steps, values = _check(steps, values, "values")
    with np.errstate(invalid="ignore"):
        mask = values >= threshold  # NaN compares False: a diverged eval breaks the window
    return _steps_at(steps, first_run_index(mask, patience))


def grok_step(steps, test_acc, rule: DetectRule = DetectRule()) -> np.ndarray:
    """Grokking step: first_sustained(test_acc, rule.threshold, rule.patience)."""
    return first_sustained(steps, test_acc, rule.threshold, rule.patience)


def memorization_step(steps, train_acc, threshold: float = 0.99, patience: int = 1) -> np.ndarray:
    """Memorization step: first_sustained(train_acc, threshold, patience)."""
    return first_sustained(steps, train_acc, threshold, patience)


def stages(steps, train_acc, test_acc, mem_threshold: float = 0.99,
           gen_threshold: float = 0.95) -> dict[str, np.ndarray]:
    """Split each run into the three stages of grokking (first crossings, patience 1):

    Stage I   [steps[0], mem)   fitting, until train_acc >= mem_threshold at eval ``mem``;
    Stage II  [mem, gen)        memorised, until test_acc >= gen_threshold at the first
                                eval ``gen`` at or after ``mem`` (empty when gen == mem,
                                i.e. the run generalised no later than it memorised);
    Stage III [gen, steps[-1]]  generalised.

    Returns "mem_index"/"gen_index" (int, -1 if never), "mem_step"/"gen_step" (float, NaN
    if never) and "I"/"II"/"III" of shape (..., 2) holding [start, end] steps. A stage
    still running when the log ends has end = steps[-1]; one that never starts is
    [NaN, NaN]. Eval indices [i0, i1) of a stage are recovered from the index fields.
    """
    steps, train_acc = _check(steps, train_acc, "train_acc")
    _, test_acc = _check(steps, test_acc, "test_acc")
    if train_acc.shape != test_acc.shape:
        raise ValueError(f"train_acc and test_acc shapes differ: {train_acc.shape} vs {test_acc.shape}")
    with np.errstate(invalid="ignore"):
        mem = first_run_index(train_acc >= mem_threshold, 1)
        gen = first_run_index(test_acc >= gen_threshold, 1, start=np.where(mem >= 0, mem, steps.size))
    mem_step, gen_step = _steps_at(steps, mem), _steps_at(steps, gen)
    first, last = float(steps[0]), float(steps[-1])
    end_i = np.where(mem >= 0, mem_step, last)
    end_ii = np.where(gen >= 0, gen_step, np.where(mem >= 0, last, np.nan))
    return {
        "mem_index": mem, "gen_index": gen, "mem_step": mem_step, "gen_step": gen_step,
        "I": np.stack(np.broadcast_arrays(first, end_i), axis=-1),
        "II": np.stack([mem_step, end_ii], axis=-1),
        "III": np.stack([gen_step, np.where(gen >= 0, last, np.nan)], axis=-1),
    }


def run_steps(hists, rule: DetectRule = DetectRule(), metric: str = "test/acc",
              budget: int | None = None) -> np.ndarray:
    """The one "did it grok, and when" over Histories: per run, the first step of ``rule`` on
    ``metric`` within ``budget`` steps (default: the whole log), shape (R,); NaN if the rule
    never completes within it or the run diverged."""
    out = np.full(len(hists), np.nan)
    for r, h in enumerate(hists):
        if h.status != "ok":
            continue
        s, v = h.metrics["step"], h.metrics[metric]
        keep = s <= budget if budget is not None else slice(None)
        out[r] = first_sustained(s[keep], v[keep], rule.threshold, rule.patience)
    return out


def generalized(hists, rule: DetectRule = DetectRule(), budget: int | None = None) -> np.ndarray:
    """1.0 where ``run_steps`` finds the rule within the budget, 0.0 where not, NaN for diverged runs."""
    t = run_steps(hists, rule, budget=budget)
    return np.where([h.status != "ok" for h in hists], np.nan, np.isfinite(t).astype(float))
