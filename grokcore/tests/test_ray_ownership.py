"""The ray executor and a Ray instance it did not start: it checks that instance's listeners
(loopback only, for a local address) and never shuts it down.

First with a stand-in for the ray module (any machine, no Ray needed), then once with real
Ray in a subprocess (the caller's own instance, on loopback and on a non-loopback address)."""
from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest

from grokcore.engine import executor

REPO = Path(__file__).resolve().parents[2]


class FakeRay:
    """The few calls executor.Ray makes, recording init and shutdown."""

    def __init__(self, initialized: bool, gcs: str = "127.0.0.1:6379", node: str = "127.0.0.1") -> None:
        self.initialized, self.gcs, self.node = initialized, gcs, node
        self.inits = self.shutdowns = 0

    def is_initialized(self) -> bool:
        return self.initialized

    def init(self, **kwargs) -> None:
        self.inits += 1
        self.initialized = True

    def shutdown(self) -> None:
        self.shutdowns += 1
        self.initialized = False

    def get_runtime_context(self):
        return SimpleNamespace(gcs_address=self.gcs)

    def nodes(self) -> list[dict]:
        return [{"NodeManagerAddress": self.node, "Alive": True}]


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch):
    def install(ray: FakeRay) -> FakeRay:
        monkeypatch.setitem(sys.modules, "ray", ray)  # what shutdown() looks at
        monkeypatch.setattr(executor, "_import_ray", lambda address=None: ray)
        return ray

    return install


@pytest.mark.parametrize("gcs, node, where", [("192.0.2.7:6379", "192.0.2.7", "GCS 192.0.2.7:6379"),
                                              ("127.0.0.1:6379", "192.0.2.7", "node manager 192.0.2.7")])
def test_callers_instance_off_loopback_is_refused_and_left_running(fake, gcs, node, where) -> None:
    ray = fake(FakeRay(initialized=True, gcs=gcs, node=node))
    ex = executor.Ray()
    with pytest.raises(RuntimeError, match=f"listens on {where}, not on loopback"):
        _ = ex.gcs_address
    ex.shutdown()
    assert ray.initialized and ray.shutdowns == 0 and ray.inits == 0


def test_callers_loopback_instance_is_used_and_never_shut_down(fake) -> None:
    ray = fake(FakeRay(initialized=True))
    ex = executor.Ray()
    assert ex.gcs_address == "127.0.0.1:6379"
    ex.shutdown()
    assert ray.initialized and ray.shutdowns == 0 and ray.inits == 0


def test_cluster_address_is_not_checked_and_not_shut_down(fake) -> None:
    ray = fake(FakeRay(initialized=True, gcs="10.1.2.3:6379", node="10.1.2.4"))
    ex = executor.Ray("10.1.2.3:6379")
    assert ex.gcs_address == "10.1.2.3:6379"  # a cluster's ports are on the network by design
    ex.shutdown()
    assert ray.initialized and ray.shutdowns == 0


def test_own_instance_is_shut_down(fake) -> None:
    ray = fake(FakeRay(initialized=False))
    ex = executor.Ray()
    _ = ex.gcs_address
    assert ray.inits == 1
    ex.shutdown()
    assert ray.shutdowns == 1 and not ray.initialized


def test_own_instance_off_loopback_is_stopped(fake) -> None:
    ray = fake(FakeRay(initialized=False, gcs="192.0.2.7:6379"))
    with pytest.raises(RuntimeError, match="must stay on loopback"):
        _ = executor.Ray().gcs_address
    assert ray.shutdowns == 1  # ours: stopped


def _non_loopback_ip() -> str | None:
    """An address of this machine other than loopback (for a Ray node to bind), or None."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing interface
            ip = s.getsockname()[0]
    except OSError:
        return None
    return None if ip.startswith("127.") else ip


REAL = '''
import functools, json, operator, os, sys
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # as grokcore does: else Ray binds the node's interface
import ray  # imported and initialized by the caller, before grokcore
from grokcore.engine import executor

out = {}
ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False, _node_ip_address="127.0.0.1")
ex = executor.Ray()
out["result"] = ex.call(functools.partial(operator.add, 2, 3))
ex.shutdown()
out["alive_after_shutdown"] = ray.is_initialized()
ray.shutdown()
ip = sys.argv[1]
if ip != "none":
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False, _node_ip_address=ip)
    try:
        _ = executor.Ray().gcs_address
        out["refused"] = None
    except RuntimeError as err:
        out["refused"] = str(err)
    out["alive_after_refusal"] = ray.is_initialized()
    ray.shutdown()
print(json.dumps(out))
'''


@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason='ray is not installed (pip install -e ".[ray]")')
def test_real_callers_instance(tmp_path: Path) -> None:
    ip = _non_loopback_ip()
    r = subprocess.run([sys.executable, "-c", textwrap.dedent(REAL), ip or "none"], capture_output=True, text=True,
                       check=False, timeout=300, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["result"] == 5 and out["alive_after_shutdown"] is True, (out, r.stderr[-3000:])
    if ip is None:
        pytest.skip("no non-loopback address here: only the loopback half ran")
    assert out["refused"] and "not on loopback" in out["refused"] and out["alive_after_refusal"] is True, out
