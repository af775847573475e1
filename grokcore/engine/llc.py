"""Batched SGLD estimator of the local learning coefficient (LLC).

The learning coefficient λ of w* (with multiplicity m) is defined by the volume
of its near-optimal set, V(t) = vol{w near w* : L(w) − L(w*) < t} ~ c t^λ (−log t)^(m−1)
as t → 0; λ = d/2 at a regular minimum in d dimensions, smaller when singular.

Estimator (Lau et al. 2023; the convention of devinterp's `LLCEstimator`):

    λ̂(w*) = nβ · (E_{w∼p}[L_n(w)] − L_n(w*)),
    p(w) ∝ exp(−nβ L_n(w) − γ/2 ‖w − w*‖²)        (localized tempered posterior),

the expectation taken by SGLD chains that all start at w*, one step per draw:

    w_{t+1} = w_t − (ε/2) (nβ ∇L_n(w_t) + γ (w_t − w*)) + N(0, ε I).

The loss recorded at step t is L_n(w_t), the one whose gradient drives that step
(as in devinterp's sampler), so with no burn-in the first draw is L_n(w*) itself.
Per chain c, λ̂_c = nβ (mean over the `draws` steps after `burnin` of L_n − L_n(w*));
"llc/mean" and "llc/std" are the mean and (unbiased; nan for one chain) std over chains.

Defaults are those of devinterp's grokking example: ε = 3e-3, nβ = 2.0, γ = 5.0,
4 chains × 500 draws, no burn-in (`num_burnin_steps = 0`). At finite nβ the
estimate is biased low against the asymptotic learning coefficient λ (the
localization γ and, at a singularity of multiplicity m, roughly −(m−1)/log nβ);
at finite ε SGLD samples a slightly wider distribution than p (biased high by
about ε·H/4 for curvature H). Compare λ̂ across models at one setting.

Batching: every parameter tensor carries a leading model axis R (runs, or runs ×
checkpoints stacked together). Chains are expanded into that axis run-major
(row r·C + c is chain c of model r), so one call samples R·C chains in lockstep.
Models are independent, so the gradient of loss.sum() is each row's own gradient.
A chain whose loss ever turns non-finite makes its model's estimate nan; this is
tracked on device, so the loop never synchronizes with the host.

Calling it for grokcore models (`staged.checkpoint_llc` is the worked example):
stack every run's (and checkpoint's) parameter dict along axis 0 as a list in
a fixed name order, and in `loss_fn(ps, draw)` rebuild `dict(zip(names, ps))`,
run `models.forward` on it (leading size R·C) and return each model's mean
training loss (R·C,). Per-model data (each run's split indices (R, n), weights)
must be expanded like the parameters: `expand_chains([idx, ...], C)`. Minibatches
should be a deterministic function of `draw` (and per-model keys), not of a
global RNG, so that an estimate is reproducible from its seeds.

Out of memory: a loss_fn that also accepts a keyword ``rows`` (a slice of the
R·C expanded rows, always whole models: rows lo·C:hi·C are models lo:hi) lets
`estimate_llc` split the models in half on a device OOM and concatenate, after
freeing the failed attempt (`grokcore.engine.oom.split_on_oom`); ``loss_fn(ps, draw,
rows=s)`` must then return the loss of those models from their parameters ps
((hi−lo)·C rows), i.e. slice its per-model data by ``s``. The split result is
identical to the unsplit one: each part draws the whole batch's noise from the
same seeded generator and keeps its own rows (costing one whole-batch noise
buffer per step). A loss_fn without ``rows`` gets no fallback (the OOM is raised).
"""
from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from grokcore.engine.oom import split_on_oom

LossFn = Callable[[list[torch.Tensor], int], torch.Tensor]


@dataclass(frozen=True)
class SGLDConfig:
    """SGLD settings (devinterp's names in brackets): step ε [lr], inverse
    temperature nβ [nbeta], localization γ [localization], chains per model
    [num_chains], recorded draws [num_draws], discarded burn-in steps
    [num_burnin_steps], seed of the noise generator."""

    step: float = 3e-3
    nbeta: float = 2.0
    gamma: float = 5.0
    chains: int = 4
    draws: int = 500
    burnin: int = 0
    seed: int = 0

    def __post_init__(self):
        if not (self.step > 0 and self.nbeta > 0 and self.gamma >= 0):
            raise ValueError(f"need step > 0, nbeta > 0, gamma >= 0, got {self}")
        if self.chains < 1 or self.draws < 1 or self.burnin < 0:
            raise ValueError(f"need chains >= 1, draws >= 1, burnin >= 0, got {self}")


def expand_chains(params: Sequence[torch.Tensor], chains: int) -> list[torch.Tensor]:
    """(R, ...) → (R·C, ...), run-major: row r·C + c is chain c of model r."""
    # expand + reshape (not repeat_interleave) so no size is read back from a device.
    return [p.unsqueeze(1).expand(-1, chains, *p.shape[1:]).reshape(-1, *p.shape[1:])
            for p in params]


def _sgld_step(w: list[torch.Tensor], grads: Sequence[torch.Tensor],
               anchor: list[torch.Tensor], cfg: SGLDConfig, gen: torch.Generator,
               part: tuple[int, int, int] | None = None) -> None:
    """In place: w ← w − (ε/2)(nβ ∇L + γ (w − w*)) + √ε ξ, ξ ~ N(0, I).

    part = (lo, hi, total): w holds rows lo:hi of a batch of `total` rows; ξ is drawn for
    the whole batch (same generator calls) and rows lo:hi kept, so a split batch moves
    exactly as the whole one."""
    # One randn and foreach ops: a step costs a handful of kernels however many
    # tensors the model has (the loop is launch-bound for small models).
    lo, hi, total = part if part is not None else (0, w[0].shape[0], w[0].shape[0])
    sizes = [total * p[0].numel() for p in w]  # the whole batch's layout (= p.numel() unsplit)
    flat = torch.randn(sum(sizes), generator=gen, device=w[0].device, dtype=w[0].dtype)  # (Σ numel,)
    noise = [n.view(total, *p.shape[1:])[lo:hi].to(p.dtype) for n, p in zip(flat.split(sizes), w)]
    drift = torch._foreach_sub(w, anchor)  # γ-term first: (w − w*)
    torch._foreach_mul_(drift, cfg.gamma)
    torch._foreach_add_(drift, grads, alpha=cfg.nbeta)
    torch._foreach_add_(w, drift, alpha=-cfg.step / 2)
    torch._foreach_add_(w, noise, alpha=cfg.step ** 0.5)


def _check_loss(loss: torch.Tensor, n: int) -> None:
    # Shape only (no values): a scalar loss would silently couple all models.
    if loss.shape != (n,):
        raise ValueError(f"loss_fn must return shape ({n},) = (R*C,), got {tuple(loss.shape)}")


def _summarize(trace: torch.Tensor, init: torch.Tensor, finite: torch.Tensor,
               nbeta: float) -> dict[str, torch.Tensor]:
    """Per-chain and per-model estimates from the (R, C, draws) loss trace."""
    per_chain = nbeta * (trace.mean(-1) - init[:, None])  # (R, C)
    per_chain = torch.where(finite, per_chain, torch.full_like(per_chain, float("nan")))
    return {
        "llc/mean": per_chain.mean(1),  # (R,) nan if any chain failed
        "llc/std": per_chain.std(1),  # (R,)
        "llc/chains": per_chain,  # (R, C)
        "loss/init": init,  # (R,)
        "loss/trace": trace,  # (R, C, draws)
    }


def _run_chains(loss_fn: LossFn, params: list[torch.Tensor],
                cfg: SGLDConfig, part: tuple[int, int, int] | None = None) -> dict[str, torch.Tensor]:
    """The sampling loop; every result stays on the params' device (no host sync).
    part: see `_sgld_step` (rows of the expanded R·C axis)."""
    R, C = params[0].shape[0], cfg.chains
    device = params[0].device
    anchor = [p.detach() for p in expand_chains(params, C)]  # w*, each (R*C, ...)
    w = [a.clone().requires_grad_(True) for a in anchor]  # chain state, (R*C, ...)
    gen = torch.Generator(device=device).manual_seed(cfg.seed)

    with torch.no_grad():
        init = loss_fn(anchor, 0)  # (R*C,)
    _check_loss(init, R * C)
    # Chains of one model share w*, so their init losses agree: keep chain 0.
    init = init.to(torch.float64).view(R, C)[:, 0]  # (R,)

    trace = torch.empty(R, C, cfg.draws, dtype=torch.float64, device=device)  # (R, C, T)
    finite = torch.ones(R, C, dtype=torch.bool, device=device)  # (R, C)
    for t in range(cfg.burnin + cfg.draws):
        loss = loss_fn(w, t)  # (R*C,)
        _check_loss(loss, R * C)
        # materialize_grads: a tensor some loss ignores still feels prior + noise.
        grads = torch.autograd.grad(loss.sum(), w, materialize_grads=True)
        loss = loss.detach().to(torch.float64).view(R, C)  # (R, C)
        finite &= torch.isfinite(loss)
        if t >= cfg.burnin:
            trace[:, :, t - cfg.burnin] = loss
        with torch.no_grad():
            _sgld_step(w, grads, anchor, cfg, gen, part)
    return _summarize(trace, init, finite, cfg.nbeta)


def estimate_llc(loss_fn: LossFn, params: list[torch.Tensor],
                 cfg: SGLDConfig = SGLDConfig()) -> dict[str, torch.Tensor]:
    """Estimate the LLC at each of the R models stacked in `params` (each (R, ...)).

    loss_fn(ps, draw) gets tensors of shape (R·C, ...) and the SGLD step index
    (0 ≤ draw < burnin + draws; L_n(w*) is evaluated with draw = 0) and returns
    the per-model mean loss (R·C,). Returns CPU tensors: "llc/mean", "llc/std"
    (R,), "llc/chains" (R, C), "loss/init" (R,), "loss/trace" (R, C, draws),
    losses and estimates in float64. `params` are not modified.

    If loss_fn also takes ``rows=slice(lo·C, hi·C)`` (the loss of models lo:hi only),
    a device OOM splits the models in half and concatenates (module docstring).
    """
    R = params[0].shape[0]
    if not _takes_rows(loss_fn):  # no way to evaluate a subset of the models: no OOM fallback
        # The only host transfer, once, after the loop.
        return {k: v.cpu() for k, v in _run_chains(loss_fn, params, cfg).items()}
    C = cfg.chains

    def attempt(models: Sequence[int]) -> list[dict[str, torch.Tensor]]:
        lo, hi = models[0], models[-1] + 1
        if (lo, hi) == (0, R):  # the whole batch: exactly the plain call
            est = _run_chains(loss_fn, params, cfg)
        else:
            rows = slice(lo * C, hi * C)
            est = _run_chains(lambda ps, draw: loss_fn(ps, draw, rows=rows), [p[lo:hi] for p in params],
                              cfg, part=(lo * C, hi * C, R * C))
        est = {k: v.cpu() for k, v in est.items()}  # one transfer per part, after its loop
        return [{k: v[i] for k, v in est.items()} for i in range(hi - lo)]

    per_model = split_on_oom(attempt, range(R), "LLC batch")
    return {k: torch.stack([m[k] for m in per_model]) for k in per_model[0]}


def _takes_rows(loss_fn: Callable) -> bool:
    try:
        ps = inspect.signature(loss_fn).parameters.values()
    except (TypeError, ValueError):  # builtins, some C callables
        return False
    return any(p.name == "rows" or p.kind is inspect.Parameter.VAR_KEYWORD for p in ps)
