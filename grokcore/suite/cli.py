"""Command line: `grokcore train | sweep | report | db | bench | flips | plan`.

  grokcore train --task add --M 71 --ratio 0.4 --seed 42 --model li2 --width 512 --steps 3000 --out runs/m71
  grokcore sweep --M 23 31 --ratio 0.2 0.3 0.5 --seeds 4 --model li2 --width 256 --steps 3000 --store s.sqlite
  grokcore sweep ... --executor ray [--ray-address auto]
  grokcore report reports/claims.json -o reports/claims.html
  grokcore db [--store PATH] [VIEW]
  grokcore bench [--runs 64] [--steps 200]
  grokcore flips --seeds 0 1 2 --paths native avx2 --out runs/flips [--reuse] [-- pytest args]
  grokcore flips compare reports/claims.json reports/claims-fp2.json
  grokcore plan [--tier gpu|fast] [--device-flops F]

Bad flags or impossible configs print a clear message and exit with code 2, before
anything trains: float flags must be finite, --device must name a device this machine
has, --out must be writable. A store that cannot be used (damaged, newer schema, not
writable) prints one line and exits with code 1.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from pathlib import Path

from grokcore.engine.config import ACTIVATIONS, FAMILIES, LOSSES, OPTIMIZERS, ModelSpec, OptimSpec, RunConfig
from grokcore.engine.tasks import OPERATIONS


def finite_float(text: str) -> float:
    """argparse type: a float that is finite (inf and nan would train into nonsense)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def _run_args(p: argparse.ArgumentParser, many: bool) -> None:
    """Flags shared by train (one value each) and sweep (lists for grid axes)."""
    n = "+" if many else None
    p.add_argument("--task", choices=sorted(OPERATIONS), default="add")
    p.add_argument("--M", type=int, nargs=n, default=[71] if many else 71, help="modulus")
    split = p.add_mutually_exclusive_group()
    split.add_argument("--ratio", type=finite_float, nargs=n, help="fraction of the M² pairs used for training")
    split.add_argument("--n-train", type=int, nargs=n, help="number of training pairs")
    p.add_argument("--split-seed", type=int, default=0)
    p.add_argument("--model", choices=FAMILIES, default="li2")
    p.add_argument("--width", type=int, nargs=n, default=[512] if many else 512)
    p.add_argument("--embed", type=int, default=0, help="embedding dim (embed_mlp; 0 = width)")
    p.add_argument("--depth", type=int, default=1)
    p.add_argument("--act", choices=ACTIVATIONS, default=None, help="default: x2 for li2, relu/gelu otherwise")
    p.add_argument("--alpha", type=finite_float, default=0.0, help="output scale width^-alpha (mu_mlp)")
    p.add_argument("--init-scale", type=finite_float, default=1.0)
    p.add_argument("--optim", choices=OPTIMIZERS, default="adam")
    p.add_argument("--lr", type=finite_float, nargs=n, default=[1e-3] if many else 1e-3)
    p.add_argument("--wd", type=finite_float, nargs=n, default=[0.0] if many else 0.0, help="weight decay")
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--eval-every", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=0, help="0 = full batch")
    p.add_argument("--loss", choices=LOSSES, default="ce")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda[:i]")


def _device(name: str) -> str:
    """The torch device for --device (auto | cpu | cuda[:i]); ValueError, naming what this
    machine has, for any other name or a CUDA device it lacks. Called before training."""
    import torch
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    kind, _, index = name.partition(":")
    if name == "cpu":
        return name
    if kind != "cuda" or (index and not index.isdigit()):
        raise ValueError(f"--device {name}: use auto, cpu, cuda or cuda:<index>")
    if not torch.cuda.is_available():
        raise ValueError(f"--device {name}: no CUDA device is available here (torch {torch.__version__}); "
                         "use --device cpu")
    if index and int(index) >= torch.cuda.device_count():
        raise ValueError(f"--device {name}: this machine has {torch.cuda.device_count()} CUDA device(s), "
                         f"cuda:0 to cuda:{torch.cuda.device_count() - 1}")
    return name


def _check_out(out: Path) -> None:
    """Create ``out`` and check that a file can be written in it, before training (so a bad
    --out cannot cost the run). ValueError naming the path otherwise."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".grokcore-write-check-"):
            pass
    except OSError as err:
        raise ValueError(f"--out {out}: cannot write there ({err.strerror or err})") from None


def _config(a, M, ratio, n_train, width, lr, wd, seed) -> RunConfig:
    if ratio is None and n_train is None:
        ratio = 0.3
    act = a.act or {"li2": "x2", "transformer": "gelu"}.get(a.model, "relu")
    return RunConfig(task=a.task, M=M, ratio=ratio, n_train=n_train, split_seed=a.split_seed, seed=seed,
                     model=ModelSpec(family=a.model, width=width, embed=a.embed, depth=a.depth, act=act,
                                     alpha=a.alpha, init_scale=a.init_scale),
                     optim=OptimSpec(name=a.optim, lr=lr, weight_decay=wd),
                     steps=a.steps, eval_every=a.eval_every, batch_size=a.batch_size, loss=a.loss)


def _fmt(step) -> str:
    return "never" if step is None else str(int(step))


def _save(h, out: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    out.mkdir(parents=True, exist_ok=True)
    doc = {"config": h.config.to_dict(), "key": h.config.key, "status": h.status, "summary": h.summary,
           "metrics": {k: [None if v != v else float(v) for v in arr.ravel()] for k, arr in h.metrics.items()}}
    (out / "history.json").write_text(json.dumps(doc, indent=1))
    m = h.metrics
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.5))
    ax1.plot(m["step"], m["train/acc"], label="train")
    ax1.plot(m["step"], m["test/acc"], label="test")
    ax1.set(xlabel="step", ylabel="accuracy", title=f"{h.config.task} mod {h.config.M}")
    ax2.semilogy(m["step"], m["train/loss"], label="train")
    ax2.semilogy(m["step"], m["test/loss"], label="test")
    ax2.set(xlabel="step", ylabel="loss")
    for ax in (ax1, ax2):
        ax.legend()
    fig.tight_layout()
    fig.savefig(out / "curves.png", dpi=100)
    plt.close(fig)


def cmd_train(a) -> int:
    from tqdm import tqdm
    from grokcore.engine.train import train
    cfg = _config(a, a.M, a.ratio, a.n_train, a.width, a.lr, a.wd, a.seed)
    device = _device(a.device)
    if a.out:
        _check_out(Path(a.out))
    with tqdm(total=cfg.steps, unit="step", disable=not sys.stderr.isatty()) as bar:
        h = train([cfg], device, progress=lambda s, n: bar.update(1), early_stop=not a.full).histories[0]
    s = h.summary
    print(f"{cfg.task} mod {cfg.M} [{h.status}]  memorized at {_fmt(s['memorized_step'])}  "
          f"generalized at {_fmt(s['generalized_step'])}  final train acc {s['final/train_acc']:.3f}  "
          f"test acc {s['final/test_acc']:.3f}  ({h.wall_s:.1f}s on {device})")
    if a.out:
        _save(h, Path(a.out))
        print(f"wrote {a.out}/history.json and {a.out}/curves.png")
    return 0


def cmd_sweep(a) -> int:
    from grokcore.engine import sweep
    from grokcore.engine.store import Store, default_store_path, format_rows
    device = _device(a.device)
    splits = [("ratio", r) for r in a.ratio] if a.ratio else [("n_train", n) for n in (a.n_train or [None])]
    cfgs = [_config(a, M, v if k == "ratio" else None, v if k == "n_train" else None, w, lr, wd, a.seed0 + s)
            for M in a.M for k, v in splits for w in a.width for lr in a.lr for wd in a.wd for s in range(a.seeds)]
    from grokcore.engine import executor
    try:
        ex = executor.make(a.executor, a.ray_address)
    except ImportError as err:
        raise ValueError(f"--executor ray: {err}") from None
    store = Store(a.store or default_store_path(), mode="rw")  # "rw": an unwritable store fails before training
    try:
        hists = sweep.run(cfgs, store=store, device=device, experiment=a.experiment, executor=ex)
    finally:
        if a.executor == "ray":
            ex.shutdown()
    print(f"{len(hists)} runs, {sum(h.summary['generalized_step'] is not None for h in hists)} generalized")
    rows = [r for r in store.view("grid_success") if r["experiment"] == a.experiment]
    print(format_rows(rows))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="grokcore", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("train", help="train one run, print a summary, optionally save history and curves")
    _run_args(p, many=False)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--full", action="store_true", help="train all steps (no early stop once generalized)")
    p.add_argument("--out", help="directory for history.json and curves.png")
    p = sub.add_parser("sweep", help="train a grid (cached in the store), print per-grid-point success")
    _run_args(p, many=True)
    p.add_argument("--seeds", type=int, default=4)
    p.add_argument("--seed0", type=int, default=0)
    p.add_argument("--store", help="SQLite store (default: the user cache)")
    p.add_argument("--experiment", default="cli-sweep")
    p.add_argument("--executor", choices=("local", "ray"), default="local",
                   help="where chunks train: here, or one Ray task each (pip install -e '.[ray]')")
    p.add_argument("--ray-address", default=None,
                   help="with --executor ray: 'auto' (running cluster), HOST:PORT, or default: a local instance")
    sub.add_parser("report", help="re-render the HTML report from claims.json", add_help=False)
    sub.add_parser("db", help="print the store's views", add_help=False)
    sub.add_parser("bench", help="batched engine vs the naive one-run loop", add_help=False)
    sub.add_parser("flips", help="claim verdicts across seeds and floating-point paths", add_help=False)
    sub.add_parser("plan", help="cost plan of the claim grids (runs, FLOPs, est. wall time), no training",
                   add_help=False)
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("report", "db", "bench", "flips", "plan"):  # these own their flags
        if argv[0] == "report":
            from grokcore.suite.report import report_main
            return report_main(argv[1:])
        if argv[0] == "db":
            from grokcore.engine.store import db_main
            return db_main(argv[1:])
        if argv[0] == "flips":
            from grokcore.suite.flips import main as flips_main
            return flips_main(argv[1:])
        if argv[0] == "plan":
            from grokcore.suite.plan import main as plan_main
            return plan_main(argv[1:])
        from grokcore.engine.bench import main as bench_main
        return bench_main(argv[1:])
    a = parser.parse_args(argv)
    from grokcore.engine.store import StoreError
    try:
        return cmd_train(a) if a.cmd == "train" else cmd_sweep(a)
    except ValueError as e:  # impossible configs: a clear message, exit code 2 like argparse
        parser.error(str(e))
    except StoreError as e:  # the message names the file and what to do: no traceback
        print(f"grokcore {a.cmd}: {e}", file=sys.stderr)
        return 1
    return 2


if __name__ == "__main__":
    sys.exit(main())
