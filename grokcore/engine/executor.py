"""Executors: where sweep chunks and other self-contained units of work are computed.

A unit is ``fn(unit)`` with a result computed from its arguments alone (a training
chunk is computed from its configs: `sweep.chunks`). Two executors:

  local  in this process, one unit after another; `sweep.run` keeps its own loop
         for it (unchanged: progress bars, errors raised at once). The default;
         nothing on this path imports ray.
  ray    every unit is one Ray task: ``num_gpus=1`` when the work runs on CUDA,
         else ``num_cpus=1``; a task whose worker process or node is lost is
         resubmitted up to ``max_retries`` times (Ray's own retry). A unit that
         still fails, or raises, comes back as a `Failure` with its error. Results
         return to the driver as they complete, and the driver alone writes the
         results store (one writer, as with local).

What goes through the executor: every chunk of `sweep.run` (hence of
`trajectory.run`, whose chunks also evaluate the order parameters) and the whole
computation of a `staged.cached_set` run set (the curriculum / finetuning chains and
the batched LLC of their checkpoints, as the claims compute them). What does not:
anything a caller runs directly (a bare `train.train`, `llc.estimate_llc` or
`staged.checkpoint_llc` call, a claim's statistics); it runs in the caller's process.

Whose instance: ``Ray.shutdown`` undoes only this executor's own ``ray.init`` (stops the
local instance it started, or leaves the cluster it joined). If Ray was already
initialized in this process, the executor uses that instance and never shuts it down;
for a local address it first checks that instance's listeners (GCS and every node
manager) are on loopback, and refuses it otherwise. A cluster address is not checked:
its ports are on the network by design, which must be a trusted one (README).

Shipping callables: Ray pickles a unit with cloudpickle. Functions of grokcore and of
installed packages travel by reference, so every Ray node needs the same grokcore
(and torch) installed; a callable defined elsewhere (a test file, a script) is shipped
by value (`_ship_by_value`). Prefer module functions and ``functools.partial`` over
lambdas in library code.

Bit-identical results: Ray sets OMP_NUM_THREADS=1 in its workers, which changes
torch's intra-op thread count and with it the order of float reductions. Each task
carries the driver's ``torch.get_num_threads()`` at submission and runs under that
count (`_run_unit`), so a chunk trained in a Ray worker on the same CPU gives the
same histories, bit for bit, as the local executor.
"""
from __future__ import annotations

import dataclasses
import importlib.util
import os
import sys
import sysconfig
from collections.abc import Callable, Iterator, Sequence
from typing import Any

EXTRA = 'the ray executor needs Ray: pip install -e ".[ray]"  (or pip install "ray>=2.9")'
LOOPBACK = "127.0.0.1"


@dataclasses.dataclass(frozen=True)
class Failure:
    """A unit that failed for good: ``error`` is 'ExceptionType: message' (truncated)."""

    error: str


class UnitsFailed(RuntimeError):
    """Some units failed for good. ``failures`` maps each affected item (a run key, or a
    unit's label) to its error; nothing of theirs was stored as a result."""

    def __init__(self, failures: dict[str, str]):
        self.failures = dict(failures)
        lines = [f"  {k}: {v}" for k, v in list(self.failures.items())[:20]]
        more = len(self.failures) - len(lines)
        super().__init__(f"{len(self.failures)} item(s) failed on the executor:\n" + "\n".join(lines)
                         + (f"\n  ... and {more} more" if more > 0 else ""))


class Local:
    """Units in this process, one after another; an exception propagates at once."""

    name = "local"

    def map(self, fn: Callable, units: Sequence, gpu: bool = False) -> Iterator[tuple[int, Any]]:
        for i, unit in enumerate(units):
            yield i, fn(unit)

    def call(self, fn: Callable[[], Any], label: str = "unit") -> Any:
        return fn()


def _is_local(address: str | None) -> bool:
    return address is None or address.rsplit(":", 1)[0] in (LOOPBACK, "localhost")


def _import_ray(address: str | None = None):
    if _is_local(address):
        # Keep a local instance on loopback: otherwise Ray advertises the node's interface
        # address and binds its servers to every interface. Read when ray is imported.
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    try:
        import ray
    except ImportError as err:
        raise ImportError(EXTRA) from err
    return ray


def _off_loopback(ray) -> str | None:
    """The first address of the connected instance that is not loopback (its GCS, then each
    node's manager), or None: every listener Ray reports is on loopback."""
    gcs = ray.get_runtime_context().gcs_address
    if gcs.rsplit(":", 1)[0] != LOOPBACK:
        return f"GCS {gcs}"
    for node in ray.nodes():
        if node.get("Alive", True) and node.get("NodeManagerAddress") != LOOPBACK:
            return f"node manager {node.get('NodeManagerAddress')}"
    return None


def _run_unit(fn: Callable, unit: Any, threads: int) -> Any:
    """Task body: ``fn(unit)`` under the driver's torch intra-op thread count (Ray's
    workers start with OMP_NUM_THREADS=1; see the module docstring)."""
    from grokcore.engine.train import torch_threads

    with torch_threads(threads):
        return fn(unit)


def _call(fn: Callable[[], Any]) -> Any:
    return fn()


def _ship_by_value(fn: Callable) -> None:
    """Register the module of ``fn`` (through functools.partial) to be pickled by value
    when it is neither grokcore nor an installed or standard-library module: Ray workers
    import such a module (a pytest test file, a script) under no name of theirs."""
    import ray.cloudpickle as cloudpickle

    while hasattr(fn, "func"):  # functools.partial, possibly nested
        for arg in (*fn.args, *fn.keywords.values()):
            if callable(arg):
                _ship_by_value(arg)
        fn = fn.func
    mod = sys.modules.get(getattr(fn, "__module__", None) or "")
    if mod is None or mod.__name__ == "__main__" or mod.__name__.split(".")[0] == "grokcore":
        return  # __main__ goes by value anyway; grokcore is installed on every node
    path = os.path.realpath(getattr(mod, "__file__", None) or "")
    installed = [os.path.realpath(p) for k, p in sysconfig.get_paths().items() if k in ("stdlib", "purelib", "platlib")]
    if path and not any(path.startswith(p + os.sep) for p in installed):
        cloudpickle.register_pickle_by_value(mod)


class Ray:
    """Units as Ray tasks on the cluster at ``address`` ('auto': the running cluster this
    node belongs to; 'HOST:PORT': that cluster's GCS; None: a new local instance).

    ``submitted`` counts the tasks this executor has submitted (retries not included).
    Connects lazily, at the first unit or `gcs_address`."""

    name = "ray"

    def __init__(self, address: str | None = None, max_retries: int = 3, num_cpus: int | None = None):
        self.address, self.max_retries, self.submitted = address, max_retries, 0
        self.num_cpus = num_cpus  # of a local instance this executor starts (None: Ray's default, all cores)
        self._started = False  # this executor started a local instance
        self._connected = False  # this executor called ray.init (so shutdown() is its to call)
        self._checked = False  # an instance initialized before us was checked (once)

    def _connect(self):
        ray = _import_ray(self.address)
        if ray.is_initialized():
            if not self._connected and not self._checked:
                self._check_existing(ray)
            return ray
        local = _is_local(self.address)
        kw = {"_node_ip_address": LOOPBACK} if local else {}
        if self.address is None:
            kw["num_cpus"] = self.num_cpus
        ray.init(address=self.address, include_dashboard=False, log_to_driver=False, **kw)
        self._connected, self._started = True, self.address is None
        if local and _off_loopback(ray):
            self.shutdown()  # ray was imported before _import_ray could keep it on loopback
            raise RuntimeError("a local Ray instance must stay on loopback: let grokcore import ray "
                               "(or set RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 before importing it)")
        return ray

    def _check_existing(self, ray) -> None:
        """Ray was initialized in this process before this executor (by the caller): use it,
        leave it running, and for a local address check its listeners as for our own. A
        cluster address is not checked: its ports are on the network by design (README)."""
        if _is_local(self.address) and (where := _off_loopback(ray)):
            raise RuntimeError(f"Ray is already initialized in this process and listens on {where}, not on "
                               f"loopback ({LOOPBACK}); grokcore did not start it and will not use it as a local "
                               "instance. Call ray.shutdown() first, or keep it on loopback (set "
                               "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 before importing ray, ray.init(_node_ip_address="
                               f"'{LOOPBACK}')), or pass its address (--ray-address) to use it as a cluster")
        self._checked = True

    @property
    def gcs_address(self) -> str:
        """The cluster's address, for other processes to join (connects if needed)."""
        ray = self._connect()
        return ray.get_runtime_context().gcs_address

    def map(self, fn: Callable, units: Sequence, gpu: bool = False) -> Iterator[tuple[int, Any]]:
        """(index, result or `Failure`) for every unit, in order of completion."""
        import torch

        ray = self._connect()
        _ship_by_value(fn)
        task = ray.remote(_run_unit).options(num_gpus=1 if gpu else 0, num_cpus=1,
                                             max_retries=self.max_retries, retry_exceptions=False)
        fn_ref = ray.put(fn)  # one copy of the (possibly large) callable for all units
        threads = torch.get_num_threads()
        index = {task.remote(fn_ref, unit, threads): i for i, unit in enumerate(units)}
        self.submitted += len(index)
        pending = list(index)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                try:
                    yield index[ref], ray.get(ref)
                except ray.exceptions.RayError as err:  # a raised exception, or retries used up
                    cause = getattr(err, "cause", None) or err
                    yield index[ref], Failure(f"{type(cause).__name__}: {str(cause).strip()[:500]}")

    def call(self, fn: Callable[[], Any], label: str = "unit") -> Any:
        """``fn()`` as one task; raises `UnitsFailed` ({label: error}) if it fails for good."""
        _import_ray(self.address)
        _ship_by_value(fn)  # fn travels as the unit: map ships only _call itself
        (_, out), = self.map(_call, [fn])
        if isinstance(out, Failure):
            raise UnitsFailed({label: out.error})
        return out

    def shutdown(self) -> None:
        """Undo this executor's ray.init: stop the local instance it started, or disconnect
        from the cluster it joined. An instance initialized by someone else is left running."""
        if self._connected and "ray" in sys.modules and sys.modules["ray"].is_initialized():
            sys.modules["ray"].shutdown()
        self._started = self._connected = False


_CURRENT: Local | Ray = Local()


def current() -> Local | Ray:
    """The executor `sweep.run` and `staged.cached_set` use when none is passed."""
    return _CURRENT


def use(executor: Local | Ray) -> Local | Ray:
    """Make ``executor`` the current one; returns the previous one."""
    global _CURRENT
    old, _CURRENT = _CURRENT, executor
    return old


def make(name: str, address: str | None = None, max_retries: int = 3) -> Local | Ray:
    """'local' or 'ray' (ray: checks up front that Ray is installed, naming the extra)."""
    if name == "local":
        return Local()
    if name == "ray":
        if importlib.util.find_spec("ray") is None:  # checked without importing ray
            raise ImportError(EXTRA)
        return Ray(address, max_retries)
    raise ValueError(f"unknown executor {name!r}: use 'local' or 'ray'")
