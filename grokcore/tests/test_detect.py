"""Known-answer and property tests for grokcore.base.detect."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from grokcore.base.detect import DetectRule, first_run_index, first_sustained, grok_step, memorization_step, stages

STEPS = np.arange(0, 1000, 100)  # 10 evals at steps 0, 100, ..., 900


def _check(got, want, what: str) -> None:
    np.testing.assert_array_equal(got, want, err_msg=f"{what}: measured {got}, expected {want}")


def test_first_sustained_known_windows():
    v = np.array([0.0, 0.96, 0.97, 0.0, 0.96, 0.96, 0.96, 0.5, 0.96, 0.96])
    for patience, want in [(1, 100.0), (2, 100.0), (3, 400.0), (4, np.nan)]:
        _check(first_sustained(STEPS, v, 0.95, patience), want, f"patience={patience}")
    _check(first_sustained(STEPS, v, 0.99, 1), np.nan, "never reaches 0.99")
    _check(first_sustained(STEPS, np.full(10, 0.95), 0.95, 10), 0.0, "threshold is inclusive")


def test_window_cut_short_by_end_of_log_is_not_yet():
    v = np.r_[np.zeros(7), np.ones(3)]  # 3 good evals at the end of the log
    _check(first_sustained(STEPS, v, 0.95, 3), 700.0, "window exactly fits")
    _check(first_sustained(STEPS, v, 0.95, 4), np.nan, "window cut short by the log's end")
    _check(first_sustained(STEPS[:-1], v[:-1], 0.95, 3), np.nan, "log ends one eval early")


def test_nan_never_counts():
    v = np.array([1, 1, np.nan, 1, 1, 1, np.nan, np.nan, 1, 1.0])
    _check(first_sustained(STEPS, v, 0.95, 3), 300.0, "NaN breaks a window")
    _check(first_sustained(STEPS, v, 0.95, 4), np.nan, "no 4 finite evals in a row")
    _check(grok_step(STEPS, np.full(10, np.nan)), np.nan, "diverged run")


def test_shapes_single_vs_batch_agree():
    rng = np.random.default_rng(0)
    V = np.where(rng.random((10, 6)) < 0.7, 1.0, 0.0)
    V[:, 5] = np.nan
    batch = first_sustained(STEPS, V, 0.95, 2)
    assert batch.shape == (6,) and first_sustained(STEPS, V[:, 0], 0.95, 2).shape == ()
    single = np.array([first_sustained(STEPS, V[:, r], 0.95, 2) for r in range(6)])
    _check(batch, single, "(E, R) vs per-column (E,)")
    assert np.isnan(batch[5])


def test_grok_and_memorization_defaults():
    test = np.r_[np.zeros(3), np.full(7, 0.96)]
    assert grok_step(STEPS, test, DetectRule(patience=7)) == 300.0
    assert np.isnan(grok_step(STEPS, test)), "default patience 10 cannot fit in 7 good evals"
    assert grok_step(np.arange(20), np.r_[np.zeros(5), np.ones(15)]) == 5.0
    train = np.array([0.1, 0.5, 0.98, 0.99, 1, 1, 1, 1, 1, 1])
    assert memorization_step(STEPS, train) == 300.0
    assert memorization_step(STEPS, train, threshold=0.5, patience=2) == 100.0


def test_stages_known_answer():
    train = np.array([0.1, 0.5, 0.99, 1, 1, 1, 1, 1, 1, 1])
    test = np.array([0, 0, 0, 0.1, 0.2, 0.96, 0.97, 0.99, 1, 1])
    s = stages(STEPS, train, test)
    assert (s["mem_index"], s["gen_index"]) == (2, 5)
    _check(s["I"], [0.0, 200.0], "stage I")
    _check(s["II"], [200.0, 500.0], "stage II")
    _check(s["III"], [500.0, 900.0], "stage III")


def test_stages_incomplete_runs_batched():
    train = np.array([0.1, 0.5, 0.99, 1, 1, 1, 1, 1, 1, 1])
    test = np.array([0, 0, 0, 0.1, 0.2, 0.96, 0.97, 0.99, 1, 1])
    early = np.r_[0.96, np.zeros(9)]  # test crosses before memorization: ignored
    s = stages(STEPS, np.stack([train, 0 * train, train, train], 1),
               np.stack([test, test, 0 * test, np.maximum(early, test)], 1))
    _check(s["mem_step"], [200.0, np.nan, 200.0, 200.0], "mem_step")
    _check(s["gen_step"], [500.0, np.nan, np.nan, 500.0], "gen_step")
    _check(s["I"][1], [0.0, 900.0], "never memorises: stage I runs to the end")
    _check(s["II"][1], [np.nan, np.nan], "never memorises: no stage II")
    _check(s["II"][2], [200.0, 900.0], "memorises, never generalises: stage II runs to the end")
    _check(s["III"][2], [np.nan, np.nan], "never generalises: no stage III")
    same = stages(STEPS, train, np.r_[np.zeros(2), np.ones(8)])
    _check(same["II"], [200.0, 200.0], "generalises with memorisation: empty stage II")


def test_validation():
    with pytest.raises(ValueError, match="strictly increasing"):
        first_sustained([0, 2, 1], [1, 1, 1], 0.5, 1)
    with pytest.raises(ValueError, match="shape"):
        first_sustained(STEPS, np.ones(9), 0.5, 1)
    with pytest.raises(ValueError, match="patience"):
        first_sustained(STEPS, np.ones(10), 0.5, 0)
    with pytest.raises(ValueError, match="shapes differ"):
        stages(STEPS, np.ones((10, 2)), np.ones((10, 3)))


def _brute_force(values, threshold, patience):
    ok = [v >= threshold for v in values]  # NaN >= t is False
    for i in range(len(ok) - patience + 1):
        if all(ok[i:i + patience]):
            return i
    return -1


curves = hnp.arrays(np.float64, st.integers(1, 30),
                    elements=st.one_of(st.floats(0, 1), st.just(np.nan)))


@settings(max_examples=150, deadline=None)
@given(curves, st.floats(0, 1), st.integers(1, 6))
def test_matches_brute_force(values, threshold, patience):
    got = first_run_index(values >= threshold, patience)
    assert got == _brute_force(values, threshold, patience), f"measured {got} for {values}"


@settings(max_examples=150, deadline=None)
@given(curves, st.floats(0, 1), st.floats(0, 1), st.integers(1, 6))
def test_grok_step_bounds_and_monotone(values, t1, t2, patience):
    steps = 10 * np.arange(values.size)
    lo_t, hi_t = sorted((t1, t2))
    g_lo = grok_step(steps, values, DetectRule(lo_t, patience))
    g_hi = grok_step(steps, values, DetectRule(hi_t, patience))
    crossed = np.flatnonzero(values >= lo_t)
    if np.isfinite(g_lo):
        assert g_lo >= steps[crossed[0]], f"grok step {g_lo} before first crossing {steps[crossed[0]]}"
    # a higher threshold can only delay grokking (NaN = never = +inf)
    assert np.nan_to_num(g_hi, nan=np.inf) >= np.nan_to_num(g_lo, nan=np.inf), f"{g_hi} < {g_lo}"
    # more patience can only delay it too
    g_more = grok_step(steps, values, DetectRule(lo_t, patience + 1))
    assert np.nan_to_num(g_more, nan=np.inf) >= np.nan_to_num(g_lo, nan=np.inf)


def test_run_steps_and_generalized_over_histories():
    """The one "did it grok" over Histories: budget cut, diverged runs NaN, never -> NaN / 0."""
    from types import SimpleNamespace

    from grokcore.base.detect import generalized, run_steps

    s = np.arange(0, 201, 10)
    acc = np.where(s >= 50, 1.0, 0.1)
    h = lambda status, a: SimpleNamespace(status=status, metrics={"step": s, "test/acc": a})  # noqa: E731
    hs = [h("ok", acc), h("ok", np.full(s.size, 0.1)), h("diverged", acc)]
    np.testing.assert_array_equal(run_steps(hs), [50.0, np.nan, np.nan])
    np.testing.assert_array_equal(generalized(hs), [1.0, 0.0, np.nan])
    np.testing.assert_array_equal(generalized(hs, budget=100), [0.0, 0.0, np.nan])  # 50..100 holds 6 < 10 evals
    np.testing.assert_array_equal(run_steps(hs, DetectRule(0.95, 5), budget=100), [50.0, np.nan, np.nan])
