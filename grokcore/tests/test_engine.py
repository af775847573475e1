"""Oracle tests of the batched engine.

- R runs trained in one batch give the same histories as the same R runs
  trained one at a time (every model family x every optimizer, full batch and
  minibatch), so batching never couples runs.
- One batched run follows torch.nn + torch.optim (the naive loop) step for step.
- A run that diverges is marked `diverged`; the runs beside it are untouched.
"""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from grokcore.engine import naive, tasks
from grokcore.engine.config import ModelSpec, OptimSpec, RunConfig
from grokcore.engine.train import train

FAMILIES = {"li2": "x2", "embed_mlp": "gelu", "mu_mlp": "relu", "transformer": "gelu"}


def _runs(family, opt, batch_size=0, steps=12):
    # three runs that differ in seed, split size, lr, weight decay and alpha
    rows = [(0, 0.3, 1e-2, 0.1, 0.0), (1, 0.6, 3e-3, 1.0, 0.5), (2, 0.5, 1e-3, 0.0, 0.25)]
    return [RunConfig(task="add", M=7, ratio=r, split_seed=s, seed=s, steps=steps, eval_every=4,
                      batch_size=batch_size,
                      model=ModelSpec(family=family, width=8, embed=4, heads=2, act=FAMILIES[family], alpha=al),
                      optim=OptimSpec(name=opt, lr=lr, weight_decay=wd, momentum=0.9 if opt == "sgd" else 0.0))
            for s, r, lr, wd, al in rows]


def _assert_same(h_batch, h_alone, rtol=2e-4, atol=1e-6, skip=()):
    for k, x in h_batch.metrics.items():
        if k.split("/")[-1].startswith(skip):
            continue
        np.testing.assert_allclose(x, h_alone.metrics[k], rtol=rtol, atol=atol, err_msg=f"metric {k}")
    for k, v in h_batch.summary.items():
        w = h_alone.summary[k]
        assert v == (pytest.approx(w, rel=rtol, abs=atol) if isinstance(w, float) else w), k


@pytest.mark.parametrize("opt", ["adam", "adamw", "sgd"])
@pytest.mark.parametrize("family", list(FAMILIES))
def test_batched_equals_separate(family, opt):
    cfgs = _runs(family, opt)
    batched = train(cfgs, early_stop=False).histories
    # Adam divides by sqrt(v): the attention key bias (in qkv_b) has an exactly
    # zero true gradient (softmax is shift invariant), so Adam amplifies its float
    # round-off into lr-sized steps that differ between batch layouts.
    skip = ("qkv_b",) if (family, opt) == ("transformer", "adam") else ()
    for c, hb in zip(cfgs, batched):
        _assert_same(hb, train([c], early_stop=False).histories[0], skip=skip)


def test_minibatch_batched_equals_separate():
    cfgs = _runs("embed_mlp", "adamw", batch_size=5)
    batched = train(cfgs, early_stop=False).histories
    for c, hb in zip(cfgs, batched):
        _assert_same(hb, train([c], early_stop=False).histories[0])


@pytest.mark.parametrize("opt", ["adam", "adamw", "sgd"])
@pytest.mark.parametrize("family", ["li2", "embed_mlp"])
def test_matches_torch_optim(family, opt):
    """The batched optimizer is torch.optim's arithmetic: same init, same data,
    same parameters after every step (checked on the final parameters)."""
    cfgs = _runs(family, opt, steps=10)
    res = train(cfgs, early_stop=False)
    for r, c in enumerate(cfgs):
        a, b, y = tasks.table(c.task, c.M)
        tr, _ = tasks.run_split(c.task, c.M, c.ratio, c.n_train, c.split_seed)
        net = naive.Net(c)
        opt_ = naive.make_optimizer(c, net.parameters())
        for _ in range(c.steps):
            opt_.zero_grad()
            torch.nn.functional.cross_entropy(net(a[tr], b[tr]), y[tr]).backward()
            opt_.step()
        for k, p in net.p.items():
            torch.testing.assert_close(res.params[k][r], p.detach(), rtol=1e-4, atol=1e-6, msg=f"{k} run {r}")


def test_divergence_is_marked_and_isolated():
    cfgs = _runs("li2", "sgd")
    bad = cfgs[0].replace(optim=OptimSpec(name="sgd", lr=1e12))
    res = train([bad] + cfgs[1:], early_stop=False).histories
    alone = train(cfgs[1:], early_stop=False).histories
    assert res[0].status == "diverged" and res[0].summary["generalized_step"] is None
    for hb, ha in zip(res[1:], alone):
        assert hb.status == "ok"
        _assert_same(hb, ha)


def test_continue_training_equals_one_long_run():
    """train(params=, opt_state=) continues exactly: 2 x 6 steps == 12 steps."""
    cfgs = _runs("embed_mlp", "adam", steps=12)
    full = train(cfgs, early_stop=False)
    half = [c.replace(steps=6) for c in cfgs]
    first = train(half, early_stop=False)
    second = train(half, params=first.params, opt_state=first.opt_state, early_stop=False)
    for k in full.params:
        torch.testing.assert_close(second.params[k], full.params[k], rtol=1e-5, atol=1e-7)


def test_continued_minibatch_training_with_start_step_equals_one_long_run():
    """Minibatch streams continue with start_step: 2 x 6 steps (start_step=6) == 12 steps;
    without it the second half re-draws the first half's minibatches."""
    cfgs = _runs("li2", "adam", batch_size=5, steps=12)
    full = train(cfgs, early_stop=False)
    half = [c.replace(steps=6) for c in cfgs]
    first = train(half, early_stop=False)
    second = train(half, params=first.params, opt_state=first.opt_state, early_stop=False, start_step=6)
    again = train(half, params=first.params, opt_state=first.opt_state, early_stop=False)
    torch.testing.assert_close(second.params["W"], full.params["W"], rtol=1e-5, atol=1e-7)
    assert not torch.allclose(again.params["W"], full.params["W"], rtol=1e-5, atol=1e-7)


def test_logged_metrics_shapes_and_checkpoints():
    cfgs = _runs("li2", "adam", steps=10)
    res = train(cfgs, early_stop=False, checkpoint_every=5)
    h = res.histories[0]
    assert list(h.metrics["step"]) == [0, 4, 8, 10]
    for k in ("train/acc", "test/acc", "norm/W", "delta/W", "rel_delta/W", "drift/W", "grad/W", "gf/norm", "grad/cos"):
        assert h.metrics[k].shape == (4,), k
    assert np.isfinite(h.metrics["delta/W"][:3]).all() and np.isfinite(h.metrics["grad/cos"]).all()
    # the last row has its gradient statistics; no update follows it, so no weight change
    assert np.isfinite(h.metrics["grad/W"][-1]) and np.isfinite(h.metrics["gf/norm"][-1])
    assert np.isnan(h.metrics["delta/W"][-1])
    assert [s for s, _ in res.checkpoints] == [0, 5, 10]
    assert res.checkpoints[0][1]["W"].shape == (3, 14, 8)


def test_known_grokking_run_end_to_end():
    """A real grokking run (embed_mlp, a+b mod 47, half the pairs, AdamW lr 1e-2,
    weight decay 1): memorizes within a few hundred steps, generalizes (seed 002
    rule) within 2500 steps, and training stops early once both runs have."""
    cfgs = [RunConfig(task="add", M=47, ratio=0.5, seed=s, split_seed=s, steps=4000, eval_every=25,
                      model=ModelSpec(family="embed_mlp", width=64, embed=32, act="relu"),
                      optim=OptimSpec(name="adamw", lr=1e-2, weight_decay=1.0)) for s in range(2)]
    for h in train(cfgs, check_every=4).histories:
        s = h.summary
        assert s["memorized_step"] is not None and s["memorized_step"] <= 300, s
        assert s["generalized_step"] is not None and s["generalized_step"] <= 2500, s
        assert s["generalized_step"] > s["memorized_step"], s  # delayed: memorize first
        assert s["final/test_acc"] >= 0.95 and h.metrics["step"][-1] < 4000, s


def test_batch_must_share_shapes():
    a, b = _runs("li2", "adam")[:2]
    with pytest.raises(ValueError, match="batch_key"):
        train([a, b.replace(M=11)])


@pytest.mark.parametrize("threads", [1, 2])
@settings(max_examples=25, deadline=None)
@given(R=st.integers(1, 6), V=st.integers(1, 70), C=st.integers(1, 80), B=st.integers(1, 1500),
       seed=st.integers(0, 2**31 - 1))
def test_gather_rows_equals_embedding_lookup_bit_for_bit(threads, R, V, C, B, seed):
    """models._gather_rows (index_select on CPU, for its faster backward) against the flat
    F.embedding lookup it replaced: the same rows, and the same gradient bit for bit (both add
    the rows of the output gradient into each table row in index order), at 1 and 2 threads
    (embedding's backward splits table rows across threads above 1000 indices)."""
    import torch.nn.functional as F

    from grokcore.engine import models
    g = torch.Generator().manual_seed(seed)
    table = torch.randn(R, V, C, generator=g)
    idx = torch.randint(0, V, (R, B), generator=g)
    grad_out = torch.randn(R, B, C, generator=g)
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        outs = []
        for lookup in (models._gather_rows,
                       lambda T, i: F.embedding(i + torch.arange(R)[:, None] * V, T.reshape(R * V, C))):
            T = table.clone().requires_grad_(True)
            y = lookup(T, idx)  # (R, B, C)
            (gT,) = torch.autograd.grad(y, T, grad_out)
            outs.append((y.detach(), gT))
    finally:
        torch.set_num_threads(old)
    assert outs[0][0].shape == (R, B, C)
    assert torch.equal(outs[0][0], table[torch.arange(R)[:, None], idx])
    assert torch.equal(outs[0][0], outs[1][0]) and torch.equal(outs[0][1], outs[1][1])
