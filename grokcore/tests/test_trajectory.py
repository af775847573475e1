"""Tests for grokcore.engine.trajectory: full-length runs, order parameters on checkpoints, caching."""
import numpy as np
import pytest
import torch

from grokcore.engine import models, orderparams, tasks, trajectory
from grokcore.engine.config import ModelSpec, OptimSpec, RunConfig
from grokcore.engine.store import Store


def _cfgs(n=2, steps=20, family="mu_mlp", width=8):
    base = RunConfig(M=7, ratio=0.6, model=ModelSpec(family=family, width=width, act="relu" if family != "transformer" else "gelu"),
                     optim=OptimSpec(name="adamw", lr=1e-2, weight_decay=1.0), steps=steps, eval_every=5)
    return [base.replace(seed=s, split_seed=s) for s in range(n)]


def test_full_length_and_order_keys():
    cfgs = _cfgs()
    hs = trajectory.run(cfgs, order_every=10)
    for h in hs:
        assert h.metrics["step"][-1] == 20, "history must span the whole budget (no early stop)"
        np.testing.assert_array_equal(h.metrics["order/step"], [0, 10, 20])
        for k in trajectory.ORDER_KEYS:
            assert h.metrics[k].shape == (3,) and np.isfinite(h.metrics[k]).all(), k


def test_order_parameters_match_direct_call():
    """Batched (checkpoint x run) evaluation equals order_parameters on one run's checkpoint."""
    from grokcore.engine.train import train
    cfgs = _cfgs()
    res = train(cfgs, early_stop=False, checkpoint_every=10)
    got = trajectory.order_parameters_along(cfgs, res.checkpoints)
    step, P = res.checkpoints[1]
    r = 1
    c = cfgs[r]
    a, b, y = tasks.table(c.task, c.M)
    te = tasks.run_split(c.task, c.M, c.ratio, c.n_train, c.split_seed)[1]
    Pr = {k: v[r:r + 1] for k, v in P.items()}
    _, H = models.forward(c.model, Pr, a[te][None], b[te][None], torch.tensor([c.model.alpha]))
    want = orderparams.order_parameters(Pr["W1"][:, :c.M], Pr["W1"], H, y[te], c.M)
    for k in trajectory.ORDER_KEYS:
        assert got[k][1, r] == pytest.approx(float(want[k][0]), rel=1e-5, abs=1e-7), k


def test_transformer_order_parameters_run():
    cfgs = _cfgs(n=2, steps=10, family="transformer", width=8)
    hs = trajectory.run(cfgs, order_every=5)
    assert all(np.isfinite(h.metrics["order/eff_rank"]).all() for h in hs)


def test_cache_reused_and_upgraded(tmp_path, monkeypatch):
    cfgs = _cfgs(n=1)
    with Store(tmp_path / "s.sqlite") as st:
        h1 = trajectory.run(cfgs, store=st)[0]
        assert "order/step" not in h1.metrics

        def boom(*a, **k):
            raise AssertionError("retrained a cached run")

        monkeypatch.setattr(trajectory, "train", boom)
        h2 = trajectory.run(cfgs, store=st)[0]
        np.testing.assert_array_equal(h1.metrics["test/acc"], h2.metrics["test/acc"])
        monkeypatch.undo()
        h3 = trajectory.run(cfgs, store=st, order_every=10)[0]  # asks for more: retrains, replaces
        assert "order/rqi" in h3.metrics
        np.testing.assert_allclose(h3.metrics["test/acc"], h1.metrics["test/acc"])
        monkeypatch.setattr(trajectory, "train", boom)
        assert "order/rqi" in trajectory.run(cfgs, store=st)[0].metrics  # superset satisfies a plain request
