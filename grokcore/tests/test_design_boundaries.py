"""claims/designs/boundaries.py without its claims' scale: which trainer each tier's seed-002 sweep
uses. detection-robust (fast, gpu) re-reads full-length histories under longer-patience rules, so
only the long tier, which has no detection-robust, may train with compaction."""
from __future__ import annotations

from pathlib import Path

import pytest

from grokcore.engine import trajectory

DESIGN = Path(__file__).resolve().parents[2] / "claims" / "designs" / "boundaries.py"


@pytest.fixture(scope="module")
def D():
    from grokcore.suite import plan

    return plan.load_module(DESIGN)


def test_only_the_long_tier_compacts(D):
    for tier in ("fast", "long", "gpu"):
        train = D._train002(tier, None, "cpu")
        assert train.func is (D._compacted if tier == "long" else trajectory.run), tier
        assert train.keywords["threads"] == 1 and train.keywords["experiment"] == f"seed002/{tier}"
    assert "compact" not in D.GRIDS["fast"] and "compact" not in D.GRIDS["gpu"]


def test_the_long_tier_has_no_detection_robust_param():
    """The premise of the long tier's compaction: no claim there re-reads a history past its stop."""
    import importlib

    mod = importlib.import_module("claims.test_boundaries")
    params = [m for m in mod.test_detection_robust.pytestmark if m.name == "parametrize"]
    tiers = {p.values[0] for m in params for p in m.args[1]}
    assert tiers and "long" not in tiers
