"""Compaction vs whole-batch early stop on a Li² boundary batch, side by side in one process.

The batch is built here, as the fast tier's li2-boundary search builds its runs (GRIDS["fast"]
["boundary"] in claims/test_li2.py, read, not imported: Li² x², K = 64, Adam lr 1e-2, weight
decay 3e-4, 1500 steps, eval every 20, chunks of at most 16 runs): for each M, n_train at
fractions of the boundary guess n0 (M/M0) log M / log M0 (n0 = 220 at M0 = 17, the search's
prior centre), snapped to the search's grid round(100 1.05^i), so some runs grok early, some
late and some not at all; `seeds` init/split seeds per point.

Each repeat trains the whole batch with `sweep.run` (no store) three ways, in alternating order:
  batch    today's default, early_stop=True: a chunk stops once every run in it generalized
  compact  compact=True: each run leaves its chunk at the first check after it generalized
  full     (--full) early_stop=False: every run to its budget
and prints wall time, this process's CPU time (time.process_time: on a shared machine it moves
far less with the other jobs' load than wall time does), run-steps (sum over runs of the steps trained while in the batch, i.e.
of each history's last step) and batched steps (iterations of the training loop: per chunk,
its longest run's last step), plus how far every compact history is from the batch one cut at
its stop: arrays that differ, the worst difference relative to the array's scale (all metrics
but the last row's delta/rel_delta, which a history's last row never has), and whether
accuracies, generalized_step and the stop rows are identical (exit status 1 if not). Compaction removes rows from
a chunk's steps, never steps: the loop runs as long as the chunk's slowest run either way.

    python benchmarks/bench_compaction.py                 # the fast tier's scale, 3 repeats
    python benchmarks/bench_compaction.py --M 17 --fracs 0.9 1.1 --seeds 2 --steps 200   # toy
"""
from __future__ import annotations

import argparse
import math
import sys
import time

import numpy as np

from grokcore.engine import sweep
from grokcore.engine.config import ModelSpec, OptimSpec, RunConfig
from grokcore.engine.train import torch_threads

# claims/test_li2.py GRIDS["fast"]["boundary"] and _FAST_S (2026-12, read by hand)
FAST = dict(M=[17, 19, 23, 31, 41], width=64, steps=1500, eval_every=20, lr=1e-2, wd=3e-4, max_batch=16,
            n_min=100, grid_ratio=1.05, M0=17, n0=220, seeds=3)


def snap(n: float, g: dict = FAST) -> int:
    """n onto the search's absolute grid round(n_min grid_ratio^i)."""
    i = round(math.log(n / g["n_min"]) / math.log(g["grid_ratio"]))
    return round(g["n_min"] * g["grid_ratio"] ** max(i, 0))


def configs(Ms, fracs, seeds: int, steps: int, g: dict = FAST) -> list[RunConfig]:
    out = []
    for M in Ms:
        guess = g["n0"] * (M / g["M0"]) * math.log(M) / math.log(g["M0"])
        for f in fracs:
            n = min(snap(f * guess, g), int(0.95 * M * M))
            out += [RunConfig(task="add", M=M, ratio=None, n_train=n,
                              model=ModelSpec(family="li2", width=g["width"]),
                              optim=OptimSpec(name="adam", lr=g["lr"], weight_decay=g["wd"]),
                              steps=steps, eval_every=g["eval_every"], seed=s, split_seed=s) for s in range(seeds)]
    return out


def run_steps(hists) -> int:
    """Steps trained, summed over runs: a run trains until its history's last step."""
    return int(sum(int(h.metrics["step"][-1]) for h in hists))


def compare(compact, longer) -> dict:
    """Each compact history against a longer history of the same run (full budget, else the
    batch's) cut at its length. A batch may stop a run before compaction would (the batch
    compares accuracy with 0.95 in float32, compaction as the summary, in float64: they differ
    at an accuracy of exactly float32(0.95)); such runs are compared over the batch's rows."""
    n_arr = n_diff = n_past = 0
    worst, acc_same, gen_same, stop_ok = 0.0, True, True, True
    for hc, hb in zip(compact, longer):
        E = len(hc.metrics["step"])
        if E > len(hb.metrics["step"]):
            n_past, E = n_past + 1, len(hb.metrics["step"])
        gen_same &= hc.summary["generalized_step"] == hb.summary["generalized_step"]
        stop_ok &= hc.summary["stop"] != "grokked" or hc.summary["generalized_step"] is not None
        for k, v in hc.metrics.items():
            v, ref = v[:E], hb.metrics[k][:E]
            if k.startswith(("delta/", "rel_delta/")):
                v, ref = v[:-1], ref[:-1]
            n_arr += 1
            if np.array_equal(v, ref, equal_nan=True):
                continue
            n_diff += 1
            acc_same &= not k.endswith("/acc")
            ok = np.isfinite(ref) & np.isfinite(v)
            worst = max(worst, float(np.abs(v[ok] - ref[ok]).max(initial=0) / max(np.abs(ref[ok]).max(initial=0), 1e-30)))
    return dict(arrays=n_arr, differ=n_diff, worst=worst, acc_same=acc_same, gen_same=gen_same, stop_ok=stop_ok,
                past=n_past)


def batched_steps(hists, max_batch: int) -> int:
    """Training-loop iterations: sweep.run's chunks (sweep.chunks), each as long as its longest run."""
    by_key = {h.config.key: h for h in hists}
    groups: dict = {}
    for h in hists:
        groups.setdefault(h.config.batch_key, []).append(h.config)
    return int(sum(max(int(by_key[c.key].metrics["step"][-1]) for c in ch)
                   for g in groups.values() for ch in sweep.chunks(g, max_batch, "cpu")))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--M", type=int, nargs="+", default=FAST["M"])
    p.add_argument("--fracs", type=float, nargs="+", default=[0.8, 0.9, 1.0, 1.1, 1.25, 1.5],
                   help="n_train as fractions of the boundary guess")
    p.add_argument("--seeds", type=int, default=FAST["seeds"])
    p.add_argument("--steps", type=int, default=FAST["steps"])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--full", action="store_true", help="also time early_stop=False (every run to its budget)")
    a = p.parse_args(argv)
    if a.seeds < 1 or a.repeats < 1 or a.steps < 1:
        p.error("--seeds, --repeats and --steps must be >= 1")
    cfgs = configs(a.M, a.fracs, a.seeds, a.steps)
    ways = {"batch": dict(), "compact": dict(compact=True)} | ({"full": dict(early_stop=False)} if a.full else {})
    print(f"Li² boundary batch: M {a.M}, n_train {sorted({c.n_train for c in cfgs})}, {a.seeds} seeds, "
          f"{len(cfgs)} runs x {a.steps} steps, K {FAST['width']}, chunks of <= {FAST['max_batch']}, "
          f"{a.threads} torch thread(s)")
    wall: dict[str, list[float]] = {w: [] for w in ways}
    cpu: dict[str, list[float]] = {w: [] for w in ways}
    out = {}
    with torch_threads(a.threads):
        for rep in range(a.repeats):
            order = list(ways) if rep % 2 == 0 else list(reversed(ways))
            for w in order:
                t0, c0 = time.perf_counter(), time.process_time()
                out[w] = sweep.run(cfgs, max_batch=FAST["max_batch"], experiment="bench", **ways[w])
                wall[w].append(time.perf_counter() - t0)
                cpu[w].append(time.process_time() - c0)
            print(f"  repeat {rep + 1}: " + ", ".join(f"{w} {wall[w][-1]:.2f} s (cpu {cpu[w][-1]:.2f} s)"
                                                      for w in ways), flush=True)
    steps = {w: run_steps(out[w]) for w in ways}
    loops = {w: batched_steps(out[w], FAST["max_batch"]) for w in ways}
    grokked = sum(h.summary["generalized_step"] is not None for h in out["batch"])
    print(f"\n{grokked} of {len(cfgs)} runs generalized within {a.steps} steps")
    print(f"| way | wall s (median of {a.repeats}) | min | max | cpu s (median) | min | run-steps | batched steps "
          f"| vs batch: wall | cpu | run-steps |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    med = {w: float(np.median(wall[w])) for w in ways}
    mcpu = {w: float(np.median(cpu[w])) for w in ways}
    for w in ways:
        print(f"| {w} | {med[w]:.2f} | {min(wall[w]):.2f} | {max(wall[w]):.2f} | {mcpu[w]:.2f} | {min(cpu[w]):.2f} | "
              f"{steps[w]} | {loops[w]} | {med[w] / med['batch']:.2f}x | {mcpu[w] / mcpu['batch']:.2f}x | "
              f"{steps[w] / steps['batch']:.2f}x |")
    ref = "full" if "full" in out else "batch"
    cmp = compare(out["compact"], out[ref])
    print(f"compact vs {ref} cut at each run's stop: {cmp['differ']} of {cmp['arrays']} arrays differ, worst "
          f"{cmp['worst']:.1e} of scale; accuracies identical: {cmp['acc_same']}, generalized_step identical: "
          f"{cmp['gen_same']}, every grokked stop holds its generalized_step: {cmp['stop_ok']}"
          + (f"; {cmp['past']} runs went on past the batch's stop" if cmp["past"] else ""))
    return 0 if cmp["acc_same"] and cmp["gen_same"] and cmp["stop_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
