"""Throughput benchmark: the batched engine vs the naive one-run-at-a-time loop.

Trains the same sweep (Li² nets, R runs over several train ratios and seeds,
fixed steps, full batch, Adam) two ways in one process and prints model-steps
per second for both, their ratio and the peak memory of each phase:

  python -m grokcore.engine.bench --runs 64 --M 71 --width 512 --steps 20      # CPU
  python -m grokcore.engine.bench --runs 256 --M 71 --width 512 --steps 200 --device cuda

The naive loop is `grokcore.engine.naive.train_one` (torch.nn + torch.optim, an
.item() sync at every evaluation, as the seeds' train.py). To keep CPU runs
short the naive loop may time only the first `--naive-runs` runs; the rate is
per model-step either way.

Equal measurement by default: the naive loop measures the test accuracy and the training
loss at each evaluation, so the engine's configs select no optional metric group
(`RunConfig.metrics = ()`: it still logs train and test loss and accuracy, on all M² pairs).
`--full-metrics` adds every claim metric (gradient norms, G_F, gradient cosine, weight
norms, change and drift), as the claim suite trains. `--compile` also times the engine with
`train(..., compile=True)` (its compilation in an untimed warm-up) and prints its gain.
"""
from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import torch

from grokcore.engine import naive, sweep
from grokcore.engine.config import METRICS, ModelSpec, OptimSpec, RunConfig
from grokcore.engine.train import train


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _reset_peak(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    else:  # Linux: writing 5 to clear_refs resets the peak RSS (VmHWM)
        try:
            Path("/proc/self/clear_refs").write_text("5")
        except OSError:
            pass


def _peak_mib(device: str) -> float:
    if device.startswith("cuda"):
        return torch.cuda.max_memory_allocated() / 2**20
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def sweep_configs(runs: int, M: int, width: int, steps: int, eval_every: int,
                  metrics: tuple[str, ...] = METRICS) -> list[RunConfig]:
    ratios = [0.2, 0.3, 0.4, 0.5]
    return [RunConfig(task="add", M=M, ratio=ratios[i % len(ratios)], split_seed=i, seed=i, steps=steps,
                      eval_every=eval_every, model=ModelSpec(family="li2", width=width, act="x2"),
                      optim=OptimSpec(name="adam", lr=5e-4, weight_decay=2e-4), metrics=metrics)
            for i in range(runs)]


def time_engine(plan: list[list[RunConfig]], device: str, **train_kw) -> tuple[float, float]:
    """(seconds, peak MiB) to train every chunk of `plan`, after an untimed warm-up of 3 steps
    on every chunk (allocator, kernels; with compile=True, the compilation for each chunk's shapes)."""
    for chunk in plan:
        train([c.replace(steps=3, eval_every=2) for c in chunk], device, early_stop=False, **train_kw)
    _reset_peak(device)
    _sync(device)
    t = time.perf_counter()
    for chunk in plan:
        train(chunk, device, early_stop=False, **train_kw)
    _sync(device)
    return time.perf_counter() - t, _peak_mib(device)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="grokcore bench", description=__doc__.split("\n")[0])
    p.add_argument("--runs", type=int, default=64)
    p.add_argument("--M", type=int, default=71)
    p.add_argument("--width", type=int, default=512)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--eval-every", type=int, default=10)
    p.add_argument("--naive-runs", type=int, default=0, help="time the naive loop on this many runs (0 = all)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--threads", type=int, default=0, help="torch intra-op threads on CPU (0 = torch default)")
    p.add_argument("--max-batch", type=int, default=256, help="most runs per training chunk (sweep.run's default)")
    p.add_argument("--full-metrics", action="store_true",
                   help="the engine logs every claim metric (default: what the naive loop measures)")
    p.add_argument("--compile", action="store_true", help="also time the engine with torch.compile and print its gain")
    a = p.parse_args(argv)
    if min(a.runs, a.M, a.width, a.steps, a.eval_every, a.max_batch) < 1 or a.naive_runs < 0:
        p.error("--runs, --M, --width, --steps, --eval-every and --max-batch must be >= 1, --naive-runs >= 0")
    if a.threads:
        torch.set_num_threads(a.threads)
    cfgs = sweep_configs(a.runs, a.M, a.width, a.steps, a.eval_every, METRICS if a.full_metrics else ())

    plan = sweep.chunks(cfgs, a.max_batch, a.device)  # as sweep.run groups them
    t_batched, mem_batched = time_engine(plan, a.device)
    if a.compile:
        t_comp, mem_comp = time_engine(plan, a.device, compile=True)

    naive_cfgs = cfgs[: a.naive_runs] if a.naive_runs else cfgs
    naive.train_one(naive_cfgs[0].replace(steps=2), a.device)  # warm-up
    _reset_peak(a.device)
    t = time.perf_counter()
    for c in naive_cfgs:
        naive.train_one(c, a.device)
    _sync(a.device)
    t_naive, mem_naive = time.perf_counter() - t, _peak_mib(a.device)

    rate_b = len(cfgs) * a.steps / t_batched
    rate_n = len(naive_cfgs) * a.steps / t_naive
    dev = torch.cuda.get_device_name() if a.device.startswith("cuda") else f"{platform.processor() or 'cpu'} x{torch.get_num_threads()} threads"
    print(f"device: {dev}; torch {torch.__version__}; Li² M={a.M} K={a.width}, {len(cfgs)} runs x {a.steps} steps, "
          f"eval every {a.eval_every}; batched as {len(plan)} chunks of {min(map(len, plan))}-{max(map(len, plan))} runs")
    print("engine measures: " + ("every claim metric (--full-metrics)" if a.full_metrics else
                                 "train/test loss and accuracy only (as the naive loop; --full-metrics for all)"))
    print(f"batched engine : {rate_b:10.1f} model-steps/s  ({t_batched:.2f}s, peak {mem_batched:.0f} MiB)")
    if a.compile:
        rate_c = len(cfgs) * a.steps / t_comp
        print(f"  compiled     : {rate_c:10.1f} model-steps/s  ({t_comp:.2f}s, peak {mem_comp:.0f} MiB): "
              f"{rate_c / rate_b:.2f}x the eager engine, {rate_c / (len(naive_cfgs) * a.steps / t_naive):.2f}x naive")
    print(f"naive loop     : {rate_n:10.1f} model-steps/s  ({t_naive:.2f}s for {len(naive_cfgs)} runs, peak {mem_naive:.0f} MiB)")
    print(f"speed-up       : {rate_b / rate_n:10.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
