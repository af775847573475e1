"""Helper of benchmarks/gpu_smoke.sh (a GPU machine's first 10 minutes).

  python benchmarks/gpu_smoke.py check         exit 0 if a CUDA device is usable, else say why, exit 3
  python benchmarks/gpu_smoke.py env           device, memory, torch / CUDA versions, visible devices
  python benchmarks/gpu_smoke.py syncdebug     the train loop under torch.cuda.set_sync_debug_mode("error")
  python benchmarks/gpu_smoke.py table OUTDIR  the figures in OUTDIR as benchmarks/README.md tables

Sync-debug pass: `grokcore.engine.train.train` on short batches of three families (li2 full
batch Adam, embed_mlp minibatch AdamW, transformer SGD), early_stop=False and no
checkpoints (the two host syncs the loop makes on purpose). "error" mode is switched on
by the progress callback after step 0 (setup copies the split to the device, a sync by
design) and off at the last step, before the final evaluation and the one transfer of
the logs to the host; everything in between (evaluations, gradient statistics,
optimizer steps) must not synchronize. A sync raises; the pass prints the grokcore
frame where it happened.
"""
from __future__ import annotations

import re
import sys
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing


def check() -> int:
    try:
        import torch
    except ImportError as err:
        print(f"gpu_smoke: torch is not importable ({err})")
        return 3
    if not torch.cuda.is_available():
        print(f"gpu_smoke: no CUDA device (torch {torch.__version__}, built with CUDA {torch.version.cuda}); "
              "nothing to measure on this machine")
        return 3
    return 0


def env() -> int:
    import torch

    from grokcore.suite.device import visible_gpus  # pytest-free: no pytest import for a GPU list

    p = torch.cuda.get_device_properties(0)
    free, total = torch.cuda.mem_get_info()
    print(f"device: {p.name}, {p.total_memory / 2**30:.1f} GiB ({free / 2**30:.1f} GiB free), "
          f"{p.multi_processor_count} SMs, compute capability {p.major}.{p.minor}")
    print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, {torch.cuda.device_count()} visible device(s); "
          f"grokcore.suite.device.visible_gpus() = {visible_gpus()}")
    print(f"matmul TF32: {torch.backends.cuda.matmul.allow_tf32}")
    return 0


def _cases():
    from grokcore.engine.config import ModelSpec, OptimSpec, RunConfig

    def runs(n=8, **kw):
        base = RunConfig(**kw)
        return [base.replace(seed=s, split_seed=s) for s in range(n)]

    return {
        "li2 full batch, Adam": runs(M=23, ratio=0.5, steps=30, eval_every=10,
                                     model=ModelSpec(family="li2", width=64, act="x2"),
                                     optim=OptimSpec(name="adam", lr=1e-3, weight_decay=1e-4)),
        "embed_mlp minibatch 64, AdamW": runs(M=31, ratio=0.5, steps=30, eval_every=10, batch_size=64,
                                              model=ModelSpec(family="embed_mlp", width=48, embed=12, act="gelu"),
                                              optim=OptimSpec(name="adamw", lr=1e-3, weight_decay=1.0)),
        "transformer depth 2, SGD": runs(M=23, ratio=0.5, steps=30, eval_every=10,
                                         model=ModelSpec(family="transformer", width=32, depth=2, act="gelu"),
                                         optim=OptimSpec(name="sgd", lr=1e-2, momentum=0.9)),
    }


def syncdebug(device: str = "cuda") -> int:
    import torch

    from grokcore.engine.train import train

    failed = 0
    for name, cfgs in _cases().items():
        train(cfgs[:2], device, early_stop=False)  # warm-up: lazy CUDA init, allocator, kernels

        def progress(step: int, steps: int) -> None:
            if step == 1:
                torch.cuda.set_sync_debug_mode("error")
            if step >= steps:
                torch.cuda.set_sync_debug_mode("default")

        try:
            train(cfgs, device, early_stop=False, progress=progress)
            print(f"sync-debug {name}: PASS (steps 1..{cfgs[0].steps - 1} of {len(cfgs)} runs, no host sync)")
        except RuntimeError as err:
            failed += 1
            frames = [f for f in traceback.extract_tb(err.__traceback__) if "grokcore" in f.filename]
            where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno} `{frames[-1].line}`" if frames else "?"
            print(f"sync-debug {name}: FAIL at {where}: {str(err).splitlines()[0][:200]}")
        finally:
            torch.cuda.set_sync_debug_mode("default")
    return 1 if failed else 0


# ------------------------------------------------------------------ tables

def _read(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


def _num(pattern: str, text: str) -> str | None:
    m = re.search(pattern, text)
    return m.group(1) if m else None


def table(outdir: Path) -> int:
    bench, llc = _read(outdir / "bench.txt"), _read(outdir / "llc.txt")
    sync, claim, envtxt = _read(outdir / "syncdebug.txt"), _read(outdir / "claim.txt"), _read(outdir / "env.txt")
    device = _num(r"device: ([^,\n]+)", envtxt) or "GPU"
    print(f"### GPU: {device} (benchmarks/gpu_smoke.sh)\n")
    if envtxt:
        print("\n".join(f"    {ln}" for ln in envtxt.strip().splitlines()) + "\n")
    print("| sweep | batched (model-steps/s) | naive (model-steps/s) | ratio | peak memory batched / naive |")
    print("|---|---|---|---|---|")
    if bench:
        what = _num(r"(Li² M=\S+ K=\d+), ", bench) or "Li²"
        shape = _num(r"(\d+ runs x \d+ steps)", bench) or "?"
        b = _num(r"batched engine\s*:\s*([\d.]+)", bench)
        n = _num(r"naive loop\s*:\s*([\d.]+)", bench)
        r = _num(r"speed-up\s*:\s*([\d.]+)x", bench)
        mb = _num(r"batched engine.*peak (\d+) MiB", bench)
        mn = _num(r"naive loop.*peak (\d+) MiB", bench)
        nn = _num(r"for (\d+) runs", bench)
        print(f"| {what}, {shape} (naive: first {nn} runs) | {b or '-'} | {n or '-'} | **{r or '-'}×** "
              f"| {mb or '-'} / {mn or '-'} MiB |")
    else:
        print("| engine benchmark | not run / failed (see bench.txt) | | | |")
    print()
    print("| LLC | batched (models/s) | one-by-one (models/s) | ratio |")
    print("|---|---|---|---|")
    if llc:
        what = _num(r"LLC of (.+)", llc) or "?"
        b = _num(r"batched:\s*[\d.]+ s\s*([\d.]+) models/s", llc)
        a = _num(r"one-by-one:\s*[\d.]+ s\s*([\d.]+) models/s", llc)
        r = _num(r"speed-up:\s*([\d.]+)x", llc)
        print(f"| {what} | {b or '-'} | {a or '-'} | **{r or '-'}×** |")
    else:
        print("| LLC benchmark | not run / failed (see llc.txt) | | |")
    print()
    print("| check | result |")
    print("|---|---|")
    for ln in sync.splitlines():
        if ln.startswith("sync-debug "):
            name, _, res = ln.removeprefix("sync-debug ").partition(": ")
            print(f"| sync-debug: {name} | {res} |")
    status = _num(r"CLAIM_STATUS=(\S+)", claim)
    wall = _num(r"CLAIM_WALL_S=(\d+)", claim)
    summary = _num(r"\n(=+ .*(?:passed|failed|error|skipped|xfailed|deselected).* =+)", claim)
    cmd = _num(r"CLAIM_CMD=(.+)", claim) or "claim"
    print(f"| `{cmd}` | {status or 'not run'} after {wall or '?'} s"
          f"{'; ' + summary.strip('= ') if summary else ''} |")
    return 0


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("check", "env", "syncdebug", "table"):
        print(__doc__)
        return 2
    if argv[0] == "check":
        return check()
    if argv[0] == "env":
        return env()
    if argv[0] == "syncdebug":
        return syncdebug()
    return table(Path(argv[1] if len(argv) > 1 else "runs/gpu-smoke"))


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
