"""The li2 stage and Fourier design (claims/designs/li2_stages.py): ``plan_configs`` is what its
sweeps train.

Nothing trains: ``sweep.run`` is replaced by a recorder that keeps the configs and stops."""
from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path

import pytest

from grokcore.engine import sweep
from grokcore.suite import plan

CLAIMS = Path(__file__).resolve().parents[2] / "claims"
TIERS = ("fast", "gpu")
SEED = 3  # a non-default --claims-seed: the plan must follow it too


class Stop(Exception):
    """Raised by the recorder once it has the configs of the first training call."""


@pytest.fixture(scope="module")
def D():
    return plan.load_module(CLAIMS / "designs" / "li2_stages.py")


@pytest.fixture
def recorded(monkeypatch) -> list:
    got: list = []

    def record(cfgs, *a, **kw):
        got.extend(cfgs)
        raise Stop

    monkeypatch.setattr(sweep, "run", record)
    return got


@pytest.mark.parametrize("tier", TIERS)
def test_the_plan_is_what_the_stages_sweep_trains(D, recorded, tier):
    with pytest.raises(Stop):
        D.stages_sweep(tier, None, "cpu", SEED)
    assert Counter(c.key for c in recorded) == Counter(c.key for c in D.plan_configs(tier, SEED)["li2-stages"])


@pytest.mark.parametrize("tier", TIERS)
def test_the_plan_is_what_the_fourier_sweep_trains_in_two_calls(D, monkeypatch, tier):
    """Two training calls (the η = 0 arm never shares a batch with the others: a batch stops
    early only when all of its runs generalized); the second is the first's largest n, same
    seeds, weight decay 0."""
    calls: list = []
    monkeypatch.setattr(sweep, "run", lambda cfgs, *a, **kw: calls.append(list(cfgs)) or [])
    D.fourier_sweep(tier, None, "cpu", SEED)
    plan_ = D.plan_configs(tier, SEED)
    assert [[c.key for c in call] for call in calls] == [[c.key for c in plan_["li2-fourier"]],
                                                         [c.key for c in plan_["li2-fourier-control"]]]
    top = max(c.n_train for c in calls[0])
    assert {c.replace(optim=dataclasses.replace(c.optim, weight_decay=0.0)).key for c in calls[0] if c.n_train == top} \
        == {c.key for c in calls[1]}
