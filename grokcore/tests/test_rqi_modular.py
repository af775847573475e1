"""Why order-params does not decide RQI (rules_empirical.order_params_rule): on the embedding a
network that has grokked modular addition learns, the parallelogram measure has a known answer,
and it is the same as for a random embedding.

Known answer. For a Fourier feature E[a, n] = cos(2 pi k_n a / p + phi_n) (k_n != 0), over the
permissible parallelograms a + b = c + d (mod p) the mean squared error
|E_a + E_b - E_c - E_d|^2 equals its mean over unconstrained quadruples, 2 per feature (= 4 Var):
for each feature the two differences cos A - cos C and cos B - cos D are each uncorrelated phases
(mean square 1 each) and their cross term averages to 0 over the free sum s = a + b. So the
parallelogram errors of the grokked (Fourier) embedding are as large as a random embedding's, up
to the O(1/p) correction of excluding the trivial quadruples; a linear chain (integer addition)
gives 0. Exactly: over every (a, b, c) with d = a + b - c the mean equals the unconstrained one,
2 per feature; over the non-trivial ones it is (p / (p - 1))^2 times that. Any delta tied to the
embedding's scale then counts about the same fraction for both.
"""
import math

import torch

from grokcore.engine import orderparams as op

D64 = torch.float64


def fourier_embedding(p: int, K: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    k = torch.randint(1, p // 2 + 1, (K,), generator=g)
    phase = torch.rand(K, generator=g, dtype=D64) * 2 * math.pi
    a = torch.arange(p, dtype=D64)[:, None]
    return torch.cos(2 * math.pi * k[None] * a / p + phase[None])  # (p, K)


def mean_sq(E: torch.Tensor, q: torch.Tensor) -> float:
    i, j, m, n = q
    return float((E[i] + E[j] - E[m] - E[n]).pow(2).sum(-1).mean())


def modular_quads(p: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Every (a, b, c, d = a + b - c mod p), and the mask of the non-trivial ones ({c, d} != {a, b})."""
    a, b, c = (t.flatten() for t in torch.meshgrid(torch.arange(p), torch.arange(p), torch.arange(p), indexing="ij"))
    return torch.stack([a, b, c, (a + b - c) % p]), (c != a) & (c != b)


def test_fourier_parallelogram_error_equals_the_unconstrained_one():
    for p in (31, 97):
        K = 64
        E = fourier_embedding(p, K)
        q, nontrivial = modular_quads(p)
        # unconstrained quadruples: 4 E|E_a|^2 = 2 per feature (each Fourier column has mean 0, power 1/2)
        free = 4 * float(E.pow(2).sum(1).mean())
        assert abs(free / (2 * K) - 1) < 1e-6
        # every modular parallelogram: exactly the same mean square
        assert abs(mean_sq(E, q) / free - 1) < 1e-6
        # the non-trivial ones (RQI's set): the trivial ones (error 0, a fraction (2p - 1) / p^2) left out
        assert abs(mean_sq(E, q[:, nontrivial]) / free - (p / (p - 1)) ** 2) < 1e-6
    # a random embedding: the same, in expectation; a linear chain under integer parallelograms: 0
    g = torch.Generator().manual_seed(1)
    p = 31
    q, nontrivial = modular_quads(p)
    R = torch.randn(p, 64, generator=g, dtype=D64)
    Rc = R - R.mean(0)
    assert abs(mean_sq(Rc, q) / (4 * float(Rc.pow(2).sum(1).mean())) - 1) < 0.05
    chain = torch.arange(p, dtype=D64)[:, None] * torch.randn(1, 64, generator=g, dtype=D64)
    assert mean_sq(chain, op._parallelograms(p, "add_int", 10**6, 0)) < 1e-20


def test_rqi_cannot_tell_the_fourier_embedding_from_a_random_one():
    p, K = 31, 64
    E = fourier_embedding(p, K)[None]
    R = torch.randn(1, p, K, generator=torch.Generator().manual_seed(2), dtype=D64)
    for tol in (0.05, 0.2):  # delta = tol x mean pairwise distance
        assert op.rqi(E, tol=tol).item() < 0.01 and op.rqi(R, tol=tol).item() < 0.01
