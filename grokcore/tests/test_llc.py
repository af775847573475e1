"""Tests of the batched SGLD local-learning-coefficient estimator.

λ and its multiplicity m are defined by the volume scaling
vol{w near w* : L(w) − L(w*) < t} ~ c t^λ (−log t)^(m−1) as t → 0.
Known values (devinterp style, tests/slt/sampler_accuracy_test.py): for a sum of
normal-crossing monomials L(w) = Σ_j c_j Π_i w_i^{2 k_ji} at w* = 0, each monomial
contributes λ = 1/(2 max_i k_ji), with multiplicity m = #{i : k_ji = max k_j};
monomials on disjoint coordinates add their λ (a regular quadratic in d
coordinates has λ = d/2, m = 1; w1²w2² has λ = 1/2, m = 2). Coordinates that no
monomial touches add nothing, so every case lives in R^4 and all are estimated in
one batched call.

Two oracles per case: the asymptotic λ, and the exact mean E_p[nβ L] of the
localized tempered posterior at the test's (nβ, γ) by quadrature — the quantity
SGLD targets; the two differ by the finite-nβ bias (largest at m = 2, where it is
the −(m−1)/log nβ correction).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import pytest
import torch

from grokcore.engine.llc import SGLDConfig, _run_chains, estimate_llc, expand_chains

Exps = tuple[int, int, int, int]


@dataclass(frozen=True)
class Case:
    name: str
    terms: tuple[tuple[float, Exps], ...]  # L(w) = Σ c · Π_i w_i^(2 k_i)
    lam: float  # learning coefficient at w* = 0
    mult: int  # its multiplicity
    rel_tol: float  # allowed |λ̂ − λ| / λ at TABLE_CFG


def _quad(cs: tuple[float, ...]) -> tuple[tuple[float, Exps], ...]:
    return tuple((c, tuple(int(i == j) for j in range(4))) for i, c in enumerate(cs))


# rel_tol = the finite-(nβ, γ) bias seen in the exact posterior mean at TABLE_CFG
# (≤ 3% for most m = 1 cases, 10% for w1²w2⁴; 25% for w1²w2², the −(m−1)/log nβ
# term of multiplicity 2) plus ~4 standard errors of the estimate.
CASES = [
    Case("w1^2 (d=1)", _quad((1.0,)), 0.5, 1, 0.2),
    Case("w1^2+w2^2 (d=2)", _quad((1.0, 1.0)), 1.0, 1, 0.2),
    Case("sum w_i^2 (d=4)", _quad((1.0, 1.0, 1.0, 1.0)), 2.0, 1, 0.2),
    Case("sum c_i w_i^2 (d=4, c=1/4..2)", _quad((0.25, 0.5, 1.0, 2.0)), 2.0, 1, 0.2),
    Case("w1^4", ((1.0, (2, 0, 0, 0)),), 1 / 4, 1, 0.2),
    Case("w1^6", ((1.0, (3, 0, 0, 0)),), 1 / 6, 1, 0.2),
    Case("w1^4+w2^2", ((1.0, (2, 0, 0, 0)), (1.0, (0, 1, 0, 0))), 3 / 4, 1, 0.2),
    Case("w1^2 w2^4", ((1.0, (1, 2, 0, 0)),), 1 / 4, 1, 0.3),
    Case("w1^2 w2^2", ((1.0, (1, 1, 0, 0)),), 1 / 2, 2, 0.4),
]
BY_NAME = {c.name: c for c in CASES}
# γ small and nβ/γ large for λ̂ ≈ λ; ε = 1e-3 keeps SGLD's step bias (≈ εH/4 for
# curvature H = 2nβc + γ) ≤ 3%; 1000 burn-in steps ≈ the 2/(εγ) relaxation time of
# the flat directions; 64 chains are nearly free since the loop is launch-bound.
TABLE_CFG = SGLDConfig(step=1e-3, nbeta=30.0, gamma=0.3, chains=64, draws=4000,
                       burnin=1000, seed=0)
STEP_BIAS = 0.03


def polynomial_loss(cases: list[Case], chains: int):
    """Batched loss_fn: row r·C + c evaluates case r's polynomial on w = cat(ps)."""
    J = max(len(c.terms) for c in cases)
    coef = torch.zeros(len(cases), J)  # (R, J) zero-padded terms
    exps = torch.zeros(len(cases), J, 4)  # (R, J, 4)
    for r, case in enumerate(cases):
        for j, (c, k) in enumerate(case.terms):
            coef[r, j], exps[r, j] = c, torch.tensor(k, dtype=torch.float32)
    coef, exps = expand_chains([coef, 2 * exps], chains)  # (R*C, J), (R*C, J, 4)

    def loss_fn(ps: list[torch.Tensor], draw: int) -> torch.Tensor:
        w = torch.cat([p.flatten(1) for p in ps], 1)  # (R*C, 4)
        return (coef * (w[:, None, :] ** exps).prod(-1)).sum(-1)  # (R*C,)

    return loss_fn


def posterior_mean(case: Case, nbeta: float, gamma: float) -> float:
    """E_p[nβ L], p ∝ exp(−nβ L − γ/2 |w|²), by quadrature (terms on disjoint coords)."""
    supports = [{i for i, k in enumerate(e) if k} for _, e in case.terms]
    assert sum(map(len, supports)) == len(set().union(*supports)), "terms must not overlap"
    return sum(_term_mean(c, tuple(k for k in e if k), nbeta, gamma) for c, e in case.terms)


def _term_mean(c: float, ks: tuple[int, ...], nbeta: float, gamma: float) -> float:
    # Even integrand: integrate w ≥ 0 on a sinh grid, dense near the singularity.
    n = 2001 if len(ks) == 1 else 401
    u = torch.linspace(0.0, math.asinh(10 / math.sqrt(gamma) / 1e-3), n, dtype=torch.float64)
    w, jac = 1e-3 * torch.sinh(u), 1e-3 * torch.cosh(u)  # (n,)
    grid = torch.meshgrid(*[w] * len(ks), indexing="ij")
    f = nbeta * c * math.prod(x ** (2 * k) for x, k in zip(grid, ks))  # (n,)*len(ks)
    dens = torch.exp(-f - gamma / 2 * sum(x ** 2 for x in grid))
    dens = dens * math.prod(torch.meshgrid(*[jac] * len(ks), indexing="ij"))
    num, den = f * dens, dens
    for _ in ks:
        num, den = torch.trapezoid(num, u), torch.trapezoid(den, u)
    return float(num / den)


@pytest.fixture(scope="module")
def table() -> dict[str, tuple[float, float]]:
    """All cases in ONE batched call: name → (λ̂, standard error over chains)."""
    params = [torch.zeros(len(CASES), 1), torch.zeros(len(CASES), 3)]  # two tensors, R^4
    out = estimate_llc(polynomial_loss(CASES, TABLE_CFG.chains), params, TABLE_CFG)
    se = out["llc/std"] / math.sqrt(TABLE_CFG.chains)
    return {c.name: (out["llc/mean"][r].item(), se[r].item()) for r, c in enumerate(CASES)}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_known_learning_coefficient(table, case):
    est, se = table[case.name]
    rel = abs(est - case.lam) / case.lam
    assert rel < case.rel_tol, (
        f"{case.name}: λ̂ = {est:.4f} ± {se:.4f}, true λ = {case.lam:.4f} (m = {case.mult}), "
        f"relative error {rel:.1%} > {case.rel_tol:.0%}")


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_matches_localized_posterior(table, case):
    est, se = table[case.name]
    exact = posterior_mean(case, TABLE_CFG.nbeta, TABLE_CFG.gamma)
    band = 4 * se + STEP_BIAS * exact
    assert abs(est - exact) < band, (
        f"{case.name}: λ̂ = {est:.4f} ± {se:.4f}, exact E_p[nβ L] = {exact:.4f}, "
        f"|diff| = {abs(est - exact):.4f} > band {band:.4f}")


@pytest.mark.parametrize("singular, regular", [
    ("w1^4", "w1^2 (d=1)"), ("w1^6", "w1^4"),
    ("w1^2 w2^2", "w1^2+w2^2 (d=2)"), ("w1^2 w2^4", "w1^2 w2^2"),
])
def test_more_singular_is_smaller(table, singular, regular):
    (a, sa), (b, sb) = table[singular], table[regular]
    assert a + 3 * math.hypot(sa, sb) < b, (
        f"expected λ̂({singular}) = {a:.4f} ± {sa:.4f} < λ̂({regular}) = {b:.4f} ± {sb:.4f}")


def test_scales_with_dimension(table):
    """Regular quadratics of dimension d = 1, 2, 4 in one batch: λ̂ ∝ d."""
    base = table["w1^2 (d=1)"][0]
    for name, d in [("w1^2+w2^2 (d=2)", 2), ("sum w_i^2 (d=4)", 4)]:
        ratio = table[name][0] / base
        assert abs(ratio / d - 1) < 0.1, f"λ̂(d={d}) / λ̂(d=1) = {ratio:.3f}, expected {d}"


def test_update_rule_matches_discrete_stationary_mean():
    """Exact oracle for the update w ← w − (ε/2)(nβ ∇L + γ w) + N(0, ε) on
    L = c|w|²: the chain is a discrete OU process with stationary variance
    1/(a (1 − εa/4)), a = 2nβc + γ, so E[nβ L] = d nβ c / (a (1 − εa/4)). Large εa
    makes this differ from the continuous posterior (×4/3 … ×4), so a wrong noise
    scale, drift factor, nβ or γ cannot pass."""
    cfg = SGLDConfig(step=0.04, nbeta=10.0, gamma=5.0, chains=64, draws=1000, burnin=100)
    c = torch.tensor([0.25, 1.0, 2.0, 3.5])  # εa = 0.4, 1.0, 1.8, 3.0
    cc = expand_chains([c], cfg.chains)[0]  # (R*C,)
    params = [torch.zeros(4, 1), torch.zeros(4, 2, 1)]  # d = 3 over two tensors

    def loss_fn(ps, draw):
        return cc * sum(p.flatten(1).pow(2).sum(1) for p in ps)  # (R*C,)

    out = estimate_llc(loss_fn, params, cfg)
    a = 2 * cfg.nbeta * c + cfg.gamma
    exact = 3 * cfg.nbeta * c / (a * (1 - cfg.step * a / 4))
    se = out["llc/std"] / math.sqrt(cfg.chains)
    assert ((out["llc/mean"] - exact).abs() < 4 * se).all(), (
        f"measured {out['llc/mean'].tolist()} ± {se.tolist()}, exact {exact.tolist()}")


def test_replicas_are_independent_and_match_a_separate_run():
    """One model repeated R times in a batch: the spread of the R estimates matches
    the per-chain std / √C (shared noise would give ~0 spread), and their mean matches
    the same model estimated alone (cross-model coupling would shift it)."""
    case, R = BY_NAME["w1^4"], 16
    cfg = SGLDConfig(step=1e-3, nbeta=30.0, gamma=1.0, chains=4, draws=800, burnin=200)
    batch = estimate_llc(polynomial_loss([case] * R, cfg.chains),
                         [torch.zeros(R, 4)], cfg)
    spread = batch["llc/mean"].std().item()
    expected = (batch["llc/std"].pow(2).mean().sqrt() / math.sqrt(cfg.chains)).item()
    assert 0.45 < spread / expected < 1.75, (
        f"spread of replica estimates {spread:.4f} vs per-chain std/√C {expected:.4f}")

    alone_cfg = dataclasses.replace(cfg, chains=32, seed=1)
    alone = estimate_llc(polynomial_loss([case], alone_cfg.chains), [torch.zeros(1, 4)], alone_cfg)
    m_b, se_b = batch["llc/chains"].mean().item(), batch["llc/chains"].std().item() / math.sqrt(R * 4)
    m_a, se_a = alone["llc/mean"].item(), alone["llc/std"].item() / math.sqrt(32)
    assert abs(m_b - m_a) < 4 * math.hypot(se_a, se_b), (
        f"batched {m_b:.4f} ± {se_b:.4f} vs alone {m_a:.4f} ± {se_a:.4f}")


def _nan_for_model_1(ps, draw):
    w = ps[0]  # (R*C, 2)
    bad = torch.arange(w.shape[0]) // 2 == 1  # model 1 (C = 2)
    return torch.where(bad, torch.nan, w.pow(2).sum(1))


def _inf_for_model_1(ps, draw):
    w = ps[0]  # (R*C, 2); L(w*) stays finite, so the estimate would be +inf, not nan
    bad = (torch.arange(w.shape[0]) // 2 == 1) & (draw > 0)
    return torch.where(bad, torch.inf, w.pow(2).sum(1))


def _diverges_for_model_1(ps, draw):
    w = ps[0]  # (R*C, 2); model 1 has curvature far past SGLD's stability limit εH < 4
    c = torch.tensor([1.0, 1e5, 1.0]).repeat_interleave(2)
    return c * w.pow(2).sum(1)


@pytest.mark.parametrize("loss_fn", [_nan_for_model_1, _inf_for_model_1, _diverges_for_model_1],
                         ids=["nan-loss", "inf-loss", "divergent-chain"])
def test_non_finite_model_gives_nan(loss_fn):
    out = estimate_llc(loss_fn, [torch.zeros(3, 2)], SGLDConfig(chains=2, draws=100))
    mean = out["llc/mean"]
    assert mean[1].isnan() and out["llc/chains"][1].isnan().all(), f"llc/mean = {mean}"
    assert mean[[0, 2]].isfinite().all(), f"healthy models must stay finite: {mean}"


def test_contract():
    """Shapes, dtypes, determinism, chains start at w*, draw indices, inputs untouched."""
    cfg = SGLDConfig(chains=3, draws=20, burnin=5, seed=7)
    params = [torch.randn(2, 3, generator=torch.Generator().manual_seed(0))]
    before = params[0].clone()
    seen: list[int] = []

    def loss_fn(ps, draw):
        seen.append(draw)
        return ps[0].pow(2).sum(1) + 1.0  # (R*C,)

    out = estimate_llc(loss_fn, params, cfg)
    assert seen == [0, *range(25)]  # L(w*) at draw 0, then every step
    assert {k: tuple(v.shape) for k, v in out.items()} == {
        "llc/mean": (2,), "llc/std": (2,), "llc/chains": (2, 3), "loss/init": (2,),
        "loss/trace": (2, 3, 20)}
    assert all(v.dtype == torch.float64 and v.device.type == "cpu" for v in out.values())
    assert torch.equal(params[0], before)
    torch.testing.assert_close(out["loss/init"], before.double().pow(2).sum(1) + 1)
    again = estimate_llc(loss_fn, params, cfg)
    assert all(torch.equal(out[k], again[k]) for k in out), "same seed must reproduce"
    other = estimate_llc(loss_fn, params, dataclasses.replace(cfg, seed=8))
    assert not torch.equal(out["loss/trace"], other["loss/trace"])
    no_burn = estimate_llc(loss_fn, params, dataclasses.replace(cfg, burnin=0))
    torch.testing.assert_close(no_burn["loss/trace"][:, :, 0],  # chains start at w*
                               out["loss/init"][:, None].expand(2, 3))
    with pytest.raises(ValueError, match="shape"):
        estimate_llc(lambda ps, d: ps[0].sum(), params, cfg)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_no_host_sync_in_loop():
    # _run_chains is estimate_llc without its final (syncing) copy to the host.
    params = [torch.zeros(3, 4, device="cuda")]
    torch.cuda.set_sync_debug_mode("error")
    try:
        _run_chains(lambda ps, d: ps[0].pow(2).sum(1), params, SGLDConfig(draws=20))
    finally:
        torch.cuda.set_sync_debug_mode("default")


def _tiny_regression(hidden: int):
    """Data and batched loss of y ≈ W2·W1·x (W1 (h, 2), W2 (1, h)), or of y ≈ w·x + b
    for hidden = 0, all parameters of one model in one row of a (N, P) tensor."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(256, 2, generator=gen)  # (B, 2)
    y = x @ torch.tensor([[0.5], [-1.0]]) + 0.5 * torch.randn(256, 1, generator=gen)  # (B, 1)

    def loss_fn(ps: list[torch.Tensor], draw: int) -> torch.Tensor:
        w = ps[0]  # (N, P)
        if hidden:
            W1, W2 = w[:, :2 * hidden].view(-1, hidden, 2), w[:, 2 * hidden:].view(-1, 1, hidden)
            pred = torch.einsum("noh,nhi,bi->nbo", W2, W1, x)  # (N, B, 1)
        else:
            pred = torch.einsum("ni,bi->nb", w[:, :2], x)[..., None] + w[:, 2:, None]  # (N, B, 1)
        return (pred - y).pow(2).mean((1, 2))  # (N,)

    return x, y, loss_fn


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # devinterp 2 prefers SGMCMC
def test_chains_match_devinterp_sgld_step():
    """devinterp's SGLD optimizer, fed the same noise stream (torch.randn and
    torch.normal draw identical CPU streams from one generator), retraces our
    chains: same update rule and same pre-step loss bookkeeping, up to float rounding."""
    optim = pytest.importorskip("devinterp.optim")
    _, _, loss_fn = _tiny_regression(hidden=3)
    w_star = 0.3 * torch.randn(1, 9, generator=torch.Generator().manual_seed(1))  # (1, P)
    cfg = SGLDConfig(step=1e-3, nbeta=30.0, gamma=1.0, chains=8, draws=300, burnin=20, seed=3)
    ours = estimate_llc(loss_fn, [w_star], cfg)

    w = torch.nn.Parameter(expand_chains([w_star], cfg.chains)[0].clone())  # (C, P)
    sgld = optim.SGLD([w], lr=cfg.step, nbeta=cfg.nbeta, localization=cfg.gamma)
    gen = torch.Generator().manual_seed(cfg.seed)
    losses = []
    for t in range(cfg.burnin + cfg.draws):
        sgld.zero_grad()
        loss = loss_fn([w], t)  # (C,)
        loss.sum().backward()
        sgld.step(noise_generator=gen)
        losses.append(loss.detach().double())
    trace = torch.stack(losses[cfg.burnin:], 1)  # (C, T)
    theirs = cfg.nbeta * (trace.mean(1) - ours["loss/init"])  # (C,)
    torch.testing.assert_close(ours["loss/trace"][0], trace, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(ours["llc/chains"][0], theirs, atol=1e-4, rtol=1e-4)


def test_agrees_with_devinterp_estimator():
    """devinterp 1.x's estimate_learning_coeff on a small torch model (linear
    regression at its least-squares solution, λ = 3/2) vs ours, same (ε, nβ, γ)."""
    sampler = pytest.importorskip("devinterp.slt.sampler")
    if not hasattr(sampler, "estimate_learning_coeff_with_summary"):
        pytest.skip("devinterp >= 2 dropped the model-agnostic estimator")
    from torch.utils.data import DataLoader, TensorDataset

    x, y, loss_fn = _tiny_regression(hidden=0)
    X = torch.cat([x, torch.ones(len(x), 1)], 1)  # (B, 3)
    w_ols = torch.linalg.lstsq(X, y).solution.T  # (1, 3)
    model = torch.nn.Linear(2, 1)
    with torch.no_grad():
        model.weight.copy_(w_ols[:, :2])
        model.bias.copy_(w_ols[0, 2:])
    cfg = SGLDConfig(step=1e-3, nbeta=30.0, gamma=1.0, chains=4, draws=500, burnin=100)

    with torch.random.fork_rng():  # devinterp seeds the global RNG
        theirs = sampler.estimate_learning_coeff_with_summary(
            model, DataLoader(TensorDataset(x, y), batch_size=len(x)),
            evaluate=lambda m, data: torch.nn.functional.mse_loss(m(data[0]), data[1]),
            optimizer_kwargs=dict(lr=cfg.step, nbeta=cfg.nbeta, localization=cfg.gamma),
            num_chains=cfg.chains, num_draws=cfg.draws, num_burnin_steps=cfg.burnin,
            seed=0, verbose=False)
    ours = estimate_llc(loss_fn, [w_ols], dataclasses.replace(cfg, chains=32))
    m_t, se_t = float(theirs["llc/mean"]), float(theirs["llc/std"]) / math.sqrt(cfg.chains)
    m_o, se_o = ours["llc/mean"].item(), ours["llc/std"].item() / math.sqrt(32)
    assert abs(m_t - m_o) < 4 * math.hypot(se_t, se_o), (
        f"devinterp {m_t:.4f} ± {se_t:.4f} vs grokcore {m_o:.4f} ± {se_o:.4f} (λ = 1.5)")
    assert abs(m_o - 1.5) < 0.15 * 1.5, f"grokcore λ̂ = {m_o:.4f} ± {se_o:.4f}, λ = 1.5"
