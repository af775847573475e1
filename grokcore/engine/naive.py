"""The naive baseline: one model at a time, torch.nn + torch.optim, like the
seeds' train.py. Used as the oracle for the batched engine (same arithmetic,
same init) and as the reference loop in benchmarks/.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from grokcore.engine import models, tasks
from grokcore.engine.config import RunConfig

TORCH_OPT = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}


class Net(nn.Module):
    """One run of any family, holding its parameters as nn.Parameters and
    reusing the batched forward with a run axis of 1 (same maths, one model)."""

    def __init__(self, cfg: RunConfig, params: dict[str, torch.Tensor] | None = None):
        super().__init__()
        self.cfg = cfg
        if params is None:
            gen = torch.Generator().manual_seed(cfg.seed)
            params = models.init_params(cfg.model, cfg.M, gen, cfg.model.init_scale)
        self.p = nn.ParameterDict({k: nn.Parameter(v.clone()) for k, v in params.items()})
        self.register_buffer("alpha", torch.tensor([cfg.model.alpha]))

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        P = {k: v.unsqueeze(0) for k, v in self.p.items()}
        logits, _ = models.forward(self.cfg.model, P, a[None], b[None], self.alpha)
        return logits[0]  # (B, M)


def make_optimizer(cfg: RunConfig, params) -> torch.optim.Optimizer:
    o = cfg.optim
    if o.name == "sgd":
        return torch.optim.SGD(params, lr=o.lr, momentum=o.momentum, weight_decay=o.weight_decay)
    return TORCH_OPT[o.name](params, lr=o.lr, betas=(o.beta1, o.beta2), eps=o.eps,
                             weight_decay=o.weight_decay, foreach=False)


def train_one(cfg: RunConfig, device: str = "cpu") -> dict[str, list[float]]:
    """Full-batch training of one run, evaluating every eval_every steps with
    host syncs (.item()), as a typical single-run script does."""
    a, b, y = (t.to(device) for t in tasks.table(cfg.task, cfg.M))
    tr, te = (t.to(device) for t in tasks.run_split(cfg.task, cfg.M, cfg.ratio, cfg.n_train,
                                                     cfg.split_seed, cfg.curriculum))
    net = Net(cfg).to(device)
    opt = make_optimizer(cfg, net.parameters())
    log = {"step": [], "train/loss": [], "test/acc": []}
    for step in range(cfg.steps + 1):
        if step % cfg.eval_every == 0 or step == cfg.steps:
            with torch.no_grad():
                acc = (net(a[te], b[te]).argmax(-1) == y[te]).float().mean().item()
            log["step"].append(step)
            log["test/acc"].append(acc)
        if step == cfg.steps:
            break
        opt.zero_grad()
        loss = F.cross_entropy(net(a[tr], b[tr]), y[tr])
        loss.backward()
        opt.step()
        if step % cfg.eval_every == 0:
            log["train/loss"].append(loss.item())
    return log
