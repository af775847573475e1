"""Compaction (train(..., compact=True), sweep.run(..., compact=True)): runs that generalized or
diverged leave the batch at a host check and the rest go on as a smaller batch.

What is checked:
- each compacted run's history equals the same run's uncompacted history (early_stop=False,
  same batch) cut at its own stop, array for array with np.array_equal (NaN == NaN); the
  only difference allowed is the last row's delta/rel_delta, NaN because no update follows
  a history's last row. Exact equality was observed on this CPU for full-batch and minibatch
  Li² (Adam + wd) and the flat optimizer, so no tolerance is used;
- its parameters are those of the uncompacted run at that step (checkpoints);
- the summary says how the run stopped, and the stop is at the first check of the rule;
- the store never serves a compacted (cut) history to a call without compact=True, and a
  compact call served from a store of full-length histories returns what a cold one trains.
"""
import numpy as np
import pytest
import torch

from grokcore.base.history import GEN_PATIENCE, GEN_THRESHOLD
from grokcore.engine import sweep
from grokcore.engine.config import ModelSpec, OptimSpec, RunConfig
from grokcore.engine.store import Store
from grokcore.engine.train import CHECK_EVERY, train

# Li² M = 13, K = 64: at n = 140 / 160 these grok at steps 134..250 (two compaction events),
# n = 120 does not grok in 600 steps (runs to its budget). init_scale 1e25 overflows float32
# at the first forward (a diverged run, which leaves at the first check).
BASE = RunConfig(task="add", M=13, ratio=None, n_train=140, steps=600, eval_every=2,
                 model=ModelSpec(family="li2", width=64), optim=OptimSpec(name="adam", lr=1e-2, weight_decay=1e-3))


def _batch(**kw) -> list[RunConfig]:
    cfgs = [BASE.replace(n_train=n, seed=s, split_seed=s, **kw) for n in (120, 140, 160) for s in range(2)]
    return cfgs + [BASE.replace(model=ModelSpec(family="li2", width=64, init_scale=1e25), seed=9, **kw)]


def _assert_cut(hc, hr):
    """hc is hr cut at hc's last row (delta/rel_delta of that row NaN in hc)."""
    E = len(hc.metrics["step"])
    assert set(hc.metrics) == set(hr.metrics)
    for k, v in hc.metrics.items():
        ref = hr.metrics[k][:E]
        if k.startswith(("delta/", "rel_delta/")):
            assert np.isnan(v[-1]), k
            v, ref = v[:-1], ref[:-1]
        assert np.array_equal(v, ref, equal_nan=True), (k, np.nanmax(np.abs(v - ref)))


@pytest.mark.parametrize("case", ["full_batch", "minibatch", "flat_optim"])
def test_compacted_history_is_the_uncompacted_history_cut_at_its_stop(case):
    cfgs = _batch(batch_size=32) if case == "minibatch" else _batch()
    kw = {"flat_optim": True} if case == "flat_optim" else {}
    ref = train(cfgs, early_stop=False, checkpoint_every=BASE.eval_every, **kw)
    res = train(cfgs, compact=True, **kw)
    ck = dict(ref.checkpoints)
    stops = []
    for c, hc, hr, r in zip(cfgs, res.histories, ref.histories, range(len(cfgs))):
        assert hc.config == c and hc.summary["compacted"] is True
        _assert_cut(hc, hr)
        last = int(hc.metrics["step"][-1])
        for p, v in res.params.items():  # its parameters are those at its last logged step
            assert np.array_equal(v[r].numpy(), ck[last][p][r].numpy(), equal_nan=True), p
        stop = hc.summary["stop"]
        stops.append((stop, last))
        if stop == "budget":
            assert last == c.steps and hr.summary["generalized_step"] is None
            continue
        e = len(hc.metrics["step"]) - 1  # the check row at which it left
        assert (e + 1) % CHECK_EVERY == 0 and last < c.steps
        if stop == "diverged":
            assert hc.status == hr.status == "diverged" and e + 1 == CHECK_EVERY
            continue
        # grokked: the rule holds at this check and at no earlier one
        acc = hc.metrics["test/acc"]
        assert np.all(acc[-GEN_PATIENCE:] >= np.float32(GEN_THRESHOLD))
        assert hc.summary["generalized_step"] == hr.summary["generalized_step"] is not None
        earlier = [(e2 + 1) for e2 in range(CHECK_EVERY - 1, e, CHECK_EVERY)]
        assert all(not np.all(acc[x - GEN_PATIENCE:x] >= np.float32(GEN_THRESHOLD)) for x in earlier)
    kinds = [s for s, _ in stops]
    # the batch shrank more than once, and kept runs to the end: the test covers compaction
    assert {"budget", "grokked", "diverged"} <= set(kinds)
    assert len({last for s, last in stops if s != "budget"}) >= 3
    # equality is not vacuous: the runs' curves differ from one another
    loss = [tuple(h.metrics["test/loss"][:20]) for h in ref.histories[:-1]]
    assert len(set(loss)) == len(loss)
    assert res.opt_state is None  # runs stopped at different steps: no common Adam t


def test_the_cut_test_catches_a_mixed_up_run():
    """_assert_cut fails when a history comes from another run, or is off by one row."""
    cfgs = _batch()[2:4]
    ref = train(cfgs, early_stop=False)
    res = train(cfgs, compact=True)
    with pytest.raises(AssertionError):
        _assert_cut(res.histories[0], ref.histories[1])
    h = res.histories[0]
    shifted = type(h)(h.config, {k: v[1:] for k, v in h.metrics.items()}, h.status)
    with pytest.raises(AssertionError):
        _assert_cut(shifted, ref.histories[0])


def test_compaction_is_opt_in_and_default_histories_are_unmarked():
    cfgs = _batch()[2:6]
    plain = train(cfgs)  # whole-batch early stop, as before
    assert all("compacted" not in h.summary and "stop" not in h.summary for h in plain.histories)
    assert len({len(h.metrics["step"]) for h in plain.histories}) == 1  # one stop for the batch
    res = train(cfgs, compact=True)
    for hc, hp in zip(res.histories, plain.histories):  # a compacted history is a prefix of the batch's
        _assert_cut(hc, hp) if len(hc.metrics["step"]) < len(hp.metrics["step"]) else None
    assert sum(len(h.metrics["step"]) for h in res.histories) < sum(len(h.metrics["step"]) for h in plain.histories)
    with pytest.raises(ValueError, match="early_stop"):
        train(cfgs, compact=True, early_stop=False)
    with pytest.raises(ValueError, match="checkpoints"):
        train(cfgs, compact=True, checkpoint_every=10)
    with pytest.raises(ValueError, match="early_stop"):
        sweep.run(cfgs, compact=True, early_stop=False)


def _count_trained(monkeypatch) -> list[str]:
    trained, real = [], sweep.train

    def spy(cfgs, *a, **kw):
        trained.extend(c.key for c in cfgs)
        return real(cfgs, *a, **kw)
    monkeypatch.setattr(sweep, "train", spy)
    return trained


def _summary(h) -> dict:
    """The summary as the store keeps it (non-finite floats as None, sweep._json_safe)."""
    return {k: sweep._json_safe(v) for k, v in h.summary.items()}


def _same(h1, h2, ignore=()):
    """Same config, status, summary and curves (metrics starting with `ignore` left out)."""
    assert h1.config == h2.config and h1.status == h2.status
    assert _summary(h1) == _summary(h2)
    keys = {k for k in h1.metrics if not k.startswith(ignore)}
    assert keys == {k for k in h2.metrics if not k.startswith(ignore)}
    for k in keys:
        assert np.array_equal(h1.metrics[k], h2.metrics[k], equal_nan=True), k


def test_store_never_serves_a_cut_history_to_a_call_without_compact(tmp_path, monkeypatch):
    store = Store(tmp_path / "s.sqlite")
    cfgs = _batch()
    hc = sweep.run(cfgs, store=store, compact=True)
    cut_keys = {h.config.key for h in hc if h.summary["stop"] != "budget"}
    full_keys = {h.config.key for h in hc if h.summary["stop"] == "budget"}
    assert cut_keys and full_keys
    for h in hc:  # the mark survives the store
        assert store.get(h.config.key).summary["stop"] == h.summary["stop"]
    trained = _count_trained(monkeypatch)
    again = sweep.run(cfgs, store=store, compact=True)  # compact reuses all of them
    assert trained == []
    for a, b in zip(again, hc):
        _same(a, b)
    plain = sweep.run(cfgs, store=store)  # whole-batch early stop: the cut ones are trained again
    assert set(trained) == cut_keys
    assert all("compacted" not in h.summary for h in plain if h.config.key in cut_keys)
    trained.clear()
    full = sweep.run(cfgs, store=store, early_stop=False)  # full length: every short one again
    assert all(h.metrics["step"][-1] == h.config.steps for h in full)
    assert cut_keys <= set(trained) and not set(trained) & full_keys


def test_compact_call_on_a_store_of_full_histories_returns_what_a_cold_one_trains(tmp_path, monkeypatch):
    cfgs = _batch()
    warm = Store(tmp_path / "warm.sqlite")
    sweep.run(cfgs, store=warm, early_stop=False, save_params=("W",))
    trained = _count_trained(monkeypatch)
    served = sweep.run(cfgs, store=warm, compact=True)
    assert trained == []
    cold = sweep.run(cfgs, store=Store(tmp_path / "cold.sqlite"), compact=True)
    for s, c in zip(served, cold):
        if s.status == "diverged":  # served as stored: its compaction point is not in the curves
            assert s.metrics["step"][-1] == s.config.steps and c.summary["stop"] == "diverged"
            continue
        _same(s, c, ignore=("param/",))  # a full-length one keeps its stored parameters
    assert {h.summary["stop"] for h in served} >= {"grokked", "budget"}
    # stored parameters are those of the stored last row: a cut with save_params trains again
    trained.clear()
    with_params = sweep.run(cfgs, store=warm, compact=True, save_params=("W",))
    assert set(trained) == {h.config.key for h in cold if h.summary["stop"] == "grokked"}
    for h, c in zip(with_params, cold):
        if h.status == "ok":
            assert h.summary["stop"] == c.summary["stop"] and "param/W" in h.metrics


def test_compaction_benchmark_runs_at_toy_size(capsys):
    """benchmarks/bench_compaction.py end to end (its figures are measured by hand: benchmarks/README.md)."""
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_compaction.py"
    spec = importlib.util.spec_from_file_location("bench_compaction", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.main(["--M", "13", "--fracs", "0.6", "--seeds", "2", "--steps", "60", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert "| compact |" in out and "cut at each run's stop: True" in out
    with pytest.raises(SystemExit):
        mod.main(["--seeds", "0"])
