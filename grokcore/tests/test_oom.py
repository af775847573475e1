"""OOM fallback (grokcore.engine.oom) in sweep.run, trajectory.run (sweep.run's chunk hook) and the LLC batch.

An out-of-memory error is simulated by raising torch.OutOfMemoryError from the first
attempt on more than one item. Checked: the results equal those without OOM (the same
halves trained directly: exactly; the whole batch: to the batched-vs-separate tolerance
of test_engine), and the failed attempt's tensors are dead *before* the retry starts
(a weakref to a tensor made in the failing frame), not merely after it.
"""
from __future__ import annotations

import weakref

import numpy as np
import pytest
import torch

from grokcore.engine import llc, oom, sweep, trajectory
from grokcore.engine.config import ModelSpec, OptimSpec, RunConfig
from grokcore.engine.llc import SGLDConfig, estimate_llc, expand_chains

OOM = oom.OOM_ERRORS[0]
BASE = RunConfig(task="add", M=7, ratio=0.5, steps=6, eval_every=3,
                 model=ModelSpec(family="li2", width=8), optim=OptimSpec(name="adam", lr=1e-2))


def test_oom_error_is_torchs():
    assert issubclass(torch.cuda.OutOfMemoryError, OOM) and issubclass(OOM, RuntimeError)


class FailOnce:
    """Wraps fn: the first call on more than one item makes a tensor in its own frame and
    raises OOM; every later call records whether that tensor is still alive."""

    def __init__(self, fn, size_of=lambda items, *rest: len(items)):
        self.fn, self.size_of = fn, size_of
        self.ref, self.failed, self.alive_at_retry, self.sizes = None, False, [], []

    def __call__(self, *args, **kwargs):
        n = self.size_of(*args)
        self.sizes.append(n)
        if not self.failed and n > 1:
            self.failed = True
            big = torch.ones(1000)  # held by this frame, hence by the traceback
            self.ref = weakref.ref(big)
            raise OOM(f"CUDA out of memory (simulated, {n} items)")
        self.alive_at_retry.append(self.ref is not None and self.ref() is not None)
        return self.fn(*args, **kwargs)

    def check(self):
        assert self.failed, "the simulated OOM never fired"
        assert self.alive_at_retry and not any(self.alive_at_retry), "failed attempt still alive at the retry"
        assert self.ref() is None


def _same(h1, h2, exact=True):
    assert h1.config == h2.config and h1.status == h2.status
    assert set(h1.metrics) == set(h2.metrics)
    for k in h1.metrics:
        if exact:
            np.testing.assert_array_equal(h1.metrics[k], h2.metrics[k], err_msg=k)
        else:
            np.testing.assert_allclose(h1.metrics[k], h2.metrics[k], rtol=2e-4, atol=1e-6, err_msg=k)


def test_split_on_oom_halves_and_reraises_single_items():
    calls = []

    def fn(items):
        calls.append(list(items))
        if len(items) > 1:
            raise OOM("simulated")
        return [x * 10 for x in items]

    assert oom.split_on_oom(fn, [1, 2, 3]) == [10, 20, 30]
    assert calls == [[1, 2, 3], [1], [2, 3], [2], [3]]
    with pytest.raises(OOM):
        oom.split_on_oom(lambda items: (_ for _ in ()).throw(OOM("one")), [1])
    with pytest.raises(ValueError):  # other errors are not caught
        oom.split_on_oom(lambda items: (_ for _ in ()).throw(ValueError("x")), [1, 2])


def test_sweep_recovers_from_oom(monkeypatch):
    cfgs = sweep.grid(BASE, seed=range(4))
    whole = sweep.run(cfgs, save_params=("W",))
    halves = sweep.run(cfgs, save_params=("W",), max_batch=2)  # the split the fallback makes
    fake = FailOnce(sweep.train)
    monkeypatch.setattr(sweep, "train", fake)
    n_events = len(oom.EVENTS)
    got = sweep.run(cfgs, save_params=("W",))
    fake.check()
    assert fake.sizes == [4, 2, 2] and len(oom.EVENTS) == n_events + 1
    for g, h, w in zip(got, halves, whole):
        _same(g, h)
        _same(g, w, exact=False)


def test_trajectory_recovers_from_oom(monkeypatch):
    """trajectory.run trains through sweep.run's train_chunk hook, which has the same fallback."""
    base = RunConfig(M=7, ratio=0.6, model=ModelSpec(family="mu_mlp", width=8, act="relu"),
                     optim=OptimSpec(name="adamw", lr=1e-2, weight_decay=1.0), steps=10, eval_every=5)
    cfgs = [base.replace(seed=s, split_seed=s) for s in range(4)]
    halves = trajectory.run(cfgs, order_every=5, max_batch=2)
    fake = FailOnce(trajectory.train)
    monkeypatch.setattr(trajectory, "train", fake)
    got = trajectory.run(cfgs, order_every=5)
    fake.check()
    assert fake.sizes == [4, 2, 2]
    for g, h in zip(got, halves):
        _same(g, h)
        assert "order/rqi" in g.metrics


def _llc_problem(R=4, C=2, rows_kw=True):
    """R quadratic models with per-model curvature (expanded to R·C rows, sliced by `rows`)."""
    scale = torch.linspace(1.0, 2.0, R)
    (scale_c,) = expand_chains([scale], C)

    def loss(ps, draw, rows=slice(None)):
        return scale_c[rows] * ps[0].pow(2).sum(1) + 0.1 * ps[1].pow(2).sum((1, 2))

    def plain(ps, draw):
        return loss(ps, draw)

    params = [torch.randn(R, 3, generator=torch.Generator().manual_seed(0)),
              torch.randn(R, 2, 2, generator=torch.Generator().manual_seed(1))]
    return (loss if rows_kw else plain), params


def test_llc_recovers_from_oom_with_identical_results(monkeypatch):
    cfg = SGLDConfig(step=1e-2, chains=2, draws=30, burnin=5, seed=3)
    loss, params = _llc_problem(R=5, C=cfg.chains)
    want = estimate_llc(loss, params, cfg)
    fake = FailOnce(llc._run_chains, size_of=lambda loss_fn, ps, *rest: ps[0].shape[0])
    monkeypatch.setattr(llc, "_run_chains", fake)
    got = estimate_llc(loss, params, cfg)
    fake.check()
    assert fake.sizes == [5, 2, 3]
    assert set(got) == set(want)
    for k in want:
        assert got[k].device.type == "cpu" and got[k].shape == want[k].shape, k
        torch.testing.assert_close(got[k], want[k], rtol=0, atol=0, equal_nan=True, msg=k)


def test_llc_without_rows_keyword_reraises_oom(monkeypatch):
    cfg = SGLDConfig(chains=2, draws=3)
    loss, params = _llc_problem(rows_kw=False)

    def failing(*a, **k):
        raise OOM("simulated")

    monkeypatch.setattr(llc, "_run_chains", failing)
    with pytest.raises(OOM):
        estimate_llc(loss, params, cfg)


def test_checkpoint_llc_recovers_from_oom_with_identical_results(monkeypatch):
    """staged.checkpoint_llc's loss takes `rows`, so its LLC batch splits on OOM, bit for bit."""
    from grokcore.engine import staged
    from grokcore.engine.config import ModelSpec, OptimSpec, RunConfig
    from grokcore.engine.models import init_params

    base = RunConfig(task="add", M=11, ratio=0.5, model=ModelSpec(family="embed_mlp", width=16, embed=4, act="gelu"),
                     optim=OptimSpec(name="adam", lr=1e-2), steps=10)
    items = [(base.replace(seed=s, split_seed=s), init_params(base.model, 11, torch.Generator().manual_seed(s)))
             for s in range(4)]
    cfg = SGLDConfig(step=1e-3, chains=2, draws=8, seed=1)
    want = staged.checkpoint_llc(items, cfg, batch_size=16)
    fake = FailOnce(llc._run_chains, size_of=lambda loss_fn, ps, *rest: ps[0].shape[0])
    monkeypatch.setattr(llc, "_run_chains", fake)
    got = staged.checkpoint_llc(items, cfg, batch_size=16)
    fake.check()
    for k in want:
        np.testing.assert_array_equal(got[k], want[k], err_msg=k)
