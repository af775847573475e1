"""Tasks, splits and curricula (property tests), per-run optimizer settings,
and clear errors for impossible requests."""
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from grokcore.engine import tasks
from grokcore.engine.config import ModelSpec, OptimSpec, RunConfig
from grokcore.engine.optim import BatchedOptimizer

small_M = st.integers(min_value=2, max_value=40)


@settings(max_examples=40, deadline=None)
@given(M=small_M, frac=st.floats(0.01, 0.99), seed=st.integers(0, 2**31 - 1))
def test_split_sizes_disjoint_and_deterministic(M, frac, seed):
    N = M * M
    n = min(max(1, round(frac * N)), N - 1)
    tr, te = tasks.split(N, n, seed)
    assert tr.numel() == n and te.numel() == N - n
    assert set(tr.tolist()).isdisjoint(te.tolist())
    assert sorted(tr.tolist() + te.tolist()) == list(range(N))
    tr2, _ = tasks.split(N, n, seed)
    assert torch.equal(tr, tr2)


@settings(max_examples=30, deadline=None)
@given(M=st.integers(8, 40), seed=st.integers(0, 1000), rs=st.lists(st.integers(1, 8), min_size=2, max_size=4))
def test_curriculum_stages_are_nested(M, seed, rs):
    a, b, _ = tasks.table("add", M)
    tr, _ = tasks.split(M * M, M * M // 2, seed)
    stages = [set(tasks.curriculum_subset(a, b, tr, r).tolist()) for r in sorted(rs)]
    for small, big in zip(stages, stages[1:]):
        assert small <= big
    for i in stages[0]:
        assert a[i] < min(rs) and b[i] < min(rs)


@pytest.mark.parametrize("task,M", [("add", 7), ("sub", 7), ("mul", 7), ("div", 7), ("x2y2", 6), ("x2xyy2", 5)])
def test_tables_match_python_arithmetic(task, M):
    a, b, y = tasks.table(task, M)
    ref = {"add": lambda i, j: (i + j) % M, "sub": lambda i, j: (i - j) % M, "mul": lambda i, j: (i * j) % M,
           "div": lambda i, j: (i * pow(j, M - 2, M)) % M, "x2y2": lambda i, j: (i * i + j * j) % M,
           "x2xyy2": lambda i, j: (i * i + i * j + j * j) % M}[task]
    assert a.numel() == tasks.n_pairs(task, M)
    assert all(int(yy) == ref(int(i), int(j)) for i, j, yy in zip(a, b, y))
    if task == "div":
        assert all(((int(yy) * int(j)) % M) == int(i) for i, j, yy in zip(a, b, y))


@pytest.mark.parametrize("call,match", [
    (lambda: tasks.table("add", 1), "M must be >= 2"),
    (lambda: tasks.table("pow", 7), "unknown task"),
    (lambda: tasks.table("div", 8), "not prime"),
    (lambda: tasks.split_size(49, ratio=1.0), r"ratio must lie in \(0, 1\)"),
    (lambda: tasks.split_size(49, ratio=0.0), r"ratio must lie in \(0, 1\)"),
    (lambda: tasks.split_size(49, n_train=49), "n_train"),
    (lambda: tasks.split_size(49, n_train=100), "n_train"),
    (lambda: tasks.run_split("add", 7, 0.5, None, 0, curriculum=9), "exceeds modulus"),
    (lambda: RunConfig(ratio=0.5, n_train=10), "exactly one"),
    (lambda: RunConfig(loss="hinge"), "loss"),
    (lambda: ModelSpec(family="cnn"), "model family"),
    (lambda: ModelSpec(act="tanh"), "activation"),
    (lambda: ModelSpec(family="transformer", width=10, heads=4), "divisible"),
    (lambda: OptimSpec(name="lion"), "optimizer"),
    (lambda: OptimSpec(lr=0.0), "lr > 0"),
])
def test_bad_inputs_give_clear_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_config_key_is_stable_and_sensitive():
    c = RunConfig()
    assert c.key == RunConfig().key == RunConfig.from_dict(c.to_dict()).key
    assert c.key != c.replace(seed=1).key
    assert c.batch_key == c.replace(seed=1, optim=OptimSpec(lr=0.1)).batch_key
    assert c.batch_key != c.replace(M=11).batch_key


@settings(max_examples=25, deadline=None)
@given(name=st.sampled_from(["adam", "adamw", "sgd"]),
       lrs=st.lists(st.floats(1e-4, 1e-1), min_size=3, max_size=3),
       wds=st.lists(st.sampled_from([0.0, 0.1, 1.0]), min_size=3, max_size=3))
def test_per_run_hyperparameters_act_per_run(name, lrs, wds):
    """Run r of a batch moves exactly as a lone optimizer with run r's settings."""
    g = torch.Generator().manual_seed(0)
    p0 = torch.randn(3, 4, 5, generator=g)
    grads = [torch.randn(3, 4, 5, generator=g) for _ in range(3)]
    specs = [OptimSpec(name=name, lr=lr, weight_decay=wd, momentum=0.5) for lr, wd in zip(lrs, wds)]
    P = {"w": p0.clone()}
    opt = BatchedOptimizer(P, specs)
    for gr in grads:
        opt.step(P, {"w": gr})
    for r, s in enumerate(specs):
        Q = {"w": p0[r:r + 1].clone()}
        solo = BatchedOptimizer(Q, [s])
        for gr in grads:
            solo.step(Q, {"w": gr[r:r + 1]})
        torch.testing.assert_close(P["w"][r], Q["w"][0])


def test_optimizer_batch_must_share_algorithm():
    with pytest.raises(ValueError, match="share optimizer"):
        BatchedOptimizer({"w": torch.zeros(2, 3)}, [OptimSpec(name="adam"), OptimSpec(name="sgd")])
