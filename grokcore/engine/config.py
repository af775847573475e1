"""Frozen run configurations and their stable hashes.

A run is fully described by a `RunConfig`: the task (operation, modulus, split),
the model (`ModelSpec`), the optimizer (`OptimSpec`), the step budget and the
seeds. Its `key` (sha256 of the canonical JSON plus `SEMANTICS_VERSION`) is the
cache key, the store's primary key and the report's provenance. Bump
`SEMANTICS_VERSION` whenever a change to tasks/models/optim/train would change
what a config trains into, so stale cached results are never reused.

Runs that share a `batch_key` (same shapes and loop structure) can be trained
together in one batched call; everything else (seeds, split, lr, weight decay,
betas, init scale, alpha) is per run.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field

SEMANTICS_VERSION = "2"  # 2: gradient statistics on the last logged row

FAMILIES = ("li2", "embed_mlp", "mu_mlp", "transformer")
ACTIVATIONS = ("x2", "relu", "x+x2", "gelu", "silu")
OPTIMIZERS = ("adam", "adamw", "sgd")
LOSSES = ("ce", "mse")
# Optional metric groups train.train logs at every evaluation (train/test loss and accuracy are
# always logged: the summary and early stop need them). norm/<p>, delta/<p>, rel_delta/<p>,
# drift/<p>, grad/<p> per parameter; gf = gf/norm (G_F); grad_cos = grad/cos.
METRICS = ("norm", "delta", "rel_delta", "drift", "grad", "gf", "grad_cos")


@dataclass(frozen=True)
class ModelSpec:
    """Architecture of one run.

    family: li2 | embed_mlp | mu_mlp | transformer.
    width: hidden width K (li2, embed_mlp, mu_mlp) or d_model (transformer).
    embed: embedding dim (embed_mlp; 0 means = width).
    depth: hidden layers (li2, mu_mlp) or transformer blocks.
    act: hidden activation.
    heads: attention heads (transformer).
    alpha: output scaled by width**(-alpha) (mu_mlp; 0 = rich, 0.5 = lazy).
    init_scale: multiplies every initial weight (per run).
    zero_out: initialize the output layer at zero (li2).
    """

    family: str = "li2"
    width: int = 512
    embed: int = 0
    depth: int = 1
    act: str = "x2"
    heads: int = 4
    alpha: float = 0.0
    init_scale: float = 1.0
    zero_out: bool = False

    def __post_init__(self):
        if self.family not in FAMILIES:
            raise ValueError(f"model family {self.family!r} not in {FAMILIES}")
        if self.act not in ACTIVATIONS:
            raise ValueError(f"activation {self.act!r} not in {ACTIVATIONS}")
        if self.width < 1 or self.depth < 1 or self.embed < 0:
            raise ValueError(f"width, depth must be >= 1 and embed >= 0, got {self}")
        if self.family == "transformer" and self.width % self.heads:
            raise ValueError(f"d_model={self.width} not divisible by heads={self.heads}")


@dataclass(frozen=True)
class OptimSpec:
    """Optimizer of one run: adam (coupled L2, as torch.optim.Adam), adamw
    (decoupled), sgd (coupled L2, optional momentum)."""

    name: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    beta1: float = 0.9
    beta2: float = 0.999
    momentum: float = 0.0
    eps: float = 1e-8

    def __post_init__(self):
        if self.name not in OPTIMIZERS:
            raise ValueError(f"optimizer {self.name!r} not in {OPTIMIZERS}")
        if not self.lr > 0 or self.weight_decay < 0:
            raise ValueError(f"need lr > 0 and weight_decay >= 0, got {self}")


@dataclass(frozen=True)
class RunConfig:
    """One training run. Exactly one of `ratio` (fraction of the M² pairs) and
    `n_train` (count) sets the training split; `curriculum` optionally
    restricts training pairs to inputs < r (seed 004's nested stages)."""

    task: str = "add"
    M: int = 97
    ratio: float | None = 0.3
    n_train: int | None = None
    split_seed: int = 0
    model: ModelSpec = field(default_factory=ModelSpec)
    optim: OptimSpec = field(default_factory=OptimSpec)
    steps: int = 1000
    eval_every: int = 10
    batch_size: int = 0  # 0 = full batch
    loss: str = "ce"
    seed: int = 0
    curriculum: int = 0  # 0 = none; r > 0: only pairs with a < r and b < r
    metrics: tuple[str, ...] = METRICS  # optional metric groups to log (see METRICS); default all

    def __post_init__(self):
        if isinstance(self.metrics, (list, str)):  # from JSON (a list) or a single name
            object.__setattr__(self, "metrics", tuple([self.metrics] if isinstance(self.metrics, str) else self.metrics))
        bad = [m for m in self.metrics if m not in METRICS]
        if bad or len(set(self.metrics)) != len(self.metrics):
            raise ValueError(f"metrics must be distinct names from {METRICS}, got {self.metrics}")
        # canonical order, so the same selection has one key
        object.__setattr__(self, "metrics", tuple(m for m in METRICS if m in self.metrics))
        if (self.ratio is None) == (self.n_train is None):
            raise ValueError("set exactly one of ratio and n_train")
        if self.loss not in LOSSES:
            raise ValueError(f"loss {self.loss!r} not in {LOSSES}")
        if self.steps < 1 or self.eval_every < 1 or self.batch_size < 0:
            raise ValueError("steps and eval_every must be >= 1, batch_size >= 0")

    def to_dict(self) -> dict:
        """Plain dict (JSON-ready). ``metrics`` appears only when it differs from the default (all),
        so the dict, and with it the key, of every config written before the field existed is unchanged."""
        d = dataclasses.asdict(self)
        if d["metrics"] == METRICS:
            del d["metrics"]
        else:
            d["metrics"] = list(d["metrics"])
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "RunConfig":
        d = dict(d)
        d["model"] = ModelSpec(**d.get("model", {}))
        d["optim"] = OptimSpec(**d.get("optim", {}))
        return cls(**d)

    @property
    def key(self) -> str:
        """Content address: sha256 of canonical JSON + training-semantics version."""
        blob = json.dumps({"v": SEMANTICS_VERSION, "cfg": self.to_dict()}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:32]

    @property
    def batch_key(self) -> tuple:
        """Runs with equal batch_key train together: same shapes and loop."""
        m = self.model
        shape = (m.family, m.width, m.embed, m.depth, m.act, m.heads, m.zero_out)
        return (self.task, self.M, shape, self.optim.name, self.optim.eps,
                self.steps, self.eval_every, self.batch_size, self.loss, self.metrics)

    def replace(self, **kw) -> "RunConfig":
        return dataclasses.replace(self, **kw)
