"""The GPU-ready step: metric selection (and its cache-key compatibility), static step buffers,
eval chunk sizing, the flat optimizer path, torch.compile and the CUDA-graph fallback (CPU)."""
from __future__ import annotations

import shutil
import warnings

import numpy as np
import pytest
import torch

from grokcore.engine import models, train as T
from grokcore.engine.config import METRICS, ModelSpec, OptimSpec, RunConfig
from grokcore.engine.optim import BatchedOptimizer
from grokcore.tests.data.make_engine_ref import ref_batches

# Keys computed on main (commit c72d971) before RunConfig.metrics existed: the compatibility
# oracle. A default config's key (the store's primary key) must never change.
MAIN_KEYS = {
    "default": "29b0ebc1641da1f1756417b006492330",
    "li2_adam": "8043466bfa3539108bbbd039210a6aed",
    "li2_sgd": "813650d5ef2b9e2b97761ac7be5d03b5",
    "transformer_adamw": "9bb0c05f1aa052b37aad6aae94722dd5",
    "mu_mlp_mse": "4bb79e6ec512e5de2043928be6abd92b",
    "embed_mlp_adam": "cb4b0381f7d8417e4726eba4b3564b5f",
}


def _cfgs(name: str, **kw) -> list[RunConfig]:
    return [c.replace(**kw) for c in ref_batches()[name]]


def test_default_keys_unchanged():
    assert RunConfig().key == MAIN_KEYS["default"]
    for name, cfgs in ref_batches().items():
        assert cfgs[0].key == MAIN_KEYS[name], name
    assert "metrics" not in RunConfig().to_dict()


def test_metrics_field_changes_key_and_batch_key():
    c = RunConfig()
    sel = c.replace(metrics=("grad", "norm"))
    assert sel.metrics == ("norm", "grad")  # canonical order: one key per selection
    assert sel.key != c.key and sel.key == c.replace(metrics=["grad", "norm"]).key
    assert sel.batch_key != c.batch_key
    assert RunConfig.from_dict(sel.to_dict()) == sel and RunConfig.from_dict(c.to_dict()) == c
    assert c.replace(metrics=METRICS).key == c.key
    with pytest.raises(ValueError, match="metrics"):
        RunConfig(metrics=("grad", "hessian"))
    with pytest.raises(ValueError, match="metrics"):
        RunConfig(metrics=("grad", "grad"))


@pytest.mark.parametrize("name", ["li2_adam", "transformer_adamw", "embed_mlp_adam"])
def test_unselected_metrics_are_not_computed_and_the_rest_is_equal(name):
    with T.torch_threads(1):
        full = T.train(_cfgs(name), early_stop=False).histories
        none = T.train(_cfgs(name, metrics=()), early_stop=False).histories
        some = T.train(_cfgs(name, metrics=("grad", "gf")), early_stop=False).histories
    base = {"step", "train/loss", "train/acc", "test/loss", "test/acc"}
    assert set(none[0].metrics) == base
    assert set(some[0].metrics) == base | {"gf/norm"} | {k for k in full[0].metrics if k.startswith("grad/")} - {"grad/cos"}
    for f, n, s in zip(full, none, some):
        for k, v in n.metrics.items():
            assert np.array_equal(v, f.metrics[k], equal_nan=True), k
        for k, v in s.metrics.items():
            assert np.array_equal(v, f.metrics[k], equal_nan=True), k


def test_no_per_step_full_or_arange(monkeypatch):
    """torch.full / torch.arange calls do not grow with the number of steps (minibatch and full batch)."""
    calls = {"n": 0}
    for fn in ("full", "arange"):
        orig = getattr(torch, fn)

        def counted(*a, _orig=orig, **kw):
            calls["n"] += 1
            return _orig(*a, **kw)
        monkeypatch.setattr(torch, fn, counted)
    counts = {}
    for name in ("li2_sgd", "li2_adam"):  # minibatch, full batch
        for steps in (10, 40):
            models._row_offsets.cache_clear()
            calls["n"] = 0
            T.train(_cfgs(name, steps=steps, eval_every=10), early_stop=False)
            counts[name, steps] = calls["n"]
        assert counts[name, 40] - counts[name, 10] <= 3 * 3, counts  # only the log buffers of 3 more evals


def test_eval_chunk_cpu_unchanged():
    spec = ModelSpec(family="li2", width=128)
    assert T.eval_chunk(16, spec, 71, "cpu") == (1 << 24) // (16 * 512)
    assert T.eval_chunk(64, ModelSpec(family="li2", width=8), 97, "cpu", 1 << 20) == (1 << 20) // (64 * 97)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_eval_chunk_cuda_from_free_memory():
    spec = ModelSpec(family="li2", width=512)
    c = T.eval_chunk(64, spec, 97, "cuda")
    free, _ = torch.cuda.mem_get_info()
    assert 1 <= c <= 97 * 97 and c * 64 * 4 * models.activation_floats(spec, 97) <= free


@pytest.mark.parametrize("name", ["li2_adam", "li2_sgd", "transformer_adamw", "mu_mlp_mse"])
def test_flat_optimizer_matches_per_parameter(name):
    """Same formulas on one (R, D) tensor: equal to the per-parameter path to float rounding."""
    with T.torch_threads(1):
        a = T.train(_cfgs(name), early_stop=False, flat_optim=False)
        b = T.train(_cfgs(name), early_stop=False, flat_optim=True)
    for k in a.params:
        torch.testing.assert_close(b.params[k], a.params[k], rtol=1e-5, atol=1e-6)
    for ha, hb in zip(a.histories, b.histories):
        np.testing.assert_allclose(hb.metrics["train/loss"], ha.metrics["train/loss"], rtol=1e-5, atol=1e-7)
    sa, sb = a.opt_state, b.opt_state  # same state_dict layout on both paths
    assert sa["t"] == sb["t"] and sa["state"].keys() == sb["state"].keys()
    for k in sa["state"]:
        for n in sa["state"][k]:
            assert sb["state"][k][n].shape == sa["state"][k][n].shape
            torch.testing.assert_close(sb["state"][k][n], sa["state"][k][n], rtol=1e-4, atol=1e-7)


def test_flat_optimizer_state_round_trip():
    P = models.stack_params([models.init_params(ModelSpec(family="li2", width=8, depth=2), 5,
                                                torch.Generator().manual_seed(s)) for s in range(3)], "cpu")
    opt = BatchedOptimizer(P, [OptimSpec()] * 3, flat=True)
    G = {k: torch.randn(v.shape, generator=torch.Generator().manual_seed(1)) for k, v in P.items()}
    opt.step(P, G)
    sd = opt.state_dict()
    fresh = BatchedOptimizer(P, [OptimSpec()] * 3, flat=True)
    fresh.load_state_dict(sd)
    assert fresh.t == 1
    for k in sd["state"]:
        for n in sd["state"][k]:
            assert torch.equal(fresh.state_dict()["state"][k][n], sd["state"][k][n])
    assert sd["state"]["W"]["v"].abs().sum() > 0


def test_cuda_graph_falls_back_on_cpu_with_a_warning():
    cfgs = _cfgs("li2_adam", steps=8, eval_every=4)
    with T.torch_threads(1):
        eager = T.train(cfgs, early_stop=False)
        with pytest.warns(T.CudaGraphFallback, match="CUDA"):
            graph = T.train(cfgs, "cpu", early_stop=False, cuda_graph=True)
    for a, b in zip(eager.histories, graph.histories):  # the fallback is the eager step, exactly
        for k in a.metrics:
            assert np.array_equal(a.metrics[k], b.metrics[k], equal_nan=True), k


def _have_cxx() -> bool:
    return any(shutil.which(c) for c in ("g++", "c++", "clang++"))


@pytest.mark.skipif(not _have_cxx(), reason="torch inductor needs a C++ compiler on CPU; none found")
def test_compiled_step_equals_eager():
    """compile=True (torch.compile of the step's forward + loss and the optimizer update) trains
    the same runs as the eager step. Not bit-identical (inductor fuses and reorders float ops), so:
    final parameters and every loss/accuracy curve within rtol 1e-4 after 12 steps."""
    cfgs = _cfgs("li2_adam", steps=12, eval_every=4)
    with T.torch_threads(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        eager = T.train(cfgs, early_stop=False)
        comp = T.train(cfgs, early_stop=False, compile=True)
    for k in eager.params:
        torch.testing.assert_close(comp.params[k], eager.params[k], rtol=1e-4, atol=1e-6)
    for a, b in zip(eager.histories, comp.histories):
        for k in ("train/loss", "test/loss", "train/acc", "test/acc", "grad/W"):
            np.testing.assert_allclose(b.metrics[k], a.metrics[k], rtol=1e-4, atol=1e-6, err_msg=k)
