"""The li2-boundary adaptive search itself, with and without compaction, side by side in one process.

bench_compaction.py times one hand-built batch; this times the claim's own search
(claims.designs.li2.search, the tier's grid as written, no store: every run trains), once with
the grid's compaction (each run leaves its batch at the first host check after it generalized)
and once with compact=False (a chunk stops when every run in it generalized), alternating the
order over repeats, one torch thread. It prints wall and process CPU time, run-steps (sum of
each history's last step) and whether both searches placed the same runs and read the same
generalized steps (exit status 1 if not: then the saving is not like for like).

    python benchmarks/bench_search_compaction.py                       # fast tier's li2-boundary, 2 repeats
    python benchmarks/bench_search_compaction.py --tier long --name deeper --repeats 1
"""
from __future__ import annotations

import argparse
import sys
import time
from unittest import mock

import numpy as np

from claims.designs import li2 as D
from grokcore.engine.train import torch_threads


def once(tier: str, name: str, compact: bool, seed: int):
    grid = {**D.GRIDS[tier], name: {**D.GRIDS[tier][name], "compact": compact}}
    with mock.patch.dict(D.GRIDS, {tier: grid}):
        w0, c0 = time.perf_counter(), time.process_time()
        run = D.search(tier, name, None, "cpu", seed)
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    key = sorted((h.config.key, h.summary.get("generalized_step")) for h in run.hists)
    steps = sum(int(h.metrics["step"][-1]) for h in run.hists)
    return wall, cpu, steps, key


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tier", default="fast")
    ap.add_argument("--name", default="boundary", choices=D.SEARCHES)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    res: dict[bool, list] = {True: [], False: []}
    keys = {}
    with torch_threads(1):
        for r in range(a.repeats):
            for compact in ((True, False) if r % 2 == 0 else (False, True)):
                wall, cpu, steps, key = once(a.tier, a.name, compact, a.seed)
                res[compact].append((wall, cpu, steps))
                keys.setdefault(compact, key)
                print(f"repeat {r} compact={compact}: wall {wall:.1f} s, CPU {cpu:.1f} s, run-steps {steps}, "
                      f"runs {len(key)}", flush=True)
    same = keys[True] == keys[False]
    for compact in (False, True):
        w, c, s = (np.median([x[i] for x in res[compact]]) for i in range(3))
        print(f"compact={compact}: median wall {w:.1f} s, CPU {c:.1f} s, run-steps {s:.0f}")
    w1, w0 = (np.median([x[0] for x in res[k]]) for k in (True, False))
    c1, c0 = (np.median([x[1] for x in res[k]]) for k in (True, False))
    print(f"compact / not: wall {w1 / w0:.2f}x, CPU {c1 / c0:.2f}x; same runs and generalized steps: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
