"""Sweeps: grid expansion, cache hits train nothing, order and params kept,
diverged runs stored with their status."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from grokcore.engine import sweep
from grokcore.engine.config import ModelSpec, OptimSpec, RunConfig
from grokcore.engine.store import Store

BASE = RunConfig(task="add", M=7, ratio=0.5, steps=6, eval_every=3,
                 model=ModelSpec(family="li2", width=8), optim=OptimSpec(name="adam", lr=1e-2))


def test_grid_expands_dotted_and_callable_axes():
    cfgs = sweep.grid(BASE, M=[5, 7], seed=range(2), **{"optim.weight_decay": [0.0, 1.0]},
                      ratio=lambda c: [0.2, 0.4] if c.M == 5 else [0.5])
    assert len(cfgs) == 2 * 2 * 2 * 2 - 4
    assert {c.optim.weight_decay for c in cfgs} == {0.0, 1.0}
    assert {c.ratio for c in cfgs if c.M == 7} == {0.5}


def test_second_run_trains_nothing_and_keeps_order(tmp_path, monkeypatch):
    store = Store(tmp_path / "s.sqlite")
    cfgs = sweep.grid(BASE, seed=range(3), M=[5, 7])  # two shape groups
    first = sweep.run(cfgs, store=store, save_params=("W",))
    calls = []
    monkeypatch.setattr(sweep, "train", lambda *a, **k: calls.append(a) or None)
    second = sweep.run(list(reversed(cfgs)), store=store, save_params=("W",))
    assert calls == []
    for h1, h2 in zip(first, reversed(second)):
        assert h1.config == h2.config and h1.summary == h2.summary
        np.testing.assert_array_equal(h1.metrics["test/acc"], h2.metrics["test/acc"])
        np.testing.assert_array_equal(h1.metrics["param/W"], h2.metrics["param/W"])
    assert first[0].metrics["param/W"].shape == (2 * 5, 8)


def test_diverged_runs_are_stored_as_diverged(tmp_path):
    store = Store(tmp_path / "s.sqlite")
    bad = BASE.replace(optim=OptimSpec(name="sgd", lr=1e12))
    h_bad, h_ok = sweep.run([bad, BASE], store=store)
    assert h_bad.status == "diverged" and h_ok.status == "ok"
    assert store.get(bad.key).status == "diverged"
    assert np.isnan(sweep.outcomes([h_bad, h_ok])[0])


def test_full_length_request_retrains_an_early_stopped_history(tmp_path, monkeypatch):
    """A history cut short by early stopping is never served as a full-length one."""
    store = Store(tmp_path / "s.sqlite")
    easy = BASE.replace(M=13, ratio=0.8, steps=400, eval_every=2,  # generalizes at step 282 (measured)
                        model=ModelSpec(family="li2", width=64), optim=OptimSpec(name="adam", lr=1e-2, weight_decay=1e-3))
    short = sweep.run([easy], store=store)[0]
    assert short.summary["generalized_step"] is not None and short.metrics["step"][-1] < easy.steps
    full = sweep.run([easy], store=store, early_stop=False)[0]
    assert full.metrics["step"][-1] == easy.steps
    np.testing.assert_allclose(full.metrics["test/acc"][:len(short.metrics["step"])], short.metrics["test/acc"])
    calls = []
    monkeypatch.setattr(sweep, "train", lambda *a, **k: calls.append(a) or None)
    assert sweep.run([easy], store=store)[0].metrics["step"][-1] == easy.steps  # the full one now serves both
    assert calls == []


@settings(max_examples=60, deadline=None)
@given(ns=st.lists(st.integers(10, 2000), min_size=1, max_size=40), width=st.sampled_from([8, 64, 512]),
       max_batch=st.integers(1, 16), device=st.sampled_from(["cpu", "cuda"]))
def test_chunks_partition_and_bound_padding(ns, width, max_batch, device):
    """Every run lands in exactly one chunk; chunks respect max_batch, the padding bound
    and (on CPU) the element budget, unless a chunk holds a single run."""
    cfgs = [BASE.replace(ratio=None, n_train=n, M=50, seed=i, model=ModelSpec(family="li2", width=width))
            for i, n in enumerate(ns)]
    out = sweep.chunks(cfgs, max_batch, device)
    assert sorted(c.key for ch in out for c in ch) == sorted(c.key for c in cfgs)
    for ch in out:
        n = [c.n_train for c in ch]
        assert 1 <= len(ch) <= max_batch
        if len(ch) > 1:
            assert max(n) <= sweep.MAX_PAD * min(n)
            if device == "cpu":
                assert len(ch) * max(n) * width <= sweep.CPU_CHUNK_ELEMS

