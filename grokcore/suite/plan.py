"""Cost plan of the claim grids, printed without training anything:

  grokcore plan [--tier gpu|fast] [--device-flops F] [--utilization U] [--device NAME] [--claims DIR]

One row per grid of each family's design module ``claims/designs/<family>.py`` (imported by
path; a module that fails to import gets a row saying so): runs, model-steps (runs x steps),
FLOPs and the estimated wall time, then the total.

Where the numbers come from: each design defines ``plan_configs(tier) -> list[RunConfig]`` (or a
dict ``{grid name: list[RunConfig]}``, one row per grid), built by the same functions that
build the configs its sweeps train, so the plan is the training set. `plan` never trains.
Configs shared between grids (the store trains them once) are counted once in the total. A
design without the hook gets an ``unknown`` row, not counted.

FLOP model (``config_flops``, the suite's only cost model): forward FLOPs per pair = 2 x the
multiply-adds of the dense layers (one-hot first layers are lookups): li2 and mu_mlp
K·M + (depth−1)·K², embed_mlp 2·D·K + K·M, transformer 2 tokens x depth x (12 d² + 4 d)
+ d·M. A run costs that x (3 x pairs per step x steps + M² x evaluations): a step is
forward + backward (~3 forwards) on its batch, an evaluation a forward on all M² pairs.
Full budgets: runs that stop early (generalized) cost less, so this is an upper bound.

Peak memory per chunk (the ``peak/chunk`` column, source ``configs`` only; an ESTIMATE from
shapes, not a measurement): the configs are grouped and chunked as ``sweep.chunks`` forms
them on CUDA (at most 256 runs, similar split sizes), and the largest chunk's training step
is sized by `chunk_peak_bytes` (activations: `models.activation_floats`): R x FP32 parameter copies (weights, gradient, optimizer
state, the init copy for drift, the pre-step copy at logged steps), R x 2 x activation
floats per pair x pairs per step (saved for backward, and as much again for their
gradients), the split masks and indices, and the (E, R) log buffers. Evaluation is
chunked to the free device memory (`train.eval_chunk`), so it is not counted.

Wall time = FLOPs / (device FLOP rate x utilization). The default, an H100 (SXM) at its
~60 TFLOP/s dense FP32 spec figure (the engine trains in FP32, no TF32) at 10%
utilization for these tiny, launch-bound models, is a spec-based guess, not a
measurement: replace it with a measured rate (``--device-flops``, e.g. from
``grokcore bench`` on the target GPU) when one exists.
"""
from __future__ import annotations

import argparse
import functools
import importlib.util
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from grokcore.engine import models
from grokcore.engine.config import ModelSpec, RunConfig

DEFAULT_DEVICE = "H100 SXM, dense FP32 spec"
DEFAULT_FLOPS = 60e12  # FLOP/s: H100 SXM dense FP32 (non-tensor-core) spec figure, rounded down
DEFAULT_UTILIZATION = 0.10  # guessed for these tiny models (launch-bound), not measured
# what a design's plan_notes says of a grid trained with sweep.run(compact=True)
COMPACT_NOTE = "compaction: each run leaves its batch at its grokking check; FLOPs at full budget (upper bound)"


@dataclass
class Row:
    module: str
    grid: str
    source: str  # "configs" | "unknown" | "error"
    runs: int | None = None
    model_steps: int | None = None
    flops: float | None = None
    note: str = ""
    keys: set[str] = field(default_factory=set)  # config keys (source "configs"), for the total
    peak_bytes: float | None = None  # estimated peak device memory of the largest chunk (source "configs")


# ------------------------------------------------------------------ FLOP model

def forward_macs(family: str, M: int, width: int, depth: int = 1, embed: int = 0) -> float:
    """Multiply-adds of one forward pass on one pair (dense layers only; lookups are free)."""
    K = width
    if family == "embed_mlp":
        return 2 * (embed or K) * K + K * M
    if family == "transformer":
        return 2 * depth * (12 * K * K + 4 * K) + K * M
    return K * M + (depth - 1) * K * K  # li2, mu_mlp: one-hot first layer = lookup


def run_flops(macs: float, M: int, pairs_per_step: int, steps: int, eval_every: int) -> float:
    evals = steps // eval_every + 1 + (steps % eval_every != 0)  # as train.train logs them
    return 2.0 * macs * (3 * pairs_per_step * steps + M * M * evals)


def config_flops(c: RunConfig) -> float:
    m = c.model
    n = c.n_train if c.n_train is not None else round(c.ratio * c.M * c.M)
    return run_flops(forward_macs(m.family, c.M, m.width, m.depth, m.embed), c.M, c.batch_size or n,
                     c.steps, c.eval_every)


# ------------------------------------------------------------------ memory model

@functools.lru_cache(maxsize=256)
def param_floats(spec: ModelSpec, M: int) -> tuple[int, int]:
    """(parameter floats of one run, number of parameter tensors), from the real init's shapes."""
    P = models.init_params(spec, M, torch.Generator().manual_seed(0))
    return sum(v.numel() for v in P.values()), len(P)


def chunk_peak_bytes(chunk: list[RunConfig]) -> float:
    """Estimated peak device bytes of one training chunk's step (see the module doc)."""
    c = chunk[0]
    R, N = len(chunk), c.M * c.M
    pairs = c.batch_size or max(_split_size(x) for x in chunk)
    p_floats, p_tensors = param_floats(c.model, c.M)
    copies = 5 + (2 if c.optim.name in ("adam", "adamw") else 1)  # w, grad, P0, before, feats-grad slack + state
    E = c.steps // c.eval_every + 2
    log_floats = E * (6 + 5 * p_tensors)
    data = R * (2 * N + 12 * pairs)  # two bool masks (R, N); int64 index + FP32 weight (R, pairs)
    return 4.0 * R * (copies * p_floats + 2 * models.activation_floats(c.model, c.M) * pairs + log_floats) + data


def _split_size(c: RunConfig) -> int:
    return c.n_train if c.n_train is not None else round(c.ratio * c.M * c.M)


def peak_chunk_bytes(cfgs: list[RunConfig], max_batch: int = 256) -> float:
    """The largest estimated chunk peak over the configs, chunked as sweep.run would on CUDA."""
    from grokcore.engine.sweep import chunks

    groups: dict[tuple, list[RunConfig]] = {}
    for c in cfgs:
        groups.setdefault(c.batch_key, []).append(c)
    return max((chunk_peak_bytes(ch) for g in groups.values() for ch in chunks(g, max_batch, "cuda")), default=0.0)


def rows_from_configs(module: str, out: Any) -> list[Row]:
    grids = out if isinstance(out, dict) else {"": out}
    rows = []
    for name, cfgs in grids.items():
        cfgs = list(cfgs)
        uniq = {c.key: c for c in cfgs}
        rows.append(Row(module, str(name), "configs", runs=len(uniq),
                        model_steps=sum(c.steps for c in uniq.values()),
                        flops=sum(config_flops(c) for c in uniq.values()), keys=set(uniq),
                        peak_bytes=peak_chunk_bytes(list(uniq.values()))))
    return rows


# ------------------------------------------------------------------ claim modules

def default_claims_dir() -> Path:
    here = Path.cwd() / "claims"
    return here if here.is_dir() else Path(__file__).resolve().parents[2] / "claims"


def design_paths(claims_dir: Path) -> list[Path]:
    """The family design modules: ``<claims_dir>/designs/<family>.py`` (no leading underscore)."""
    return sorted(p for p in (Path(claims_dir) / "designs").glob("*.py") if not p.name.startswith("_"))


def load_module(path: Path):
    """Import a design module by path, under a private name (pytest's own imports are untouched),
    with the claims directory's parent on sys.path so ``from claims.designs import ...`` works."""
    name = f"_grokcore_plan_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    root = str(Path(path).resolve().parents[2])
    added = root not in sys.path
    if added:
        sys.path.insert(0, root)
    try:
        spec.loader.exec_module(mod)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    finally:
        if added:
            sys.path.remove(root)
    return mod


def plan_module(path: Path, tier: str) -> list[Row]:
    name = path.stem
    try:
        mod = load_module(path)
    except Exception as err:  # noqa: BLE001 - a broken design module is a row, not a crash
        return [Row(name, "", "error", note=f"import failed: {type(err).__name__}: {str(err).splitlines()[0][:120] if str(err) else ''}")]
    grids = getattr(mod, "GRIDS", None)
    if isinstance(grids, dict) and tier not in grids:  # a tier only some claims have (long)
        return []
    hook = getattr(mod, "plan_configs", None)
    if not callable(hook):
        return [Row(name, "", "unknown", note="no plan_configs(tier): cannot plan this design")]
    try:
        rows = rows_from_configs(name, hook(tier))
        notes = mod.plan_notes(tier) if callable(getattr(mod, "plan_notes", None)) else {}
    except Exception as err:  # noqa: BLE001
        return [Row(name, "", "error", note=f"plan_configs({tier!r}) failed: {type(err).__name__}: {err}")]
    for r in rows:  # the design's own word on a grid (a str: on every grid), e.g. that it trains with compaction
        note = notes if isinstance(notes, str) else notes.get(r.grid, "")
        r.note = "; ".join(x for x in (r.note, note) if x)
    return rows


def plan(claims_dir: Path, tier: str) -> list[Row]:
    rows = []
    for path in design_paths(claims_dir):
        rows += plan_module(path, tier)
    return rows


# ------------------------------------------------------------------ printing

def _si(x: float | None, unit: str = "") -> str:
    if x is None:
        return "-"
    for p, s in ((1e18, "E"), (1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= p:
            return f"{x / p:.3g} {s}{unit}"
    return f"{x:.3g} {unit}".rstrip()


def fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def table(rows: list[Row], rate: float) -> list[dict]:
    """Rows for printing: one per grid, then the total (unique configs; estimated rows added)."""
    out = []
    for r in rows:
        out.append({"claim module": r.module, "grid": r.grid or "-", "source": r.source,
                    "runs": r.runs, "model-steps": _si(r.model_steps) if r.model_steps is not None else "-",
                    "FLOPs": _si(r.flops), "peak/chunk~": _si(r.peak_bytes, "B"), "est. wall": fmt_time(r.flops / rate if r.flops is not None else None),
                    "note": r.note})
    known = [r for r in rows if r.flops is not None]
    seen: set[str] = set()
    runs = steps = 0
    flops = 0.0
    for r in known:  # configs counted once across grids and modules (the store trains them once)
        if r.source == "configs":
            new = r.keys - seen
            seen |= new
            frac = len(new) / len(r.keys) if r.keys else 0.0
            runs += len(new)
            steps += round(r.model_steps * frac)
            flops += r.flops * frac
        else:
            runs, steps, flops = runs + r.runs, steps + r.model_steps, flops + r.flops
    missing = len(rows) - len(known)
    out.append({"claim module": "TOTAL", "grid": "-", "source": "",
                "runs": runs, "model-steps": _si(steps), "FLOPs": _si(flops),
                "peak/chunk~": _si(max((r.peak_bytes or 0.0 for r in rows), default=0.0) or None, "B"),
                "est. wall": fmt_time(flops / rate),
                "note": f"{missing} row(s) unknown, not counted" if missing else ""})
    return out


def report(claims_dir: Path, tier: str, device_flops: float | None = None, utilization: float | None = None,
           device: str | None = None) -> str:
    """The printed plan of one tier: header lines (rate and its source, the models) and the table.
    device_flops None: the spec figure DEFAULT_FLOPS at DEFAULT_UTILIZATION (a guess, said so);
    a given rate is taken as achieved (utilization 1 unless given)."""
    from grokcore.engine.store import format_rows

    measured = device_flops is not None
    flops_rate = device_flops if measured else DEFAULT_FLOPS
    util = utilization if utilization is not None else (1.0 if measured else DEFAULT_UTILIZATION)
    if not (flops_rate > 0 and 0 < util <= 1):
        raise ValueError("the device FLOP rate must be > 0 and the utilization in (0, 1]")
    device = device or ("given rate" if measured else DEFAULT_DEVICE)
    rate = flops_rate * util
    return "\n".join([
        f"cost plan, tier {tier}, claims in {claims_dir}",
        f"wall time at {_si(flops_rate, 'FLOP/s')} ({device}) x {util:.0%} utilization = {_si(rate, 'FLOP/s')}"
        + ("" if measured else ": a spec-based guess, not measured"),
        "FLOPs: 2 x dense multiply-adds x (3 x pairs per step x steps + M² x evals), full budgets (no early stop);"
        " peak/chunk~ = estimated peak memory of the largest"
        " training chunk as sweep.chunks forms it on CUDA, an estimate from shapes (see grokcore/suite/plan.py)",
        format_rows(table(plan(claims_dir, tier), rate)),
    ])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="grokcore plan", description=__doc__.split("\n")[0])
    p.add_argument("--tier", choices=("gpu", "fast", "long"), default="gpu")
    p.add_argument("--device-flops", type=float, default=None,
                   help=f"device FLOP rate in FLOP/s (default {DEFAULT_FLOPS:.0e}: {DEFAULT_DEVICE})")
    p.add_argument("--utilization", type=float, default=None,
                   help=f"fraction of the rate these models reach (default {DEFAULT_UTILIZATION} with the "
                        "spec figure, 1.0 with --device-flops: a measured rate is already achieved)")
    p.add_argument("--device", default=None, help="name of the device the rate is for (printed)")
    p.add_argument("--claims", type=Path, default=None, help="claims directory (default ./claims)")
    a = p.parse_args(argv)
    claims_dir = a.claims or default_claims_dir()
    if not claims_dir.is_dir():
        print(f"grokcore plan: no claims directory at {claims_dir}", file=sys.stderr)
        return 2
    try:
        print(report(claims_dir, a.tier, a.device_flops, a.utilization, a.device))
    except ValueError as err:
        p.error(str(err))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
