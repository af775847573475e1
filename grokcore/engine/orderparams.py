"""Order parameters of grokking, batched over runs.

Holds, each a pure function over a batch of R runs returning (R,) tensors:
  rqi                          Representation Quality Index (Liu et al. 2022)
  effective_rank               exp-entropy of normalized singular values (Roy & Vetterli 2007)
  participation_ratio          (Σλ)²/Σλ² of the hidden-activation covariance
  kernel_alignment             centered alignment of the feature kernel with the label kernel
  fourier_snr                  key-frequency power vs the rest in an embedding (Nanda et al. 2023)
  fourier_concentration        per-neuron frequency purity of a Li²-style first layer (dict)
  fourier_concentration_embed  the same with each embedding dimension as a "neuron" (dict)
  order_parameters             the five scalar diagnostics under "order/..." keys (dict)

Shape convention: R = runs, M = modulus, D = embedding dim, K = hidden width, N = pairs,
F = M//2 non-DC frequencies. Nothing here reads a tensor value on the host (no .item(),
no branching on values), so every function can run on the GPU at a logging cadence;
only shapes and python arguments choose code paths. Half precision is upcast to float32
because FFT / SVD kernels need it.
"""
from __future__ import annotations

import functools

import torch
import torch.nn.functional as nnf

RQI_TOL = 0.05  # δ = RQI_TOL · mean pairwise embedding distance
RQI_QUADS = 4096  # parallelograms per evaluation; all of them when fewer exist
FOURIER_K_TOP = 5  # Nanda et al. find ~5 key frequencies for modular addition


def _f(x: torch.Tensor) -> torch.Tensor:
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x


def _tiny(x: torch.Tensor) -> float:
    # Guards only exact 0/0 (degenerate inputs); far below any real scale, so it keeps
    # every ratio scale invariant.
    return torch.finfo(x.dtype).tiny


# ---------------------------------------------------------------------------- RQI


@functools.lru_cache(maxsize=64)
def _parallelograms(M: int, op: str, n_quads: int, seed: int) -> torch.Tensor:
    """Canonical permissible parallelograms (i, j, m, n), i+j = m+n, as a (4, S) CPU tensor.

    Canonical form i ≤ j, m ≤ n, i < m lists each unordered pair of distinct pairs once
    (two distinct pairs with the same sum have distinct minima) and drops the trivial
    (i, j, i, j). Fixed by (M, op, n_quads, seed) so every call scores the same set.
    """
    g = torch.Generator().manual_seed(seed)
    if M**3 <= 2**22:  # enumerate every (i, j, m); n is then determined
        t = torch.arange(M**3)
    else:  # too many to list: oversample triples; ~1/8 survive the canonical filter
        t = torch.randint(M**3, (16 * n_quads,), generator=g)
    i, j, m = t // (M * M), (t // M) % M, t % M
    n = (i + j - m) % M if op == "add" else i + j - m
    keep = (i <= j) & (m <= n) & (i < m) & (n >= 0) & (n < M)
    q = torch.stack([i, j, m, n])[:, keep]  # (4, S_all)
    if q.shape[1] > n_quads:
        q = q[:, torch.randperm(q.shape[1], generator=g)[:n_quads]]
    if q.shape[1] == 0:
        raise ValueError(f"no non-trivial parallelograms for M={M}, op={op!r}")
    return q


def rqi(
    emb: torch.Tensor, op: str = "add", tol: float | None = None,
    n_quads: int = RQI_QUADS, seed: int = 0,
) -> torch.Tensor:
    """Representation Quality Index (Liu et al. 2022): emb (R, M, D) -> (R,).

    RQI = |{(i,j,m,n) ∈ P : ‖(E_i + E_j) − (E_m + E_n)‖ ≤ δ}| / |P|, where P holds the
    non-trivial permissible parallelograms i + j = m + n, taken mod M for op="add" and
    over the integers (Liu et al.'s toy addition) for op="add_int".
    δ = tol · mean_{a≠b} ‖E_a − E_b‖ with tol = 0.05 by default: Liu et al. use a small
    absolute δ on their normalized toy embeddings; tying δ to the embedding's own scale
    keeps RQI invariant to rescaling (weight decay shrinks embeddings during training).
    P is all canonical parallelograms when there are at most n_quads of them (M ≤ ~30),
    else a fixed seeded subsample of n_quads, so cost is O(R · n_quads · D).
    Caveat: no non-constant embedding realizes every *modular* parallelogram (E_a − E_0
    would be a homomorphism Z_M → R^D, which must vanish), so for op="add" RQI stays far
    below 1 even on a perfect Fourier circle; modular structure is what fourier_* measure.
    """
    if op not in ("add", "add_int"):
        raise ValueError(f"op must be 'add' (mod M) or 'add_int', got {op!r}")
    emb = _f(emb)
    R, M, D = emb.shape
    tol = RQI_TOL if tol is None else tol
    i, j, m, n = _parallelograms(M, op, n_quads, seed).to(emb.device)  # each (S,)
    err = (emb[:, i] + emb[:, j] - emb[:, m] - emb[:, n]).norm(dim=-1)  # (R, S)
    mean_dist = torch.cdist(emb, emb).sum((1, 2)) / (M * (M - 1))  # (R,) diagonal is 0
    return (err <= tol * mean_dist[:, None]).to(emb.dtype).mean(-1)  # (R,)


# --------------------------------------------------------------- spectra & kernels


def effective_rank(W: torch.Tensor) -> torch.Tensor:
    """Effective rank (Roy & Vetterli 2007): W (R, a, b) -> (R,) in [1, min(a, b)].

    erank = exp(−Σ_i p_i log p_i), p_i = s_i / Σ_j s_j over the singular values s of W
    (0 log 0 = 0). Identity n×n -> n, rank one -> 1. An all-zero W gives 1.
    """
    s = torch.linalg.svdvals(_f(W))  # (R, min(a, b))
    p = s / s.sum(-1, keepdim=True).clamp_min(_tiny(s))  # (R, min(a, b))
    return torch.exp(-torch.special.xlogy(p, p).sum(-1))  # (R,)


def participation_ratio(H: torch.Tensor) -> torch.Tensor:
    """Participation ratio: H (R, N, K) activations -> (R,) in [1, min(K, N−1)].

    PR = (Σλ)² / Σλ² over the eigenvalues λ of the covariance C = H̃ᵀH̃ / (N−1), H̃ = H
    centered over N. Computed without an eigendecomposition: Σλ = tr C and Σλ² = ‖C‖_F²,
    and ‖H̃ᵀH̃‖_F = ‖H̃H̃ᵀ‖_F, so the smaller Gram matrix is used. Constant H gives 0.
    """
    Hc = _f(H) - _f(H).mean(1, keepdim=True)  # (R, N, K)
    G = Hc.mT @ Hc if Hc.shape[2] <= Hc.shape[1] else Hc @ Hc.mT  # (R, K, K) or (R, N, N)
    tr = Hc.pow(2).sum((1, 2))  # (R,)  = (N−1) Σλ
    return tr**2 / G.pow(2).sum((1, 2)).clamp_min(_tiny(tr))  # (R,)


def kernel_alignment(F: torch.Tensor, y: torch.Tensor, M: int) -> torch.Tensor:
    """Centered kernel alignment of features with labels: F (R, N, K), y (N,) | (R, N) -> (R,).

    CKA(K_F, K_Y) = ⟨H K_F H, H K_Y H⟩_F / (‖H K_F H‖_F ‖H K_Y H‖_F), K_F = F Fᵀ,
    K_Y = Y Yᵀ with Y the one-hot labels (N, M), H = I − 11ᵀ/N. K_F is a cheap proxy of
    the empirical NTK: for the last layer's weights the NTK is exactly F Fᵀ (⊗ I_M).
    Evaluated in feature space, never forming N×N: with F̃ = HF, Ỹ = HY,
        CKA = ‖F̃ᵀỸ‖_F² / (‖F̃ᵀF̃‖_F ‖ỸᵀỸ‖_F),
    since ⟨F̃F̃ᵀ, ỸỸᵀ⟩ = ‖F̃ᵀỸ‖² and ‖F̃F̃ᵀ‖ = ‖F̃ᵀF̃‖. In [0, 1]; 0 for constant F or y.
    """
    F = _f(F)
    Fc = F - F.mean(1, keepdim=True)  # (R, N, K)
    Y = nnf.one_hot(y.to(F.device).long(), M).to(F.dtype)  # (N, M) or (R, N, M)
    Yc = Y - Y.mean(-2, keepdim=True)  # (N, M) or (R, N, M)
    cross = (Fc.mT @ Yc).pow(2).sum((-2, -1))  # (R,)
    gf = Fc.mT @ Fc if Fc.shape[2] <= Fc.shape[1] else Fc @ Fc.mT  # smaller Gram
    gy = Yc.mT @ Yc if M <= Yc.shape[-2] else Yc @ Yc.mT  # (M, M) / (R, M, M), or N×N if N<M
    denom = gf.norm(dim=(-2, -1)) * gy.norm(dim=(-2, -1))  # (R,)
    return cross / denom.clamp_min(_tiny(F))  # (R,)


# ----------------------------------------------------------------------- Fourier


def _real_power(x: torch.Tensor) -> torch.Tensor:
    """x (R, M, C) -> (R, M//2+1, C): power per frequency in the orthonormal real
    (cos, sin) basis over the token axis, so that Σ_k P_k = Σ_t x_t² (Parseval).
    Frequencies 0 < k < M/2 own two basis vectors (2|c_k|²/M); DC and Nyquist own one."""
    M = x.shape[1]
    w = torch.ones(M // 2 + 1, device=x.device, dtype=x.dtype)  # (M//2+1,)
    w[1 : (M + 1) // 2] = 2.0
    return torch.fft.rfft(x, dim=1).abs().pow(2) * (w / M)[:, None]  # (R, M//2+1, C)


def fourier_snr(emb: torch.Tensor, k_top: int | None = None) -> torch.Tensor:
    """Key-frequency signal-to-noise of an embedding: emb (R, M, D) -> (R,).

    P_k = Σ_d (real-basis DFT power of E[:, d] at frequency k), k = 1..M//2 (DC dropped:
    a constant offset carries no token structure). SNR = mean of the k_top largest P_k
    / mean of the remaining ones; k_top = 5 by default (Nanda et al. 2023: ~5 key
    frequencies), capped at M//2 − 1. Since the top set is chosen per run, SNR ≥ 1 and
    isotropic noise gives slightly above 1 (order-statistics bias, shrinking as D grows);
    a few-frequency embedding gives SNR ≫ 1.
    """
    emb = _f(emb)
    P = _real_power(emb).sum(-1)[:, 1:]  # (R, F)
    nf = P.shape[1]
    if nf < 2:
        raise ValueError(f"need M >= 4 for a top/rest split, got M={emb.shape[1]}")
    k = min(FOURIER_K_TOP if k_top is None else k_top, nf - 1)
    top = P.topk(k, dim=1).values.sum(1)  # (R,)
    rest = (P.sum(1) - top) / (nf - k)  # (R,)
    return (top / k) / rest.clamp_min(_tiny(P))  # (R,)


def _block(X: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """X (R, M, C), one input block -> (normalized non-DC spectrum (R, F, C), top share
    (R, C), top frequency 1..F (R, C), DC share of total power (R, C))."""
    P = _real_power(X)  # (R, F+1, C)
    ac = P[:, 1:]  # (R, F, C)
    spec = ac / ac.sum(1, keepdim=True).clamp_min(_tiny(P))  # (R, F, C) sums to 1
    share, top = spec.max(1)  # (R, C), (R, C)
    dc = P[:, 0] / P.sum(1).clamp_min(_tiny(P))  # (R, C)
    return spec, share, top + 1, dc


def _coverage(top_freq: torch.Tensor, nf: int) -> torch.Tensor:
    hit = torch.zeros(top_freq.shape[0], nf, device=top_freq.device)  # (R, F)
    return hit.scatter(1, top_freq - 1, 1.0).mean(1)  # (R,)


def fourier_concentration(W_in: torch.Tensor, M: int) -> dict[str, torch.Tensor]:
    """Frequency purity of a first layer over two concatenated one-hots: W_in (R, 2M, K).

    Rows 0..M−1 read a, rows M..2M−1 read b. Per neuron and block, the real-basis power
    over frequencies k = 1..M//2 (DC excluded; its share of the block's total power is
    reported as "fourier/dc_share"); the block's top share = max_k P_k / Σ_k P_k, and
    the neuron's top share is the mean over its two blocks (1 for a pure cosine, ≈ H_F/F
    for Gaussian weights). Returns
      "fourier/top_share" (R,) mean over neurons;  "fourier/top_share_neurons" (R, K);
      "fourier/top_freq" (R, K) int64, argmax of the mean of the two blocks' normalized
        spectra (so equal to both blocks' top frequency when they agree);
      "fourier/coverage" (R,) fraction of 1..M//2 that is some neuron's top_freq;
      "fourier/same_freq_ab" (R,) fraction of neurons whose a- and b-block tops agree;
      "fourier/dc_share" (R,) mean over neurons and blocks of DC / total power.
    """
    if W_in.shape[1] != 2 * M:
        raise ValueError(f"W_in must be (R, 2M, K) = (R, {2 * M}, K), got {tuple(W_in.shape)}")
    W_in = _f(W_in)
    spec_a, share_a, top_a, dc_a = _block(W_in[:, :M])  # (R, F, K), (R, K) x3
    spec_b, share_b, top_b, dc_b = _block(W_in[:, M:])
    share = (share_a + share_b) / 2  # (R, K)
    top = (spec_a + spec_b).argmax(1) + 1  # (R, K)
    return {
        "fourier/top_share": share.mean(1),
        "fourier/top_share_neurons": share,
        "fourier/top_freq": top,
        "fourier/coverage": _coverage(top, M // 2).to(W_in.dtype),
        "fourier/same_freq_ab": (top_a == top_b).to(W_in.dtype).mean(1),
        "fourier/dc_share": ((dc_a + dc_b) / 2).mean(1),
    }


def fourier_concentration_embed(emb: torch.Tensor) -> dict[str, torch.Tensor]:
    """fourier_concentration for an embedding emb (R, M, D), each of the D dimensions a
    "neuron" with a single block: same keys (top_share_neurons and top_freq are (R, D)),
    without "fourier/same_freq_ab"."""
    emb = _f(emb)
    _, share, top, dc = _block(emb)  # (R, D) x3
    return {
        "fourier/top_share": share.mean(1),
        "fourier/top_share_neurons": share,
        "fourier/top_freq": top,
        "fourier/coverage": _coverage(top, emb.shape[1] // 2).to(emb.dtype),
        "fourier/dc_share": dc.mean(1),
    }


# -------------------------------------------------------------------- bundle


def order_parameters(
    emb: torch.Tensor, W: torch.Tensor, H: torch.Tensor, y: torch.Tensor, M: int,
    op: str = "add",
) -> dict[str, torch.Tensor]:
    """The five scalar order parameters, each (R,): emb (R, M, D) token embedding,
    W (R, a, b) a weight matrix, H (R, N, K) hidden activations on N pairs with labels
    y (N,) | (R, N). Keys "order/rqi", "order/eff_rank", "order/pr", "order/kernel_align",
    "order/fourier_snr"; defaults as in the individual functions, H doubling as the
    features of the kernel alignment."""
    return {
        "order/rqi": rqi(emb, op=op),
        "order/eff_rank": effective_rank(W),
        "order/pr": participation_ratio(H),
        "order/kernel_align": kernel_alignment(H, y, M),
        "order/fourier_snr": fourier_snr(emb),
    }
