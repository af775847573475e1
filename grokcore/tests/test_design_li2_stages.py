"""The li2 stage and Fourier design (claims/designs/li2_stages.py): ``plan_configs`` is what its
sweeps train.

Nothing trains: ``sweep.run`` is replaced by a recorder that keeps the configs and stops."""
from __future__ import annotations

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
@pytest.mark.parametrize("which", ["fourier", "stages"])
def test_the_plan_is_what_the_sweep_trains(D, recorded, tier, which):
    with pytest.raises(Stop):
        getattr(D, f"{which}_sweep")(tier, None, "cpu", SEED)
    assert Counter(c.key for c in recorded) == Counter(c.key for c in D.plan_configs(tier, SEED)[f"li2-{which}"])
