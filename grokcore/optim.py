"""Adam, AdamW and SGD over stacked parameters with per-run hyperparameters.

Every parameter is (R, ...); lr, weight decay, betas and momentum are (R,)
tensors broadcast over the non-run axes, so one update serves R runs with R
different settings. The arithmetic follows torch.optim exactly (single-tensor
code path), which the oracle tests check:

  adam  (coupled L2):  g ← g + λ w
  adamw (decoupled):   w ← w (1 − η λ)
  both:  m ← β1 m + (1 − β1) g;  v ← β2 v + (1 − β2) g²
         w ← w − (η / (1 − β1^t)) · m / (√v / √(1 − β2^t) + ε)
  sgd:   g ← g + λ w;  b ← μ b + g;  w ← w − η b
"""
from __future__ import annotations

import torch

from .config import OptimSpec


def _per_run(x: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """(R,) -> (R, 1, ..., 1) matching p's rank, to scale each run's slice."""
    return x.view(-1, *([1] * (p.dim() - 1)))


class BatchedOptimizer:
    """One optimizer for R runs. `specs` are the runs' OptimSpecs; they must
    share the algorithm and eps (a shape-level choice); the rest is per run."""

    def __init__(self, params: dict[str, torch.Tensor], specs: list[OptimSpec]):
        names = {s.name for s in specs}
        if len(names) != 1 or len({s.eps for s in specs}) != 1:
            raise ValueError(f"runs in one batch must share optimizer and eps, got {names}")
        self.name = names.pop()
        self.eps = specs[0].eps
        dev = next(iter(params.values())).device

        def col(attr: str) -> torch.Tensor:
            return torch.tensor([float(getattr(s, attr)) for s in specs], dtype=torch.float32, device=dev)

        self.lr, self.wd = col("lr"), col("weight_decay")  # (R,)
        self.beta1, self.beta2, self.momentum = col("beta1"), col("beta2"), col("momentum")
        self.t = 0
        self.state = {k: {n: torch.zeros_like(p) for n in self._buffers()} for k, p in params.items()}

    def _buffers(self) -> tuple[str, ...]:
        return ("m", "v") if self.name in ("adam", "adamw") else ("buf",)

    def state_dict(self) -> dict:
        return {"t": self.t, "state": {k: {n: b.detach().clone() for n, b in s.items()} for k, s in self.state.items()}}

    def load_state_dict(self, sd: dict) -> None:
        self.t = sd["t"]
        for k, s in sd["state"].items():
            for n, b in s.items():
                self.state[k][n].copy_(b)

    @torch.no_grad()
    def step(self, params: dict[str, torch.Tensor], grads: dict[str, torch.Tensor]) -> None:
        self.t += 1
        t = self.t
        for k, p in params.items():
            g, st = grads[k], self.state[k]
            lr, wd = _per_run(self.lr, p), _per_run(self.wd, p)
            if self.name == "sgd":
                g = g + wd * p
                st["buf"].mul_(_per_run(self.momentum, p)).add_(g)
                p.sub_(lr * st["buf"])
                continue
            if self.name == "adam":
                g = g + wd * p
            else:
                p.mul_(1 - lr * wd)
            b1, b2 = _per_run(self.beta1, p), _per_run(self.beta2, p)
            st["m"].mul_(b1).add_((1 - b1) * g)
            st["v"].mul_(b2).addcmul_(g, g * (1 - b2))
            bc1, bc2 = 1 - b1**t, 1 - b2**t
            denom = st["v"].sqrt() / bc2.sqrt() + self.eps
            p.sub_((lr / bc1) * st["m"] / denom)
