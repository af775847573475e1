"""Models batched over R runs: every parameter carries a leading run axis.

Shape convention: R = runs, B = pairs in a batch, M = modulus (vocabulary and
classes), K = hidden width, D = embedding dim, d = d_model.

A model is a pair of pure functions over a dict of stacked parameters:
`init_params(spec, M, gen, scale)` builds ONE run's parameters from its own
torch.Generator (so a run's init does not depend on which batch it is in), and
`forward(spec, P, a, b, alpha)` maps input pairs a, b (R, B) to logits
(R, B, M) and the hidden features F (R, B, K) whose gradient is G_F.

Families (`FAMILIES` keys, also the CLI choices):
- li2: Li² net, two concatenated one-hots (2M) -> W (2M, K) -> σ -> V (K, M), no
  bias; depth > 1 inserts (K, K) layers. Stacking one-hots makes the first
  layer a lookup: h = W[a] + W[M + b].
- embed_mlp: seed 003 / devinterp example: embedding (M, D), concat (2D),
  Linear 2D -> K, act, Linear K -> M (with biases, torch.nn default init).
- mu_mlp: seed 001: one-hot pair -> Linear 2M -> K, act, (depth-1) Linear
  K -> K, act, Linear K -> M, output scaled by K^(-alpha) (alpha per run).
- transformer: seed 002: token + position embeddings, `depth` post-LN blocks
  (4 heads, GELU MLP 4d), mean pooling over the 2 positions, linear head.
  depth = 1 is the 1-layer variant of Nanda et al. (who use no LayerNorm).
`HIDDEN_IN[family]` names the parameter whose columns are the hidden neurons'
input weights (for the gradient-cosine and Fourier measurements).
"""
from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F

from grokcore.engine.config import ModelSpec

Params = dict[str, torch.Tensor]

ACT = {
    "x2": lambda h: h * h,
    "relu": torch.relu,
    "x+x2": lambda h: h + h * h,
    "gelu": F.gelu,
    "silu": F.silu,
}
HIDDEN_IN = {"li2": "W", "embed_mlp": "W1", "mu_mlp": "W1", "transformer": "fc1.0"}


def _uniform(gen: torch.Generator, fan_in: int, *shape: int) -> torch.Tensor:
    # torch.nn.Linear's default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias
    bound = 1.0 / math.sqrt(fan_in)
    return (torch.rand(*shape, generator=gen) * 2 - 1) * bound


def init_params(spec: ModelSpec, M: int, gen: torch.Generator, scale: float = 1.0) -> Params:
    """One run's parameters (no run axis), drawn from `gen`, times `scale`."""
    K, fam = spec.width, spec.family
    P: Params = {}
    if fam == "li2":
        P["W"] = _uniform(gen, 2 * M, 2 * M, K)
        for i in range(1, spec.depth):
            P[f"U{i}"] = _uniform(gen, K, K, K)
        P["V"] = torch.zeros(K, M) if spec.zero_out else _uniform(gen, K, K, M)
    elif fam == "embed_mlp":
        D = spec.embed or K
        P["E"] = torch.randn(M, D, generator=gen)  # nn.Embedding default N(0, 1)
        P["W1"], P["b1"] = _uniform(gen, 2 * D, 2 * D, K), _uniform(gen, 2 * D, K)
        P["W2"], P["b2"] = _uniform(gen, K, K, M), _uniform(gen, K, M)
    elif fam == "mu_mlp":
        P["W1"], P["b1"] = _uniform(gen, 2 * M, 2 * M, K), _uniform(gen, 2 * M, K)
        for i in range(1, spec.depth):
            P[f"U{i}"], P[f"c{i}"] = _uniform(gen, K, K, K), _uniform(gen, K, K)
        P["W2"], P["b2"] = _uniform(gen, K, K, M), _uniform(gen, K, M)
    else:  # transformer
        d = K
        P["tok"] = torch.randn(M, d, generator=gen) * 0.02
        P["pos"] = torch.randn(2, d, generator=gen) * 0.02
        for l in range(spec.depth):
            P[f"qkv.{l}"], P[f"qkv_b.{l}"] = _uniform(gen, d, d, 3 * d), torch.zeros(3 * d)
            P[f"o.{l}"], P[f"o_b.{l}"] = _uniform(gen, d, d, d), torch.zeros(d)
            P[f"fc1.{l}"], P[f"fc1_b.{l}"] = _uniform(gen, d, d, 4 * d), _uniform(gen, d, 4 * d)
            P[f"fc2.{l}"], P[f"fc2_b.{l}"] = _uniform(gen, 4 * d, 4 * d, d), _uniform(gen, 4 * d, d)
            for n in (1, 2):
                P[f"ln{n}_w.{l}"], P[f"ln{n}_b.{l}"] = torch.ones(d), torch.zeros(d)
        P["head"], P["head_b"] = _uniform(gen, d, d, M), _uniform(gen, d, M)
    if scale != 1.0:
        P = {k: v * scale for k, v in P.items()}
    return P


def stack_params(per_run: list[Params], device: torch.device | str) -> Params:
    """[{name: (...)}] * R -> {name: (R, ...)} on `device`, each a leaf requiring grad."""
    return {k: torch.stack([p[k] for p in per_run]).to(device).requires_grad_(True)
            for k in per_run[0]}


def _gather_rows(T: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """T (R, V, C), idx (R, B) -> T[r, idx[r, j]] (R, B, C): a per-run embedding lookup.

    One flat embedding lookup with per-run row offsets r·V: torch.gather along dim 1
    would need an int64 index expanded to (R, B, C) (as large as the output) and
    its backward is a scatter over it, ~3x slower on CPU (measured, R=16, B=1764, C=512)."""
    R, V, C = T.shape
    compiling = torch.compiler.is_compiling()  # traced once into the graph; the offsets cache would break it
    off = torch.arange(R, device=idx.device).unsqueeze(1) * V if compiling else _row_offsets(R, V, idx.device)
    flat = idx + off  # (R, B) rows of the (R·V, C) table
    if T.device.type == "cpu" and not compiling:
        # The same gather; its backward differs in speed only. embedding's CPU backward adds one
        # gradient row per index as a separate tensor op (grad_w[k].add_(grad[i])); index_select's
        # (index_add_) reuses one iterator for all of them. Both add row i's gradient into row k
        # in index order i with the same float add, so the gradient is bit-identical
        # (test_engine.py); whole fast-tier batches train 5-12 % faster (Li², embedding and µ MLPs).
        # CUDA keeps embedding: index_add_ there accumulates with atomics (order not fixed).
        return T.reshape(R * V, C).index_select(0, flat.reshape(-1)).view(R, idx.shape[1], C)
    return F.embedding(flat, T.reshape(R * V, C))  # (R, B, C)


@functools.lru_cache(maxsize=64)
def _row_offsets(R: int, V: int, device: torch.device) -> torch.Tensor:
    """(R, 1) int64 offsets r·V, built once per shape and device (read only), not every step."""
    return torch.arange(R, device=device).unsqueeze(1) * V


def _layer_norm(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    # per-run affine: w, b (R, d) broadcast over every non-run axis of x (R, ..., d)
    shape = (x.shape[0],) + (1,) * (x.dim() - 2) + (x.shape[-1],)
    return F.layer_norm(x, x.shape[-1:]) * w.view(shape) + b.view(shape)


def _attention(x: torch.Tensor, P: Params, l: int, heads: int) -> torch.Tensor:
    R, B, T, d = x.shape
    qkv = (x.reshape(R, B * T, d) @ P[f"qkv.{l}"]).view(R, B, T, 3 * d) + P[f"qkv_b.{l}"][:, None, None]
    q, k, v = qkv.view(R, B, T, 3, heads, d // heads).unbind(3)  # each (R, B, T, H, dh)
    att = torch.einsum("rbthe,rbshe->rbhts", q, k) / math.sqrt(d // heads)  # (R, B, H, T, T)
    y = torch.einsum("rbhts,rbshe->rbthe", att.softmax(-1), v).reshape(R, B * T, d)
    return (y @ P[f"o.{l}"]).view(R, B, T, d) + P[f"o_b.{l}"][:, None, None]


def forward(spec: ModelSpec, P: Params, a: torch.Tensor, b: torch.Tensor,
            alpha: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs a, b (R, B) -> (logits (R, B, M), hidden features F (R, B, K))."""
    act, fam = ACT[spec.act], spec.family
    if fam == "li2":
        M = P["W"].shape[1] // 2
        f = act(_gather_rows(P["W"], a) + _gather_rows(P["W"], b + M))  # (R, B, K)
        for i in range(1, spec.depth):
            f = act(f @ P[f"U{i}"])  # (R, B, K)
        return f @ P["V"], f  # (R, B, M)
    if fam == "embed_mlp":
        e = torch.cat([_gather_rows(P["E"], a), _gather_rows(P["E"], b)], -1)  # (R, B, 2D)
        f = act(e @ P["W1"] + P["b1"][:, None])  # (R, B, K)
        return f @ P["W2"] + P["b2"][:, None], f
    if fam == "mu_mlp":
        M = P["W1"].shape[1] // 2
        f = act(_gather_rows(P["W1"], a) + _gather_rows(P["W1"], b + M) + P["b1"][:, None])
        for i in range(1, spec.depth):
            f = act(f @ P[f"U{i}"] + P[f"c{i}"][:, None])  # (R, B, K)
        out = f @ P["W2"] + P["b2"][:, None]  # (R, B, M)
        if alpha is not None:
            out = out * (spec.width ** -alpha).view(-1, 1, 1)
        return out, f
    # transformer (post-LN, like torch.nn.TransformerEncoderLayer with dropout 0)
    R, B = a.shape
    x = torch.stack([_gather_rows(P["tok"], a), _gather_rows(P["tok"], b)], 2)  # (R, B, 2, d)
    x = x + P["pos"][:, None]
    d = x.shape[-1]
    for l in range(spec.depth):
        x = _layer_norm(x + _attention(x, P, l, spec.heads), P[f"ln1_w.{l}"], P[f"ln1_b.{l}"])
        h = F.gelu(x.reshape(R, B * 2, d) @ P[f"fc1.{l}"] + P[f"fc1_b.{l}"][:, None])  # (R, 2B, 4d)
        y = (h @ P[f"fc2.{l}"] + P[f"fc2_b.{l}"][:, None]).view(R, B, 2, d)
        x = _layer_norm(x + y, P[f"ln2_w.{l}"], P[f"ln2_b.{l}"])
    f = x.mean(2)  # (R, B, d): mean pooling over the two positions
    return f @ P["head"] + P["head_b"][:, None], f


def activation_floats(spec: ModelSpec, M: int) -> int:
    """FP32 floats the forward pass keeps for backward, per training pair (rough count of the
    intermediate tensors of `models.forward` and the loss: gathers, pre-activations, activations,
    logits, log-softmax)."""
    K, L = spec.width, spec.depth
    if spec.family == "li2":
        return 4 * K + 2 * K * (L - 1) + 3 * M
    if spec.family == "mu_mlp":
        return 5 * K + 3 * K * (L - 1) + 4 * M
    if spec.family == "embed_mlp":
        D = spec.embed or K
        return 4 * D + 3 * K + 4 * M
    d, T = K, 2  # transformer, 2 tokens: per block qkv (+bias) 6d, attention 4 x heads x T, out 4d,
    per_token = 31 * d + 2 * spec.heads * T  # LN 5d, fc1 (+bias, GELU) 12d, fc2 (+residual) 4d
    return T * L * per_token + 3 * T * d + 4 * M
