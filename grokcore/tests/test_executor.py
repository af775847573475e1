"""Executors: ray == local bit for bit (sweep, trajectory, staged run sets), the
driver's thread count in Ray workers, a killed worker retried with the store complete,
a chunk failing for good reported per run and not stored, a warm store submitting
nothing, the pytest options under xdist, and the default path never importing ray.

Ray tests use a real local instance (no mocks), started once for this module on
loopback with 2 CPUs and shut down at its end; they skip when ray is not installed."""
import functools
import importlib.util
import ipaddress
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from grokcore.suite import cli
from grokcore.engine import executor, staged, sweep, trajectory
from grokcore.engine.config import ModelSpec, OptimSpec, RunConfig
from grokcore.engine.llc import SGLDConfig
from grokcore.engine.store import Store
from grokcore.engine.train import torch_threads

pytest_plugins = ["pytester"]
REPO = Path(__file__).resolve().parents[2]
BASE = RunConfig(task="add", M=7, ratio=0.5, steps=30, eval_every=5,
                 model=ModelSpec(family="li2", width=16), optim=OptimSpec(name="adam", lr=1e-2))
CFGS = sweep.grid(BASE, M=[7, 11], seed=range(3))  # two shape groups: two chunks at least
STAGED = RunConfig(task="add", M=16, ratio=0.5, steps=8, eval_every=4,
                   model=ModelSpec(family="embed_mlp", width=12, embed=4, act="gelu"),
                   optim=OptimSpec(name="adam", lr=5e-3, weight_decay=2e-4))


def assert_same(h1s, h2s):
    """Bit for bit: every metric array equal in dtype, shape and bytes; summaries equal."""
    assert [h.config.key for h in h1s] == [h.config.key for h in h2s]
    for h1, h2 in zip(h1s, h2s):
        assert h1.status == h2.status and h1.summary == h2.summary
        assert h1.metrics.keys() == h2.metrics.keys()
        for k, v in h1.metrics.items():
            w = h2.metrics[k]
            assert v.dtype == w.dtype and v.shape == w.shape and v.tobytes() == w.tobytes(), k


# ---------------------------------------------------------------- units shipped to Ray
# Module functions of this test file: Ray workers cannot import it, so they travel by
# value (executor._ship_by_value), as a claim file's would.

def _threads_seen(_unit) -> tuple[int, str | None]:
    return torch.get_num_threads(), os.environ.get("OMP_NUM_THREADS")


def _die_once(chunk, marker: str):
    """Kill this worker process (SIGKILL: no cleanup, as a lost node) the first time any
    chunk gets here; then train normally."""
    if not os.path.exists(marker):
        Path(marker).touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return sweep._train_chunk(chunk, "cpu", (), None, True)


def _fail_on_M(chunk, M: int):
    if chunk[0].M == M:
        raise ValueError(f"bad chunk at M={M}")
    return sweep._train_chunk(chunk, "cpu", (), None, True)


def _tiny_curriculum_set() -> dict:
    """A curriculum chain with the LLC of its checkpoints, as claims/designs/slt.py builds one."""
    with torch_threads(1):
        cur, _ = staged.curriculum(STAGED, [0, 1], [8, 8, 8], ranges=(4, 8, 0), checkpoint_every=4)
        items = staged.staged_llc_items(cur, range(2))
        est = staged.checkpoint_llc([(c, p) for _, _, c, p in items], SGLDConfig(chains=2, draws=10, seed=3),
                                    batch_size=16)
    return {"llc": est["llc/mean"], "loss": [h.metrics["test/loss"] for hs in cur.histories for h in hs]}


# ---------------------------------------------------------------- a local Ray instance

def skip_without_ray() -> None:
    """pytest.importorskip("ray") without importing it: grokcore must import ray itself to
    keep a local instance on loopback (executor._import_ray)."""
    if importlib.util.find_spec("ray") is None:
        pytest.skip('ray is not installed (pip install -e ".[ray]")')


@pytest.fixture(scope="module")
def ray_ex():
    skip_without_ray()
    ex = executor.Ray(num_cpus=2)
    ex.gcs_address  # start it now (~3 s)
    import ray

    yield ex
    ex.shutdown()
    assert not ray.is_initialized()


def _listen_addresses(port: int) -> set[str]:
    """Local addresses of the listening TCP sockets on ``port`` (from /proc/net/tcp{,6})."""
    out = set()
    for name, width in (("tcp", 8), ("tcp6", 32)):
        path = Path("/proc/net") / name
        for line in path.read_text().splitlines()[1:] if path.exists() else ():
            local, state = line.split()[1], line.split()[3]
            addr, p = local.split(":")
            if state == "0A" and int(p, 16) == port:  # 0A: LISTEN
                raw = bytes.fromhex(addr)
                words = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))  # host-order words
                ip = ipaddress.ip_address(words)
                out.add(str(getattr(ip, "ipv4_mapped", None) or ip))  # ::ffff:127.0.0.1 -> 127.0.0.1
    return out


def test_local_instance_listens_on_loopback_only(ray_ex):
    import ray

    host, port = ray_ex.gcs_address.rsplit(":", 1)
    assert host == executor.LOOPBACK
    node = ray.nodes()[0]
    assert node["NodeManagerAddress"] == executor.LOOPBACK
    for p in (int(port), node["NodeManagerPort"], node["ObjectManagerPort"]):
        addrs = _listen_addresses(p)
        assert addrs == {"127.0.0.1"}, (p, addrs)


def test_worker_runs_under_the_drivers_thread_count(ray_ex):
    for n in (2, 1):
        with torch_threads(n):
            [(_, (threads, omp))] = list(ray_ex.map(_threads_seen, [None]))
        assert threads == n
        assert omp == "1"  # Ray's worker setting, which the task overrides


def test_sweep_and_trajectory_on_ray_equal_local_bit_for_bit(ray_ex):
    with torch_threads(2):  # the driver's count travels with each task
        local = sweep.run(CFGS, executor=executor.Local(), max_batch=2)
        before = ray_ex.submitted
        remote = sweep.run(CFGS, executor=ray_ex, max_batch=2)
    assert ray_ex.submitted - before == len(sweep.chunks(CFGS[:3], 2)) + len(sweep.chunks(CFGS[3:], 2)) == 4
    assert_same(local, remote)
    cfgs = sweep.grid(BASE.replace(steps=20), seed=range(2))
    old = executor.use(ray_ex)  # trajectory.run reaches the executor through sweep.run
    try:
        remote = trajectory.run(cfgs, order_every=10, threads=1)
    finally:
        executor.use(old)
    local = trajectory.run(cfgs, order_every=10, threads=1)
    assert "order/rqi" in remote[0].metrics
    assert_same(local, remote)


def test_staged_run_set_on_ray_equals_local(ray_ex, tmp_path):
    import ray.cloudpickle

    try:  # as in a fresh process: not yet registered by value by an earlier test's sweep
        ray.cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    except ValueError:  # was not registered
        pass
    staged.clear_set_cache()
    local = staged.cached_set(None, "t", STAGED, _tiny_curriculum_set, v=1)
    staged.clear_set_cache()
    old = executor.use(ray_ex)
    try:
        before = ray_ex.submitted
        with Store(tmp_path / "s.sqlite") as store:
            remote = staged.cached_set(store, "t", STAGED, _tiny_curriculum_set, v=1)
            assert ray_ex.submitted == before + 1
            staged.clear_set_cache()
            assert staged.cached_set(store, "t", STAGED, _tiny_curriculum_set, v=1) is not None
            assert ray_ex.submitted == before + 1  # from the store's artifact: nothing submitted
    finally:
        executor.use(old)
        staged.clear_set_cache()
    assert local["llc"].tobytes() == remote["llc"].tobytes()
    assert all(a.tobytes() == b.tobytes() for a, b in zip(local["loss"], remote["loss"]))


def test_killed_worker_is_retried_and_the_store_holds_every_run_once(ray_ex, tmp_path):
    marker = tmp_path / "killed"
    path = tmp_path / "s.sqlite"
    with torch_threads(1), Store(path) as store:
        hists = sweep.run(CFGS, store=store, executor=ray_ex,
                          train_chunk=functools.partial(_die_once, marker=str(marker)))
        local = sweep.run(CFGS, executor=executor.Local())
    assert marker.exists()  # one worker did die mid-run
    assert_same(local, hists)
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    rows = db.execute("SELECT key, COUNT(*) FROM runs GROUP BY key").fetchall()
    assert db.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == len(CFGS)
    assert dict(rows) == {c.key: 1 for c in CFGS}
    db.close()
    with Store(path) as store:  # and every stored history reads back as trained
        assert_same(local, [sweep.from_stored(store.get(c.key)) for c in CFGS])


def test_chunk_failing_for_good_is_reported_per_run_and_not_stored(ray_ex, tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        with pytest.raises(executor.UnitsFailed) as err:
            sweep.run(CFGS, store=store, executor=ray_ex, train_chunk=functools.partial(_fail_on_M, M=11))
        bad = {c.key for c in CFGS if c.M == 11}
        assert set(err.value.failures) == bad
        assert all(v.startswith("ValueError: bad chunk at M=11") for v in err.value.failures.values())
        assert store.keys() == {c.key for c in CFGS if c.M == 7}  # the good chunk is stored, the bad not


def test_rerun_with_a_warm_store_submits_nothing(ray_ex, tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        before = ray_ex.submitted
        first = sweep.run(CFGS, store=store, executor=ray_ex)
        assert ray_ex.submitted > before
        before = ray_ex.submitted
        second = sweep.run(CFGS, store=store, executor=ray_ex)
        assert ray_ex.submitted == before
    assert_same(first, second)


CLAIM_SUITE = '''
import json, os
from grokcore.engine import executor, sweep
from grokcore.engine.config import ModelSpec, OptimSpec, RunConfig

BASE = RunConfig(task="add", M=7, ratio=0.5, steps=10, eval_every=5,
                 model=ModelSpec(family="li2", width=8), optim=OptimSpec(name="adam", lr=1e-2))

def check(i, claims_store, claims_device):
    hs = sweep.run([BASE.replace(seed=i)], store=claims_store, device=claims_device)
    ex = executor.current()
    assert ex.name == "ray" and ex.submitted == 1 and hs[0].status == "ok"
    import ray
    out = {"worker": os.environ.get("PYTEST_XDIST_WORKER"), "gcs": ray.get_runtime_context().gcs_address}
    with open(f"seen-{i}.json", "w") as f:
        json.dump(out, f)

def test_a(claims_store, claims_device):
    check(0, claims_store, claims_device)

def test_b(claims_store, claims_device):
    check(1, claims_store, claims_device)
'''


def test_pytest_xdist_workers_join_the_controllers_ray_instance(pytester, monkeypatch):
    skip_without_ray()
    pytester.makeconftest('pytest_plugins = ["grokcore.suite.plugin"]')
    pytester.makepyfile(test_tiny=CLAIM_SUITE)
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    result = pytester.runpytest_subprocess("-p", "xdist", "-n", "2", "--dist", "load", "-p", "no:cacheprovider",
                                           "--claims-executor", "ray", "--claims-store", "s.sqlite")
    result.assert_outcomes(passed=2)
    seen = [json.loads((pytester.path / f"seen-{i}.json").read_text()) for i in range(2)]
    assert {s["worker"] for s in seen} == {"gw0", "gw1"}  # --dist load over 2 tests: one each
    assert len({s["gcs"] for s in seen}) == 1 and seen[0]["gcs"].startswith("127.0.0.1:")
    with Store(pytester.path / "s.sqlite") as store:
        assert len(store.keys()) == 2


# ---------------------------------------------------------------- without ray

def test_without_ray_the_options_name_the_extra(monkeypatch, capsys, tmp_path):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ray" else real(name, *a))
    with pytest.raises(ImportError, match=r'pip install -e "\.\[ray\]"'):
        executor.make("ray")
    with pytest.raises(SystemExit) as exit_:
        cli.main(["sweep", "--M", "5", "--steps", "2", "--store", str(tmp_path / "s.sqlite"), "--executor", "ray"])
    assert exit_.value.code == 2 and ".[ray]" in capsys.readouterr().err
    with pytest.raises(ValueError, match="unknown executor"):
        executor.make("dask")


def test_default_path_never_imports_ray(tmp_path):
    code = textwrap.dedent(f"""
        import sys
        from grokcore.engine import executor, staged, sweep, trajectory
        from grokcore.suite import cli, plugin
        from grokcore.engine.config import ModelSpec, OptimSpec, RunConfig
        from grokcore.engine.store import Store
        cfg = RunConfig(task="add", M=5, ratio=0.5, steps=4, eval_every=2, model=ModelSpec(family="li2", width=8),
                        optim=OptimSpec(name="adam", lr=1e-2))
        assert executor.current().name == "local"
        sweep.run([cfg], store=Store({str(tmp_path / 's.sqlite')!r}))
        trajectory.run([cfg])
        staged.cached_set(None, "t", cfg, lambda: 1)
        assert "ray" not in sys.modules, "the local path imported ray"
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": str(REPO)})
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]
