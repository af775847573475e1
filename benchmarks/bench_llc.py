"""Batched LLC vs one model at a time, side by side in one process.

Estimates the LLC of Q models (seed 004's devinterp-example net: embed 12,
hidden 48, GELU, a + b mod 64, 40% train split; each model its own seeded init,
trained briefly so the checkpoints differ) two ways with the same SGLD settings:

  batched:  one `staged.checkpoint_llc` call over all Q models (Q x chains rows)
  one-by-one: Q calls with one model each (what a per-checkpoint loop does)

and prints models per second for both and their ratio:

  python benchmarks/bench_llc.py --models 32 --draws 100            # CPU
  python benchmarks/bench_llc.py --models 256 --draws 500 --device cuda

The two ways draw different SGLD noise (one generator per call), so their
estimates agree only statistically; the mean |difference| over models is
printed next to the chains' own spread as a sanity check, not as an oracle
(the batched == separate oracle for training lives in grokcore/tests).
"""
from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch

from grokcore.engine.config import ModelSpec, OptimSpec, RunConfig
from grokcore.engine.llc import SGLDConfig
from grokcore.engine.staged import checkpoint_llc
from grokcore.engine.train import train


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def models(q: int, steps: int, device: str) -> list[tuple[RunConfig, dict]]:
    cfgs = [RunConfig(task="add", M=64, ratio=0.4, seed=s, split_seed=s, steps=steps, eval_every=max(1, steps),
                      model=ModelSpec(family="embed_mlp", width=48, embed=12, act="gelu"),
                      optim=OptimSpec(name="adamw", lr=1e-2, weight_decay=1.0)) for s in range(q)]
    res = train(cfgs, device, early_stop=False)
    return [(c, {k: v[r].detach() for k, v in res.params.items()}) for r, c in enumerate(cfgs)]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--models", type=int, default=32)
    p.add_argument("--draws", type=int, default=100)
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--batch-size", type=int, default=128, help="SGLD minibatch (0 = full batch)")
    p.add_argument("--train-steps", type=int, default=200, help="training steps before estimating")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--threads", type=int, default=0, help="torch intra-op threads on CPU (0 = torch default)")
    a = p.parse_args(argv)
    if a.models < 1 or a.draws < 1 or a.chains < 1:
        p.error("--models, --draws and --chains must be >= 1")
    if a.threads:
        torch.set_num_threads(a.threads)
    items = models(a.models, a.train_steps, a.device)
    sgld = SGLDConfig(draws=a.draws, chains=a.chains, seed=0)
    checkpoint_llc(items[:2], SGLDConfig(draws=5, chains=a.chains), a.device, a.batch_size)  # warm-up

    _sync(a.device)
    t = time.perf_counter()
    batched = checkpoint_llc(items, sgld, a.device, a.batch_size)
    _sync(a.device)
    t_b = time.perf_counter() - t

    t = time.perf_counter()
    alone = [checkpoint_llc([it], sgld, a.device, a.batch_size) for it in items]
    _sync(a.device)
    t_a = time.perf_counter() - t

    lb = batched["llc/mean"]
    la = np.array([r["llc/mean"][0] for r in alone])
    dev = torch.cuda.get_device_name() if a.device.startswith("cuda") else platform.processor() or "cpu"
    print(f"device: {a.device} ({dev}), torch {torch.__version__}, threads {torch.get_num_threads()}")
    print(f"LLC of {a.models} models (embed_mlp M=64 K=48), {a.chains} chains x {a.draws} draws, "
          f"SGLD minibatch {a.batch_size or 'full'}")
    print(f"batched:    {t_b:8.2f} s  {a.models / t_b:9.2f} models/s")
    print(f"one-by-one: {t_a:8.2f} s  {a.models / t_a:9.2f} models/s")
    print(f"speed-up:   {t_a / t_b:8.2f}x")
    print(f"mean LLC batched {lb.mean():.3f}, one-by-one {la.mean():.3f}; mean |diff| {np.abs(lb - la).mean():.3f} "
          f"(mean chain std {np.nanmean(batched['llc/std']):.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
