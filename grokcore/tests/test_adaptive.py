"""Adaptive boundary search (grokcore.decide.adaptive) on a simulated boundary with a known answer:
P(generalize | n) = expit(beta (log n - log n*)), outcomes drawn from a generator seeded by
(boundary, n, replicate), so a run's outcome is a function of its config as in training."""
import math
import zlib
from types import SimpleNamespace

import numpy as np
import pytest

from grokcore.decide import laws
from grokcore.decide import adaptive as A
from grokcore.engine.config import RunConfig

TRUE = {17: 300.0, 31: 900.0, 41: 1500.0}  # n* per boundary
BETA = 6.0


def _configs(key, n, reps):
    return [RunConfig(M=int(key), ratio=None, n_train=int(n), seed=r, split_seed=r) for r in reps]


def _sim(true=TRUE, beta=BETA, salt=0):
    """run(): one fake History per config; counts configs trained (a dict acts as the store)."""
    store, calls = {}, []

    def run(cfgs):
        calls.append(len(cfgs))
        out = []
        for c in cfgs:
            if c.key not in store:
                seed = zlib.crc32(f"{salt}/{c.M}/{c.n_train}/{c.seed}".encode())
                p = 1 / (1 + math.exp(-beta * (math.log(c.n_train) - math.log(true[c.M]))))
                store[c.key] = SimpleNamespace(config=c, y=float(np.random.default_rng(seed).random() < p))
            out.append(store[c.key])
        return out
    return run, store, calls


def _outcome(key, h):
    return h.y


SPEC = A.SearchSpec(n_min=50, n_max=5000, seeds=4, max_runs=48, max_rounds=8, target_width=0.4)
WINDOWS = {17: (150, 600), 31: (400, 2000), 41: (600, 3000)}


def test_spec_validates_and_grid_snaps():
    with pytest.raises(ValueError):
        A.SearchSpec(n_min=100, n_max=50)
    with pytest.raises(ValueError):
        A.SearchSpec(n_min=10, n_max=50, grid_ratio=1.0)
    with pytest.raises(ValueError):
        A.SearchSpec(n_min=10, n_max=50, start=3, seeds=4, max_runs=8)
    g = SPEC.grid()
    assert g[0] == 50 and g[-1] == 5000 and np.all(np.diff(g) > 0)
    assert np.all(np.diff(np.log(g))[:-1] < math.log(1.05) + 0.02)
    assert SPEC.snap(math.log(1000)) in g and abs(math.log(SPEC.snap(math.log(1000)) / 1000)) < 0.03


def test_search_brackets_and_converges_with_batched_rounds():
    run, store, calls = _sim()
    bds = A.search(WINDOWS, _configs, _outcome, run, SPEC)
    assert set(bds) == set(TRUE)
    # one run() call per round, all boundaries' new runs together
    assert len(calls) <= SPEC.max_rounds
    assert calls[0] == sum(sum(1 for p in b.points if p[0] == 0) for b in bds.values())
    assert calls[0] == SPEC.start * SPEC.seeds * len(WINDOWS)  # round 0: start points of every boundary
    for k, b in bds.items():
        assert b.runs <= SPEC.max_runs
        assert b.status in ("converged", "run budget", "rounds")
        e = b.fit.x50
        assert math.isfinite(e.lo) and math.isfinite(e.hi)
        assert e.lo - 0.3 < math.log(TRUE[k]) < e.hi + 0.3  # near the truth (coverage is tested below)
        rounds = [p[0] for p in b.points]
        assert rounds == sorted(rounds)  # points are kept in the order placed
        assert len({(p[1], p[2]) for p in b.points}) == b.runs  # a replicate is never run twice
    assert len(store) == sum(b.runs for b in bds.values())


def test_search_is_reproducible_and_a_warm_store_trains_nothing():
    run, store, calls = _sim()
    a = A.search(WINDOWS, _configs, _outcome, run, SPEC)
    n_trained = len(store)
    b = A.search(WINDOWS, _configs, _outcome, run, SPEC)
    assert len(store) == n_trained
    for k in a:
        assert a[k].points == b[k].points and a[k].status == b[k].status


def test_boundary_outside_the_range_is_reported_not_forced():
    run, _, _ = _sim(true={17: 20.0, 31: 1e5, 41: 1500.0})
    bds = A.search(WINDOWS, _configs, _outcome, run, SPEC)
    assert bds[17].status == "below range" and bds[17].fit.kind == "all_success"
    assert bds[31].status == "above range" and bds[31].fit.kind == "all_fail"
    assert min(p[1] for p in bds[17].points) == SPEC.n_min
    assert max(p[1] for p in bds[31].points) == SPEC.n_max
    assert "below range" in A.summary(bds)


def test_run_budget_stops_a_boundary():
    spec = A.SearchSpec(n_min=50, n_max=5000, seeds=4, max_runs=20, max_rounds=20, target_width=0.01)
    run, _, _ = _sim()
    bds = A.search(WINDOWS, _configs, _outcome, run, spec)
    for b in bds.values():
        assert b.runs <= 20 and b.status == "run budget"


def test_two_budgets_share_runs_through_the_keys():
    """Boundaries keyed (M, budget) that read the same configs train each config once."""
    run, store, calls = _sim()
    windows = {(31, "T"): (400, 2000), (31, "2T"): (400, 2000)}
    bds = A.search(windows, lambda k, n, r: _configs(k[0], n, r), _outcome, run, SPEC)
    # the same outcome function: both place the same points, and the store holds them once
    assert bds[(31, "T")].points == bds[(31, "2T")].points
    assert len(store) == bds[(31, "T")].runs


def _grid_ci_width(true, rng_salt, ns, seeds):
    run, _, _ = _sim(true={17: true}, salt=rng_salt)
    hs = run(_configs(17, 0, []) + [c for n in ns for c in _configs(17, n, range(seeds))])
    x = np.log([h.config.n_train for h in hs])
    y = np.array([h.y for h in hs])
    b = laws.firth_boundary(x, y)
    return b.x50.hi - b.x50.lo, b.x50, len(hs)


@pytest.mark.parametrize("true", [250.0, 700.0])
def test_adaptive_beats_the_fixed_grid_and_its_ci_covers(true):
    """Over 30 simulated searches: the adaptive design's x50 CI is narrower on average than a
    fixed geometric grid over the same prior window with at least as many runs, and covers
    the true n* at about its nominal rate (>= 0.8 allows MC error and the stop rule's
    selection: stopping when the CI is narrow favours narrow, slightly anti-conservative CIs)."""
    spec = A.SearchSpec(n_min=50, n_max=5000, seeds=3, max_runs=36, max_rounds=8, target_width=0.3)
    grid = [int(round(150 * 1.2**i)) for i in range(12) if 150 * 1.2**i <= 1400]  # 12 points x 3 = 36 runs
    wa, wg, cover, runs = [], [], 0, []
    for s in range(30):
        run, _, _ = _sim(true={17: true}, salt=s)
        b = A.search({17: (150, 1400)}, _configs, _outcome, run, spec)[17]
        e = b.fit.x50
        wa.append(min(e.hi - e.lo, 10.0))
        cover += e.lo <= math.log(true) <= e.hi
        runs.append(b.runs)
        w, _, n = _grid_ci_width(true, s, grid, 3)
        wg.append(min(w, 10.0))
    assert max(runs) <= 36 <= n
    assert np.mean(wa) < np.mean(wg)
    assert cover / 30 >= 0.8


def test_quantum_grid_and_given_first_round():
    """Widths divisible by 4 heads: every candidate and every placed point is a multiple of
    quantum; `first` replaces the geometric round 0 (e.g. a fixed grid another claim reads)."""
    with pytest.raises(ValueError):
        A.SearchSpec(n_min=10, n_max=64, quantum=4)  # n_min not a multiple
    with pytest.raises(ValueError):
        A.SearchSpec(n_min=8, n_max=64, quantum=4, first=(16,))
    with pytest.raises(ValueError):
        A.SearchSpec(n_min=8, n_max=64, quantum=4, first=(16, 18))  # not a multiple of 4
    spec = A.SearchSpec(n_min=8, n_max=64, quantum=4, grid_ratio=1.1, seeds=6, max_runs=66, max_rounds=5,
                        target_width=0.1, first=(8, 12, 16, 24, 32, 48, 56))  # 56: not on the grid, kept
    g = spec.grid()
    assert g[0] == 8 and g[-1] == 64 and np.all(g % 4 == 0) and np.all(np.diff(g) > 0)
    assert set(g) >= {8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48}
    run, _, _ = _sim(true={20: 20.0})
    bds = A.search({20: (8, 48)}, _configs, _outcome, run, spec)
    b = bds[20]
    assert sorted({p[1] for p in b.points if p[0] == 0}) == [8, 12, 16, 24, 32, 48, 56]
    assert all(p[1] % 4 == 0 for p in b.points)
    assert any(p[0] > 0 for p in b.points) and b.runs <= 66
    assert b.fit.x50.lo - 0.3 < math.log(20) < b.fit.x50.hi + 0.3
