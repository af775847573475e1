"""Order parameters on synthetic inputs whose answers are known in closed form."""
from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from grokcore.engine import orderparams as op

D64 = torch.float64
PROP = settings(max_examples=40, deadline=None)


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def cosines(M: int, freqs: torch.Tensor, phases: torch.Tensor, amp: torch.Tensor | float = 1.0):
    """(M, K) columns amp_k · cos(2π f_k t / M + φ_k)."""
    t = torch.arange(M, dtype=D64)[:, None]
    return amp * torch.cos(2 * math.pi * freqs[None].to(D64) * t / M + phases[None])


# ------------------------------------------------------------------- Fourier


def li2_cosine_weights(M: int, K: int, seed: int):
    g = gen(seed)
    f = torch.randint(1, M // 2 + 1, (K,), generator=g)
    pa, pb = (torch.rand(K, generator=g, dtype=D64) * 2 * math.pi for _ in range(2))
    return torch.cat([cosines(M, f, pa, 1.3), cosines(M, f, pb, 0.4)]), f  # (2M, K), (K,)


@pytest.mark.parametrize("M", [31, 32])
def test_fourier_pure_cosines(M):
    W, f = li2_cosine_weights(M, 48, seed=M)
    out = op.fourier_concentration(W[None], M)
    assert torch.allclose(out["fourier/top_share"], torch.ones(1, dtype=D64), atol=1e-9)
    assert torch.equal(out["fourier/top_freq"][0], f)
    assert out["fourier/top_freq"].dtype == torch.int64
    assert out["fourier/coverage"].item() == pytest.approx(len(set(f.tolist())) / (M // 2))
    assert out["fourier/same_freq_ab"].item() == 1.0
    assert out["fourier/dc_share"].item() < 1e-12
    assert out["fourier/top_share_neurons"].shape == (1, 48)


def test_fourier_dc_share_and_offset():
    M, t = 31, torch.arange(31, dtype=D64)
    col = 2.0 + torch.cos(2 * math.pi * 3 * t / M)  # DC power 4·M, AC power M/2
    out = op.fourier_concentration(torch.cat([col, col])[None, :, None], M)
    assert out["fourier/dc_share"].item() == pytest.approx(4 / 4.5)
    assert out["fourier/top_share"].item() == pytest.approx(1.0)  # DC excluded from share
    assert out["fourier/top_freq"].item() == 3


def test_fourier_gaussian_weights_spread():
    out = op.fourier_concentration(torch.randn(2, 62, 256, generator=gen(1), dtype=D64), 31)
    # max of 15 iid χ²₂ over their sum ≈ H_15/15 ≈ 0.22
    assert (out["fourier/top_share"] < 0.5).all()
    assert (out["fourier/top_share"] > 0.1).all()


@pytest.mark.parametrize("M", [31, 32])
def test_fourier_two_cosine_mixture(M):
    g = gen(2)
    K = 20
    f1 = torch.randint(1, M // 2 + 1, (K,), generator=g)
    f2 = (f1 + torch.randint(0, M // 2 - 1, (K,), generator=g)) % (M // 2) + 1  # ≠ f1
    assert (f1 != f2).all()
    ph = lambda: torch.rand(K, generator=g, dtype=D64) * 2 * math.pi  # noqa: E731
    # unit-power cosines, except a Nyquist cosine (M even) has power 1 at phase 0 only
    unit = lambda f, p: cosines(M, f, p) / cosines(M, f, p).pow(2).mean(0).sqrt()  # noqa: E731
    block = lambda: 0.7**0.5 * unit(f1, ph()) + 0.3**0.5 * unit(f2, ph())  # noqa: E731
    out = op.fourier_concentration(torch.cat([block(), block()])[None].float(), M)
    assert torch.allclose(out["fourier/top_share_neurons"], torch.full((1, K), 0.7), atol=1e-4)
    assert torch.equal(out["fourier/top_freq"][0], f1)


def test_fourier_batched_equals_single():
    M = 23
    Ws = [li2_cosine_weights(M, 16, 5)[0], torch.randn(2 * M, 16, generator=gen(6), dtype=D64),
          li2_cosine_weights(M, 16, 7)[0] + 0.3 * torch.randn(2 * M, 16, generator=gen(8), dtype=D64)]
    batched = op.fourier_concentration(torch.stack(Ws), M)
    for r, W in enumerate(Ws):
        single = op.fourier_concentration(W[None], M)
        for k, v in single.items():
            assert torch.allclose(batched[k][r], v[0], atol=1e-12), k
    e_batched = op.fourier_concentration_embed(torch.stack([W[:M] for W in Ws]))
    for r, W in enumerate(Ws):
        for k, v in op.fourier_concentration_embed(W[None, :M]).items():
            assert torch.allclose(e_batched[k][r], v[0], atol=1e-12), k


def test_fourier_embed_matches_single_block():
    M, D = 29, 12
    g = gen(9)
    f = torch.randint(1, M // 2 + 1, (D,), generator=g)
    emb = cosines(M, f, torch.rand(D, generator=g, dtype=D64))[None]  # (1, M, D)
    out = op.fourier_concentration_embed(emb)
    assert "fourier/same_freq_ab" not in out
    assert torch.equal(out["fourier/top_freq"][0], f)
    assert out["fourier/top_share"].item() == pytest.approx(1.0)


def test_fourier_snr():
    M, D = 59, 512
    g = gen(3)
    coef = torch.randn(6, D, generator=g, dtype=D64)
    t = torch.arange(M, dtype=D64)[:, None]
    basis = torch.cat([torch.cos(2 * math.pi * k * t / M) for k in (4, 11, 17)]
                      + [torch.sin(2 * math.pi * k * t / M) for k in (4, 11, 17)], 1)  # (M, 6)
    signal = basis @ coef + 1e-4 * torch.randn(M, D, generator=g, dtype=D64)  # (M, D)
    noise = torch.randn(4, M, 512, generator=g, dtype=D64)
    snr = op.fourier_snr(torch.cat([signal[None], noise]))
    assert snr[0] > 1e5
    assert ((snr[1:] > 1.0) & (snr[1:] < 1.3)).all()  # order-statistics bias only
    assert op.fourier_snr(signal[None], k_top=3) > op.fourier_snr(signal[None], k_top=5)


# ----------------------------------------------------------------------- RQI


def circle(M: int, r: float = 1.0) -> torch.Tensor:
    t = 2 * math.pi * torch.arange(M, dtype=D64) / M
    return r * torch.stack([t.cos(), t.sin()], 1)  # (M, 2)


def rqi_bruteforce(E: torch.Tensor, modular: bool, tol: float = 0.05) -> float:
    """Python loops over all ordered quadruples, deduplicated to unordered pairs of distinct
    pairs: an independent reference for the canonical enumeration."""
    M = E.shape[0]
    delta = tol * torch.cdist(E, E).sum().item() / (M * (M - 1))
    seen = {}
    for i in range(M):
        for j in range(M):
            for m in range(M):
                n = (i + j - m) % M if modular else i + j - m
                if not 0 <= n < M or m in (i, j):
                    continue
                key = frozenset([tuple(sorted((i, j))), tuple(sorted((m, n)))])
                seen[key] = (E[i] + E[j] - E[m] - E[n]).norm().item() <= delta
    return sum(seen.values()) / len(seen)


def test_rqi_linear_chain_is_one():
    # Liu et al.'s ideal toy-addition representation E_i = i·v realizes every parallelogram.
    v = torch.randn(8, generator=gen(0), dtype=D64)
    emb = torch.arange(20, dtype=D64)[:, None] * v  # (M, D)
    assert op.rqi(emb[None], op="add_int").item() == 1.0


def test_rqi_random_is_near_zero():
    emb = torch.randn(3, 31, 16, generator=gen(1))
    assert (op.rqi(emb) < 0.01).all()
    assert (op.rqi(emb, op="add_int") < 0.01).all()


@pytest.mark.parametrize("modular", [True, False])
def test_rqi_matches_bruteforce(modular):
    M = 13
    kind = "add" if modular else "add_int"
    g = gen(7)
    for E in (circle(M, 2.0), torch.arange(M, dtype=D64)[:, None] * torch.tensor([1.0, -2.0]),
              torch.randn(M, 3, generator=g, dtype=D64), torch.randint(0, 2, (M, 2), generator=g).to(D64)):
        for tol in (0.05, 0.5):
            assert op.rqi(E[None], op=kind, tol=tol).item() == pytest.approx(
                rqi_bruteforce(E, modular, tol), abs=1e-12)


def test_rqi_modular_circle_is_not_one():
    # No non-constant embedding realizes all modular parallelograms additively: on the circle
    # E_i + E_j has length 2cos(π(i−j)/M), which depends on i − j, not only on i + j.
    emb = circle(31, 3.0)[None]
    assert op.rqi(emb, op="add").item() < 0.05
    assert op.rqi(emb, op="add", tol=10.0).item() == 1.0  # δ above every error


def test_rqi_deterministic_subsample_and_scale_invariant():
    emb = torch.randn(2, 97, 4, generator=gen(4), dtype=D64)
    emb[1] = torch.arange(97, dtype=D64)[:, None] * torch.ones(4)  # chain: RQI(add_int) = 1
    a = op.rqi(emb, op="add_int")
    assert torch.equal(a, op.rqi(emb, op="add_int"))
    assert torch.equal(a, op.rqi(emb * 123.0, op="add_int"))
    assert a[1].item() == 1.0
    assert op._parallelograms(97, "add", op.RQI_QUADS, 0).shape == (4, op.RQI_QUADS)
    i, j, m, n = op._parallelograms(97, "add", op.RQI_QUADS, 0)
    assert ((i + j - m - n) % 97 == 0).all() and (i < m).all()
    with pytest.raises(ValueError):
        op.rqi(emb, op="mul")


# ------------------------------------------------------------ spectra / kernels


def test_effective_rank_known():
    eye = torch.eye(6, dtype=D64)[None]
    u, v = torch.randn(2, 5, 1, generator=gen(0), dtype=D64)
    assert op.effective_rank(eye).item() == pytest.approx(6.0)
    assert op.effective_rank(u @ v.mT).item() == pytest.approx(1.0, abs=1e-6)
    s = torch.tensor([3.0, 2.0, 1.0, 0.5], dtype=D64)
    p = s / s.sum()
    Q = torch.linalg.qr(torch.randn(7, 7, generator=gen(1), dtype=D64))[0]
    W = Q[:, :4] @ torch.diag(s) @ torch.eye(4, 5, dtype=D64)  # (7, 5), spectrum s
    assert op.effective_rank(W[None]).item() == pytest.approx(math.exp(-(p * p.log()).sum().item()))
    assert op.effective_rank(torch.zeros(1, 3, 4)).item() == 1.0


def test_participation_ratio_known():
    iso = torch.randn(1, 20000, 16, generator=gen(0))
    assert op.participation_ratio(iso).item() == pytest.approx(16.0, rel=0.02)
    one = torch.randn(1, 500, 1, generator=gen(1)) * torch.randn(1, 1, 16, generator=gen(2))
    assert op.participation_ratio(one + 5.0).item() == pytest.approx(1.0, rel=1e-4)
    lam = torch.tensor([4.0, 1.0, 1.0], dtype=D64)  # exact covariance via ±√λ e_k columns
    H = torch.cat([torch.diag(lam.sqrt()), -torch.diag(lam.sqrt())])[None]  # (1, 6, 3)
    assert op.participation_ratio(H).item() == pytest.approx(36 / 18)


@pytest.mark.parametrize("N,K", [(40, 6), (4, 9)])  # K×K and N×N Gram paths
def test_participation_ratio_matches_eigenvalues(N, K):
    H = torch.randn(3, N, K, generator=gen(N), dtype=D64) * torch.linspace(0.1, 2, K, dtype=D64)
    lam = torch.linalg.eigvalsh(torch.stack([torch.cov(h.T) for h in H]))  # (3, K)
    want = lam.sum(-1) ** 2 / lam.pow(2).sum(-1)
    assert torch.allclose(op.participation_ratio(H), want, rtol=1e-9)


def cka_explicit(F: torch.Tensor, y: torch.Tensor, M: int) -> torch.Tensor:
    N = F.shape[0]
    Hc = torch.eye(N, dtype=D64) - 1.0 / N
    Y = torch.nn.functional.one_hot(y, M).to(D64)
    A, B = Hc @ F @ F.T @ Hc, Hc @ Y @ Y.T @ Hc
    return (A * B).sum() / (A.norm() * B.norm())


def test_kernel_alignment():
    N, M = 2000, 5
    y = torch.randint(0, M, (N,), generator=gen(0))
    onehot = torch.nn.functional.one_hot(y, M).to(D64)
    F = torch.stack([onehot, torch.randn(N, M, generator=gen(1), dtype=D64)])  # (2, N, M)
    cka = op.kernel_alignment(F, y, M)
    assert cka[0].item() == pytest.approx(1.0, abs=1e-12)
    assert cka[1].item() < 0.02
    # per-run labels (R, N) equal the shared-label result
    assert torch.allclose(op.kernel_alignment(F, y.expand(2, N), M), cka, atol=1e-12)


@pytest.mark.parametrize("N,K", [(12, 4), (6, 9)])  # K ≤ N and N < K Gram paths
def test_kernel_alignment_matches_explicit(N, K):
    M = 7  # N = 6 < M exercises the N×N label Gram too
    g = gen(N)
    y = torch.randint(0, M, (3, N), generator=g)
    signal = torch.nn.functional.one_hot(y, M).to(D64) @ torch.randn(M, K, generator=g, dtype=D64)
    F = torch.randn(3, N, K, generator=g, dtype=D64) + signal  # (3, N, K), label-correlated
    got = op.kernel_alignment(F, y, M)
    want = torch.stack([cka_explicit(F[r], y[r], M) for r in range(3)])
    assert torch.allclose(got, want, atol=1e-6)


def test_order_parameters_bundle():
    M, R = 11, 2
    emb = torch.randn(R, M, 8, generator=gen(0))
    W = torch.randn(R, 8, 6, generator=gen(1))
    H = torch.randn(R, M * M, 10, generator=gen(2))
    y = (torch.arange(M).repeat_interleave(M) + torch.arange(M).repeat(M)) % M
    out = op.order_parameters(emb, W, H, y, M)
    assert set(out) == {"order/rqi", "order/eff_rank", "order/pr", "order/kernel_align",
                        "order/fourier_snr"}
    assert all(v.shape == (R,) for v in out.values())
    bf = op.order_parameters(*(t.bfloat16() for t in (emb, W, H)), y, M)
    assert all(v.dtype == torch.float32 for v in bf.values())


# ------------------------------------------------------------ hypothesis properties

shapes = st.integers(1, 9)
seeds = st.integers(0, 2**31 - 1)
scales = st.floats(1e-3, 1e3)


def structured(shape, seed: int, rank_cut: int) -> torch.Tensor:
    """Random matrix with a random number of columns zeroed: spans full to low rank."""
    X = torch.randn(*shape, generator=gen(seed), dtype=D64)
    X[..., : rank_cut % shape[-1]] = 0.0
    return X


@PROP
@given(a=shapes, b=shapes, seed=seeds, cut=st.integers(0, 8), c=scales)
def test_prop_effective_rank(a, b, seed, cut, c):
    W = structured((2, a, b), seed, cut)
    er = op.effective_rank(W)
    assert ((er >= 1 - 1e-6) & (er <= min(a, b) + 1e-6)).all()
    assert torch.allclose(op.effective_rank(c * W), er, rtol=1e-6)


@PROP
@given(N=st.integers(2, 30), K=shapes, seed=seeds, cut=st.integers(0, 8), c=scales)
def test_prop_participation_ratio(N, K, seed, cut, c):
    H = structured((2, N, K), seed, cut)
    H[:, 0, -1] += 2.0  # the last column is never zeroed: this keeps some variance
    pr = op.participation_ratio(H)
    assert ((pr >= 1 - 1e-6) & (pr <= K + 1e-6)).all()
    assert torch.allclose(op.participation_ratio(c * H), pr, rtol=1e-6)


@PROP
@given(N=st.integers(2, 30), K=shapes, M=st.integers(2, 6), seed=seeds, cut=st.integers(0, 8), c=scales)
def test_prop_kernel_alignment(N, K, M, seed, cut, c):
    F = structured((2, N, K), seed, cut)
    y = torch.randint(0, M, (N,), generator=gen(seed + 1))
    cka = op.kernel_alignment(F, y, M)
    assert ((cka >= -1e-6) & (cka <= 1 + 1e-6)).all()
    assert torch.allclose(op.kernel_alignment(c * F, y, M), cka, rtol=1e-6, atol=1e-12)
