"""One run's logged curves and their summary: the record both layers share.

The engine writes a ``History`` per run; the decision side reads it. This module imports
neither torch nor any other grokcore layer (only ``base.detect``), so rules can be used and
tested without a training stack.

summary (computed on construction unless given):
  memorized_step   = first logged step with train acc >= MEM_THRESHOLD (held 1 eval)
  generalized_step = first logged step with test acc >= GEN_THRESHOLD held GEN_PATIENCE evals
                     (seed 002's detection rule); None for a diverged run
  final/*, last_step, status ("ok" | "diverged").
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from grokcore.base.detect import first_sustained

MEM_THRESHOLD = 0.99  # train accuracy that counts as "memorized"
GEN_THRESHOLD, GEN_PATIENCE = 0.95, 10  # seed 002's detection rule
STATUSES = ("ok", "diverged")


@dataclass
class History:
    """One run's logged curves (numpy, length E) and its summary."""

    config: Any  # the engine's RunConfig; read by attribute only, so this layer needs no engine import
    metrics: dict[str, np.ndarray]  # "step" and namespaced keys, each (E,)
    status: str  # "ok" | "diverged"
    wall_s: float = 0.0
    device: str = "cpu"
    summary: dict = field(default_factory=dict)

    def __post_init__(self):
        if not self.summary:
            self.summary = summarize(self.metrics, self.status)


def _step_or_none(x: np.ndarray) -> float | None:
    return None if np.isnan(x) else float(x)


def summarize(m: dict[str, np.ndarray], status: str) -> dict:
    s = m["step"]
    return {
        "status": status,
        "memorized_step": _step_or_none(first_sustained(s, m["train/acc"], MEM_THRESHOLD, 1)),
        "generalized_step": None if status != "ok" else _step_or_none(
            first_sustained(s, m["test/acc"], GEN_THRESHOLD, GEN_PATIENCE)),
        "final/train_acc": float(m["train/acc"][-1]),
        "final/test_acc": float(m["test/acc"][-1]),
        "final/train_loss": float(m["train/loss"][-1]),
        "final/test_loss": float(m["test/loss"][-1]),
        "last_step": int(s[-1]),
    }
