"""grokcore plan: per-grid cost rows from a fake claims directory's designs (plan_configs hook,
no hook, broken modules), the FLOP model, the total's de-duplication and the CLI."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from grokcore.suite import cli, plan
from grokcore.engine.config import ModelSpec, RunConfig

HOOK = '''
from grokcore.engine.config import ModelSpec, RunConfig

def cfgs(tier):
    steps = 100 if tier == "fast" else 1000
    base = RunConfig(M=23, ratio=None, n_train=200, model=ModelSpec(family="li2", width=64), steps=steps, eval_every=10)
    return [base.replace(seed=s) for s in range(4)]

def plan_configs(tier):
    return cfgs(tier)
'''
BROKEN = '''
import not_a_module_anywhere_42
'''
NOTHING = '''
X = 1
'''
HOOK_FAILS = '''
def plan_configs(tier):
    raise RuntimeError("grid under construction")
'''


def _shared_cfgs(tier):
    steps = 100 if tier == "fast" else 1000
    base = RunConfig(M=23, ratio=None, n_train=200, model=ModelSpec(family="li2", width=64), steps=steps, eval_every=10)
    return [base.replace(seed=s) for s in range(4)]


@pytest.fixture
def claims(tmp_path: Path) -> Path:
    d = tmp_path / "claims" / "designs"
    d.mkdir(parents=True)
    (d / "test_a_hook.py").write_text(HOOK)
    # a dict of named grids; "shared" repeats test_a_hook's configs (counted once in the total)
    (d / "test_b_dict.py").write_text(HOOK + textwrap.dedent('''
        def plan_configs(tier):
            extra = [c.replace(seed=100 + i, model=ModelSpec(family="embed_mlp", width=48, embed=12))
                     for i, c in enumerate(cfgs(tier)[:2])]
            return {"shared": cfgs(tier), "extra": extra}

        def plan_notes(tier):
            return {"extra": "trained with compaction"} if tier == "gpu" else {}
        '''))
    (d / "test_d_broken.py").write_text(BROKEN)
    (d / "test_e_nothing.py").write_text(NOTHING)
    (d / "test_f_hook_fails.py").write_text(HOOK_FAILS)
    (d / "_helper.py").write_text("raise RuntimeError('not a design module: never imported')\n")
    (d.parent / "test_x.py").write_text("raise RuntimeError('a claim module: plan reads designs only')\n")
    return d.parent


def _li2_cost(c: RunConfig) -> float:
    """The li2 FLOP formula written out independently (evals as train.train logs them)."""
    K, M = c.model.width, c.M
    per = K * M + (c.model.depth - 1) * K * K
    evals = c.steps // c.eval_every + 1 + (c.steps % c.eval_every != 0)
    return 2 * per * (3 * c.n_train * c.steps + M * M * evals)


def test_flop_model_matches_the_claims_cost_formula():
    c = RunConfig(M=71, ratio=None, n_train=2016, model=ModelSpec(family="li2", width=2048, depth=2, act="relu"),
                  steps=20000, eval_every=100)
    assert plan.config_flops(c) == pytest.approx(_li2_cost(c))
    e = RunConfig(M=64, ratio=0.4, model=ModelSpec(family="embed_mlp", width=48, embed=12), steps=10, eval_every=5,
                  batch_size=128)
    assert plan.config_flops(e) == pytest.approx(2 * (2 * 12 * 48 + 48 * 64) * (3 * 128 * 10 + 64 * 64 * 3))
    t = plan.forward_macs("transformer", M=97, width=128, depth=2)
    assert t == 2 * 2 * (12 * 128**2 + 4 * 128) + 128 * 97


def test_rows_per_module(claims: Path):
    rows = {(r.module, r.grid): r for r in plan.plan(claims, "gpu")}
    assert not {"_helper", "test_x"} & {m for m, _ in rows}
    a = rows[("test_a_hook", "")]
    cfgs = _shared_cfgs("gpu")
    assert (a.source, a.runs, a.model_steps) == ("configs", 4, 4000)
    assert a.flops == pytest.approx(sum(_li2_cost(c) for c in cfgs))
    assert rows[("test_b_dict", "shared")].keys == a.keys
    assert rows[("test_b_dict", "extra")].runs == 2
    assert rows[("test_b_dict", "extra")].note == "trained with compaction"
    assert rows[("test_b_dict", "shared")].note == ""

    broken = rows[("test_d_broken", "")]
    assert broken.source == "error" and "import failed" in broken.note and "not_a_module_anywhere_42" in broken.note
    assert rows[("test_e_nothing", "")].source == "unknown"
    fails = rows[("test_f_hook_fails", "")]
    assert fails.source == "error" and "grid under construction" in fails.note


def test_fast_tier_uses_the_fast_grid(claims: Path):
    rows = {(r.module, r.grid): r for r in plan.plan(claims, "fast")}
    assert rows[("test_a_hook", "")].model_steps == 400
    assert rows[("test_b_dict", "extra")].note == ""  # plan_notes is per tier


def test_the_real_designs_mark_their_compacted_grids():
    """The li2 searches train with compaction at every tier, the mod-64 threshold search at long and
    gpu only, the seed-002 sweep at long only (claims/designs: plan_notes beside plan_configs)."""
    for tier, want in (("fast", False), ("long", True), ("gpu", True)):
        rows = {(r.module, r.grid): r for r in plan.plan(plan.default_claims_dir(), tier)}
        li2 = [r for (m, _), r in rows.items() if m == "li2"]
        assert li2 and all(plan.COMPACT_NOTE in r.note for r in li2), tier
        thr = rows[("slt", "threshold (adaptive, upper bound)")]
        assert (plan.COMPACT_NOTE in thr.note) == want, tier
        assert plan.COMPACT_NOTE not in rows[("slt", "curriculum")].note
        seed002 = [r for (m, _), r in rows.items() if m == "boundaries"]
        assert seed002 and all((plan.COMPACT_NOTE in r.note) == (tier == "long") for r in seed002), tier


def test_total_counts_shared_configs_once(claims: Path):
    rows = plan.plan(claims, "gpu")
    rate = 1e12
    out = plan.table(rows, rate)
    total = out[-1]
    assert total["claim module"] == "TOTAL"
    known = [r for r in rows if r.flops is not None]
    a = next(r for r in rows if r.module == "test_a_hook")
    shared = next(r for r in rows if r.grid == "shared")
    want_runs = sum(r.runs for r in known) - shared.runs  # test_b's "shared" repeats test_a's runs
    assert total["runs"] == want_runs
    want_flops = sum(r.flops for r in known) - a.flops
    assert total["FLOPs"] == plan._si(want_flops)
    assert total["est. wall"] == plan.fmt_time(want_flops / rate)
    n_unknown = sum(r.flops is None for r in rows)
    assert n_unknown == 3 and total["note"].startswith("3 row(s) unknown")


def test_cli_plan_prints_rows_rate_and_total(claims: Path, capsys: pytest.CaptureFixture[str]):
    assert cli.main(["plan", "--claims", str(claims)]) == 0
    out = capsys.readouterr().out
    assert "tier gpu" in out and "60 TFLOP/s" in out and "10% utilization" in out
    assert "spec-based guess, not measured" in out
    for name in ("test_a_hook", "test_d_broken", "import failed", "TOTAL"):
        assert name in out
    assert plan.main(["--claims", str(claims), "--tier", "fast", "--device-flops", "2e12",
                      "--device", "H100 (bench)"]) == 0
    out = capsys.readouterr().out
    assert "tier fast" in out and "2 TFLOP/s (H100 (bench)) x 100%" in out and "not measured" not in out


def test_cli_plan_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    assert plan.main(["--claims", str(tmp_path / "none")]) == 2
    assert "no claims directory" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        plan.main(["--claims", str(tmp_path), "--utilization", "2"])
    with pytest.raises(SystemExit):
        plan.main(["--tier", "slow"])


def test_fmt_helpers():
    assert plan.fmt_time(30) == "30 s" and plan.fmt_time(600) == "10.0 min" and plan.fmt_time(36000) == "10.0 h"
    assert plan._si(7.3e17) == "730 P" and plan._si(None) == "-" and plan._si(12) == "12"
