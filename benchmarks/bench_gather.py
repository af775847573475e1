"""The per-run row gather on CPU: index_select (today) vs the F.embedding lookup it replaced,
side by side in one process, on whole training batches of every model family.

``models._gather_rows`` looks up each run's rows of its (R, V, C) table (Li² W, the MLPs'
embeddings, the transformer's tokens). Both ways compute the same rows; their backward passes
differ in speed only: embedding's CPU backward adds one gradient row per index as a separate
tensor op, index_select's (index_add_) reuses one iterator. This script trains each batch with
both (alternating, ``--repeats`` times each, the minimum wall time kept), checks that the two
give the same parameters and histories bit for bit (exit status 1 if not), and prints the ratio.
The batches are the fast tier's shapes (claims/designs, read here, not imported), 1 thread:

    python benchmarks/bench_gather.py                # 3 repeats, 300 steps per batch
    python benchmarks/bench_gather.py --steps 50 --repeats 1   # smoke
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from grokcore.engine import models
from grokcore.engine import train as T
from grokcore.engine.config import ModelSpec, OptimSpec, RunConfig


def _reps(c: RunConfig, k: int) -> list[RunConfig]:
    return [c.replace(seed=c.seed + r, split_seed=c.split_seed + r) for r in range(k)]


def batches(steps: int) -> dict[str, list[RunConfig]]:
    """One batch per family at the fast tier's scale (claims/designs/*.py GRIDS["fast"], 2026-12)."""
    li2 = dict(task="add", M=41, ratio=None, n_train=900, steps=steps, eval_every=20,
               optim=OptimSpec(name="adam", lr=1e-2, weight_decay=3e-4))
    return {
        "li2 x2 M=41 K=64 n=900, 12 runs": _reps(RunConfig(model=ModelSpec(family="li2", width=64, act="x2"), **li2), 12),
        "li2 depth 2 relu M=41 K=64 n=900, 12 runs": _reps(RunConfig(
            model=ModelSpec(family="li2", width=64, depth=2, act="relu"), **li2), 12),
        "embed_mlp mod 64 D=12 K=48 n=1500, 3 runs": _reps(RunConfig(
            task="add", M=64, ratio=None, n_train=1500, steps=steps, eval_every=50,
            model=ModelSpec(family="embed_mlp", width=48, embed=12, act="gelu"),
            optim=OptimSpec(name="adam", lr=5e-3, weight_decay=2e-4)), 3),
        "mu_mlp M=31 K=128, 10 runs": _reps(RunConfig(
            M=31, ratio=0.7, steps=steps, eval_every=20, model=ModelSpec(family="mu_mlp", width=128, act="relu"),
            optim=OptimSpec(name="adamw", lr=3e-2, weight_decay=1.0)), 10),
        "transformer d=16 M=23, 6 runs": _reps(RunConfig(
            M=23, ratio=0.5, steps=steps, eval_every=10,
            model=ModelSpec(family="transformer", width=16, depth=2, act="gelu", heads=4),
            optim=OptimSpec(name="adamw", lr=3e-3, weight_decay=1.0, beta1=0.9, beta2=0.98)), 6),
    }


def embedding_gather(table: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """The replaced lookup: F.embedding on the flat (R·V, C) table with per-run row offsets."""
    R, V, C = table.shape
    return F.embedding(idx + models._row_offsets(R, V, idx.device), table.reshape(R * V, C))


def timed(cfgs: list[RunConfig], gather) -> tuple[T.TrainResult, float]:
    today = models._gather_rows
    models._gather_rows = gather
    try:
        t0 = time.perf_counter()
        res = T.train(cfgs, early_stop=False)
        return res, time.perf_counter() - t0
    finally:
        models._gather_rows = today


def same(a: T.TrainResult, b: T.TrainResult) -> bool:
    return all(torch.equal(a.params[k], b.params[k]) for k in a.params) and all(
        np.array_equal(ha.metrics[k], hb.metrics[k], equal_nan=True)
        for ha, hb in zip(a.histories, b.histories) for k in ha.metrics)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    ok = True
    with T.torch_threads(1):
        print(f"torch {torch.__version__}, CPU capability {torch.backends.cpu.get_cpu_capability()}, 1 thread, "
              f"{args.steps} steps per batch, min of {args.repeats} alternating repeats")
        for name, cfgs in batches(args.steps).items():
            te = ti = float("inf")
            eq = True
            for _ in range(args.repeats):  # alternating, so both ways see the same machine load
                (old, t_old), (new, t_new) = timed(cfgs, embedding_gather), timed(cfgs, models._gather_rows)
                te, ti, eq = min(te, t_old), min(ti, t_new), eq and same(old, new)
            ok &= eq
            print(f"{name:44s} embedding {te:6.2f} s  index_select {ti:6.2f} s  ratio {ti / te:.3f}  "
                  f"bit-identical {eq}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
