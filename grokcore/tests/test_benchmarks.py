"""The benchmark commands run end to end at toy size and reject bad flags
(their figures are measured by hand, never asserted: see benchmarks/README.md)."""
import importlib.util
from pathlib import Path

import pytest

from grokcore import bench

ROOT = Path(__file__).resolve().parents[2]


def _bench_llc():
    spec = importlib.util.spec_from_file_location("bench_llc", ROOT / "benchmarks" / "bench_llc.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_engine_benchmark_runs(capsys):
    assert bench.main(["--runs", "3", "--M", "7", "--width", "8", "--steps", "4", "--eval-every", "2"]) == 0
    assert "speed-up" in capsys.readouterr().out


def test_llc_benchmark_runs(capsys):
    assert _bench_llc().main(["--models", "2", "--draws", "3", "--chains", "2", "--train-steps", "2"]) == 0
    assert "speed-up" in capsys.readouterr().out


@pytest.mark.parametrize("main, argv", [(bench.main, ["--runs", "0"]), (bench.main, ["--steps", "x"]),
                                        (lambda a: _bench_llc().main(a), ["--models", "0"])])
def test_bad_flags_exit_2(main, argv):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
