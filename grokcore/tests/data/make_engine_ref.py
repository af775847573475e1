"""Write engine_ref.npz: every history array and final parameter of a few small configs,
trained by the engine at the commit this file was run at (c72d971, main before the GPU step
work). test_engine_ref.py checks the current engine reproduces them bit for bit on CPU.

Regenerate ONLY to accept an intended change of training semantics (and bump
config.SEMANTICS_VERSION then):  PYTHONPATH=. python grokcore/tests/data/make_engine_ref.py
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from grokcore.engine.config import ModelSpec, OptimSpec, RunConfig
from grokcore.engine.train import train, torch_threads

OUT = Path(__file__).with_name("engine_ref.npz")


def ref_batches() -> dict[str, list[RunConfig]]:
    """Name -> one batch of configs: Li² (Adam + coupled WD, full batch; SGD + momentum, minibatch),
    a 2-block transformer (AdamW), mu_mlp (alpha per run, MSE), embed_mlp (Adam, minibatch)."""
    li2 = RunConfig(M=13, ratio=0.5, model=ModelSpec(family="li2", width=32), steps=24, eval_every=5,
                    optim=OptimSpec(name="adam", lr=3e-3, weight_decay=1e-3))
    sgd = li2.replace(batch_size=16, optim=OptimSpec(name="sgd", lr=5e-2, weight_decay=1e-3, momentum=0.9))
    tf = RunConfig(M=11, ratio=0.5, steps=20, eval_every=4,
                   model=ModelSpec(family="transformer", width=16, depth=2, act="gelu", heads=4),
                   optim=OptimSpec(name="adamw", lr=3e-3, weight_decay=1.0, beta2=0.98))
    mu = RunConfig(M=11, ratio=0.6, steps=20, eval_every=5, loss="mse",
                   model=ModelSpec(family="mu_mlp", width=24, depth=2, act="relu"),
                   optim=OptimSpec(name="adamw", lr=1e-2, weight_decay=0.5))
    emb = RunConfig(M=16, ratio=0.4, steps=20, eval_every=6, batch_size=32,
                    model=ModelSpec(family="embed_mlp", width=24, embed=6, act="gelu"),
                    optim=OptimSpec(name="adam", lr=5e-3, weight_decay=2e-4))
    return {
        "li2_adam": [li2.replace(seed=s, split_seed=s, ratio=r) for s, r in ((0, 0.5), (1, 0.4), (2, 0.45))],
        "li2_sgd": [sgd.replace(seed=s, split_seed=s) for s in range(2)],
        "transformer_adamw": [tf.replace(seed=s, split_seed=s) for s in range(2)],
        "mu_mlp_mse": [mu.replace(seed=s, split_seed=s, model=ModelSpec(family="mu_mlp", width=24, depth=2,
                                                                         act="relu", alpha=a))
                       for s, a in ((0, 0.0), (1, 0.5))],
        "embed_mlp_adam": [emb.replace(seed=s, split_seed=s) for s in range(2)],
    }


def flatten(name: str, res) -> dict[str, np.ndarray]:
    out = {}
    for r, h in enumerate(res.histories):
        for k, v in h.metrics.items():
            out[f"{name}/{r}/hist/{k}"] = np.asarray(v)
    for k, v in res.params.items():
        out[f"{name}/param/{k}"] = v.cpu().numpy()
    return out


def compute(**train_kw) -> dict[str, np.ndarray]:
    arrays = {}
    with torch_threads(1):
        for name, cfgs in ref_batches().items():
            arrays |= flatten(name, train(cfgs, "cpu", early_stop=False, **train_kw))
    return arrays


if __name__ == "__main__":
    np.savez_compressed(OUT, **compute())
    print(f"wrote {OUT}")
