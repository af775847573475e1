"""The benchmark commands run end to end at toy size and reject bad flags
(their figures are measured by hand, never asserted: see benchmarks/README.md)."""
import importlib.util
from pathlib import Path

import pytest

from grokcore.engine import bench

ROOT = Path(__file__).resolve().parents[2]


def _bench(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _bench_llc():
    return _bench("bench_llc")


def test_engine_benchmark_runs(capsys):
    assert bench.main(["--runs", "3", "--M", "7", "--width", "8", "--steps", "4", "--eval-every", "2"]) == 0
    assert "speed-up" in capsys.readouterr().out


def test_engine_benchmark_measures_like_naive_by_default(capsys, monkeypatch):
    seen = []
    real = bench.train
    monkeypatch.setattr(bench, "train", lambda cfgs, *a, **kw: seen.append((cfgs[0].metrics, kw)) or real(cfgs, *a, **kw))
    argv = ["--runs", "2", "--M", "7", "--width", "8", "--steps", "2", "--eval-every", "2"]
    assert bench.main(argv) == 0
    assert "loss and accuracy only" in capsys.readouterr().out and {m for m, _ in seen} == {()}
    seen.clear()
    assert bench.main(argv + ["--full-metrics", "--compile"]) == 0
    out = capsys.readouterr().out
    assert "every claim metric" in out and "compiled" in out and "x the eager engine" in out
    assert {m for m, _ in seen} == {bench.METRICS} and any(kw.get("compile") for _, kw in seen)


def test_gather_benchmark_runs_and_checks_bit_identity(capsys, monkeypatch):
    mod = _bench("bench_gather")
    toy = {k: v[:2] for k, v in list(mod.batches(3).items())}  # every family, 2 runs, 3 steps
    monkeypatch.setattr(mod, "batches", lambda steps: toy)
    assert mod.main(["--steps", "3", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert out.count("bit-identical True") == len(toy) == 5


def test_llc_benchmark_runs(capsys):
    assert _bench_llc().main(["--models", "2", "--draws", "3", "--chains", "2", "--train-steps", "2"]) == 0
    assert "speed-up" in capsys.readouterr().out


@pytest.mark.parametrize("main, argv", [(bench.main, ["--runs", "0"]), (bench.main, ["--steps", "x"]),
                                        (lambda a: _bench_llc().main(a), ["--models", "0"])])
def test_bad_flags_exit_2(main, argv):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2


# ---------------------------------------------------------------- benchmarks/gpu_smoke.{sh,py}

import subprocess  # noqa: E402
import sys  # noqa: E402

import torch  # noqa: E402


def _smoke():
    spec = importlib.util.spec_from_file_location("gpu_smoke", ROOT / "benchmarks" / "gpu_smoke.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA exit")
def test_gpu_smoke_exits_cleanly_without_cuda(tmp_path):
    out = tmp_path / "smoke"
    res = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu_smoke.sh"), str(out)], capture_output=True,
                         text=True, timeout=120, env={**__import__("os").environ, "PYTHON": sys.executable})
    assert res.returncode == 0, res.stdout + res.stderr
    assert "no CUDA device" in res.stdout and "skipped" in res.stdout
    assert not out.exists()  # nothing was run


def test_gpu_smoke_sync_debug_window(monkeypatch, capsys):
    """The pass turns "error" on after step 0 and off at the last step (before the final
    evaluation and host transfer), and reports a sync with its grokcore frame. Run on CPU
    with the mode switch recorded (set_sync_debug_mode needs CUDA)."""
    smoke = _smoke()
    modes, seen = [], []
    monkeypatch.setattr(torch.cuda, "set_sync_debug_mode", lambda m: modes.append(m))
    from grokcore.engine import train as train_mod

    real_step = train_mod.BatchedOptimizer.step

    def step(self, P, G):  # the optimizer sees the mode in force during the loop
        seen.append(modes[-1] if modes else None)
        return real_step(self, P, G)

    monkeypatch.setattr(train_mod.BatchedOptimizer, "step", step)
    cases = smoke._cases()
    monkeypatch.setattr(smoke, "_cases", lambda: {k: [c.replace(steps=5) for c in v[:2]] for k, v in cases.items()})
    assert smoke.syncdebug("cpu") == 0
    out = capsys.readouterr().out
    assert out.count("PASS") == 3
    # per case: warm-up (5 updates, no mode), then steps 0..4: step 0 before "error", 1..3 under it, 4 too
    # (the last update precedes progress(5, 5), which switches it off before the final evaluation)
    assert seen == ([None] * 5 + [None] + ["error"] * 4) + (["default"] * 5 + ["default"] + ["error"] * 4) * 2
    assert modes.count("error") == 3 and modes[-1] == "default"

    def raises(self, P, G):  # a sync in the optimizer: raises only under "error", as CUDA would
        if modes and modes[-1] == "error":
            raise RuntimeError("called a synchronizing CUDA operation")
        return real_step(self, P, G)

    monkeypatch.setattr(train_mod.BatchedOptimizer, "step", raises)
    assert smoke.syncdebug("cpu") == 1
    out = capsys.readouterr().out
    assert out.count("FAIL at") == 3 and "synchronizing" in out and modes[-1] == "default"


def test_gpu_smoke_table_from_benchmark_outputs(tmp_path, capsys):
    """The table step parses what bench and bench_llc print (their real output, at toy size)."""
    assert bench.main(["--runs", "3", "--M", "7", "--width", "8", "--steps", "4", "--eval-every", "2",
                       "--naive-runs", "2"]) == 0
    (tmp_path / "bench.txt").write_text(capsys.readouterr().out)
    assert _bench_llc().main(["--models", "2", "--draws", "3", "--chains", "2", "--train-steps", "2"]) == 0
    (tmp_path / "llc.txt").write_text(capsys.readouterr().out)
    (tmp_path / "env.txt").write_text("device: NVIDIA H100 80GB HBM3, 79.1 GiB (78.0 GiB free), 132 SMs\n")
    (tmp_path / "syncdebug.txt").write_text("sync-debug li2 full batch, Adam: PASS (steps 1..29 of 8 runs)\n"
                                            "sync-debug transformer depth 2, SGD: FAIL at optim.py:39 `x`: sync\n")
    (tmp_path / "claim.txt").write_text("...\n===== 1 passed, 3 deselected in 200.1s =====\n"
                                        "CLAIM_CMD=pytest claims -m gpu -k li2_wd_needed\n"
                                        "CLAIM_STATUS=passed\nCLAIM_WALL_S=201\n")
    assert _smoke().table(tmp_path) == 0
    out = capsys.readouterr().out
    assert "### GPU: NVIDIA H100 80GB HBM3" in out
    rows = [ln for ln in out.splitlines() if ln.startswith("| ")]
    engine = next(ln for ln in rows if ln.startswith("| Li² M=7 K=8"))
    assert "3 runs x 4 steps" in engine and "first 2 runs" in engine and " - " not in engine
    llc_row = next(ln for ln in rows if ln.startswith("| 2 models"))
    assert llc_row.count("|") == 5 and " - " not in llc_row
    assert any("sync-debug: li2 full batch, Adam | PASS" in ln for ln in rows)
    assert any("FAIL at optim.py:39" in ln for ln in rows)
    assert any("li2_wd_needed` | passed after 201 s; 1 passed, 3 deselected" in ln for ln in rows)


def test_gpu_smoke_table_with_nothing_run(tmp_path, capsys):
    assert _smoke().table(tmp_path) == 0
    out = capsys.readouterr().out
    assert "not run / failed" in out and "| `claim` | not run" in out
