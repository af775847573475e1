"""pytest plugin for claim tests: tiers, options, the ``claim`` recorder, xdist, report.

A claim test runs at every tier and records what it measured::

    @pytest.mark.parametrize("tier", TIERS)
    def test_li2_boundary(tier, claim, claims_seed, claims_device, claims_store):
        claim.reference("li2-boundary")       # optional when the test is named test_<id>
        claim.stat("c", estimate, claimed=1.0, headline=True)
        assert estimate.lo > 1, f"c = {estimate.value:.2f}"

Tier ``gpu`` is skipped without a CUDA device unless ``--claims-device cpu``
forces it onto the CPU; ``--claims-require-gpu`` (GPU CI) makes it fail instead.
A claim that does not reproduce stays as ``xfail(strict=True, reason=...)``:
its failed assertion becomes the verdict "refuted", the message its reason.

Records travel in each report's ``user_properties``, so they reach the xdist
controller with no extra channel; the controller writes claims.json and the
HTML report (``--claims-report``) at session end if any claim test ran.

Under pytest-xdist each worker sees one GPU (gwN -> GPU N mod count), and
``--dist load`` (xdist's default with ``-n``) is upgraded to ``loadgroup`` so
tests marked ``@share_sweep(name)`` run on one worker and share its sweep;
name another mode (e.g. ``--dist worksteal``) to opt out.

``--claims-executor ray`` sends training chunks and staged run sets to Ray
(`grokcore.engine.executor`); the controller starts or joins one Ray instance for the
session and hands its address to the xdist workers.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

import pytest

from grokcore.suite import report
from grokcore.suite.claim import Claim, outcome_verdict
from grokcore.suite.device import cuda_available, git_commit, gpu_for_worker, now, versions, visible_gpus
from grokcore.suite.tiers import MARKERS, plan_tiers

NO_GPU = "gpu tier needs a CUDA device; pass --claims-device cpu to force it on CPU"
PROPERTY = "grokcore_claim"  # user_properties key that carries a record
# --claims-seed k gives run seeds k * RUN_SEED_STRIDE + s: seeds of different k share no run
# config, split or init (s < RUN_SEED_STRIDE; staged chains add at most a few 7919 strides).
RUN_SEED_STRIDE = 1_000_000


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("claims", "grokcore claims")
    group.addoption("--claims-seed", type=int, default=0, help="base seed of every claim test (default 0)")
    group.addoption("--claims-report", metavar="PATH",
                    help="HTML report; the JSON goes beside it (default <rootdir>/reports/claims.html)")
    group.addoption("--claims-store", metavar="PATH",
                    help="results store (default grokcore.engine.store.default_store_path())")
    group.addoption("--claims-device", choices=("auto", "cpu", "cuda"), default="auto",
                    help="auto: cuda if visible, else cpu")
    group.addoption("--claims-require-gpu", action="store_true",
                    help="fail gpu-tier tests instead of skipping them without CUDA")
    group.addoption("--claims-plan", action="store_true",
                    help="print the cost plan (runs, FLOPs, estimated peak memory and wall time per claim grid; "
                         "grokcore/suite/plan.py) of the tiers -m selects (all if it names none), train nothing, exit")
    group.addoption("--claims-executor", choices=("local", "ray"), default="local",
                    help="where training chunks and staged run sets are computed (ray: pip install -e '.[ray]')")
    group.addoption("--claims-ray-address", metavar="ADDR", default=None,
                    help="with --claims-executor ray: 'auto' joins this node's running cluster, HOST:PORT "
                         "that cluster's GCS; default: start a local instance on loopback for this session")


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> int | None:
    """--claims-plan: print the plan of the selected tiers before any collection, and exit 0."""
    if not config.getoption("claims_plan", False):
        return None
    from grokcore.suite.plan import default_claims_dir, report as plan_report

    claims_dir = Path(config.rootpath) / "claims"
    if not claims_dir.is_dir():
        claims_dir = default_claims_dir()
    for tier in plan_tiers(config.getoption("markexpr", "")):
        print(plan_report(claims_dir, tier), end="\n\n")
    return 0


MAX_AUTO_WORKERS = 8  # the fast tier has 9 sweep groups; more workers would idle, each holding torch (~0.5 GB)


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity, e.g. a container's cpuset), else os.cpu_count()."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """``-n auto`` (in pyproject's addopts, so plain ``pytest claims -m fast`` uses every core): one
    worker per usable core, at most MAX_AUTO_WORKERS, and no workers at all (in-process, 0) on one
    core. Why: a claim batch's small ops use about one core whatever torch's thread count (the
    fast tier serially on a 2-core AMD EPYC: 1035 CPU-s in 1042 s of wall), so a serial session
    leaves the other cores idle. PYTEST_XDIST_AUTO_NUM_WORKERS (xdist's own override) still wins."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None
    n = min(usable_cores(), MAX_AUTO_WORKERS)
    return n if n >= 2 else 0


def check_options(config: pytest.Config) -> None:
    """Refuse bad --claims-* values before anything runs or is written: one line, rc 4
    (pytest.UsageError), instead of every test erroring at setup and the report being
    overwritten with error cards."""
    seed = config.getoption("claims_seed", 0)
    if seed is not None and seed < 0:
        raise pytest.UsageError(f"--claims-seed must be >= 0, got {seed}")
    if config.getoption("claims_device", "auto") == "cuda" and not cuda_available():
        raise pytest.UsageError("--claims-device cuda, but no CUDA device is visible (use auto or cpu)")
    opt = config.getoption("claims_report", None)
    if opt:
        path = Path(opt)
        if path.suffix.lower() != ".html":
            raise pytest.UsageError(f"--claims-report {opt}: must name an .html file (the JSON is written beside it "
                                    "with the .json suffix)")
        parent = (config.invocation_params.dir / path).parent
        existing = next((p for p in (parent, *parent.parents) if p.exists()), None)
        if existing is None or not existing.is_dir() or not os.access(existing, os.W_OK):
            raise pytest.UsageError(f"--claims-report {opt}: cannot write under {parent}")
    check_store(config)


def check_store(config: pytest.Config) -> None:
    """An existing results store that is damaged, of a newer schema or not writable is one usage
    line before anything runs (the store's own StoreError message names the file and the fix),
    not a traceback in every claim's setup. Only the controller checks; a missing store is
    created by the first claim that needs it."""
    if getattr(config, "workerinput", None) is not None:
        return
    from grokcore.engine.store import Store, StoreError, default_store_path

    path = Path(config.getoption("claims_store", None) or default_store_path())
    if not path.exists():
        return
    try:
        Store(path, mode="rw").close()  # claims write their runs: a read-only store cannot serve them
    except StoreError as err:
        raise pytest.UsageError(f"results store: {err}") from None


def pytest_configure(config: pytest.Config) -> None:
    check_options(config)
    for name, doc in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {doc}")
    if not config.pluginmanager.hasplugin("xdist"):  # share_sweep must pass --strict-markers without xdist
        config.addinivalue_line("markers", "xdist_group(name): run with pytest-xdist, keeps tests on one worker")
    workerinput = getattr(config, "workerinput", None)
    if workerinput is None:  # the controller, or the only process
        if config.getoption("numprocesses", None) and config.getoption("dist", None) == "load":
            config.option.dist = "loadgroup"
        config.pluginmanager.register(Collector(config), "grokcore-claims-collector")
        _configure_executor(config)
        return
    gpu = gpu_for_worker(workerinput["workerid"], visible_gpus())  # before any test touches CUDA
    if gpu is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = gpu
    if workerinput.get("grokcore_dist") == "loadgroup":
        config.option.loadgroup = True  # xdist's worker reads this from the command line only
    if workerinput.get("grokcore_ray_address"):  # join the controller's Ray instance (or cluster)
        from grokcore.engine import executor

        executor.use(executor.Ray(workerinput["grokcore_ray_address"]))


def _configure_executor(config: pytest.Config) -> None:
    """--claims-executor ray on the controller: one Ray instance for the whole session.
    Without an address the controller starts a local one (on loopback) now, so xdist
    workers, each a Ray driver of its own, join it (`pytest_configure_node`) instead of
    each starting one; with an address every process joins that cluster."""
    if config.getoption("claims_executor", "local") != "ray":
        return
    from grokcore.engine import executor

    try:
        ex = executor.make("ray", config.getoption("claims_ray_address"))
    except ImportError as err:
        raise pytest.UsageError(f"--claims-executor ray: {err}") from None
    executor.use(ex)
    config._grokcore_ray = ex  # pytest_unconfigure shuts down the instance it started
    config._grokcore_ray_address = ex.gcs_address if ex.address is None else ex.address


def pytest_unconfigure(config: pytest.Config) -> None:
    ex = getattr(config, "_grokcore_ray", None)
    if ex is not None:
        from grokcore.engine import executor

        ex.shutdown()
        executor.use(executor.Local())


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: object) -> None:
    """Pass the controller's dist mode to workers, which tag grouped nodeids for loadgroup,
    and the address of the session's Ray instance (--claims-executor ray)."""
    node.workerinput["grokcore_dist"] = node.config.option.dist
    node.workerinput["grokcore_ray_address"] = getattr(node.config, "_grokcore_ray_address", None)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    require = item.config.getoption("claims_require_gpu")
    forced_cpu = item.config.getoption("claims_device") == "cpu" and not require
    if item.get_closest_marker("gpu") is None or forced_cpu or cuda_available():
        return
    if require:
        pytest.fail(f"{NO_GPU} (--claims-require-gpu)", pytrace=False)
    pytest.skip(NO_GPU)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> pytest.TestReport:
    rep = yield
    if "claim" in getattr(item, "fixturenames", ()) and (rep.when == "call" or not rep.passed):
        claim = (getattr(item, "funcargs", None) or {}).get("claim")  # absent if setup failed first
        record = (claim or Claim(item, None)).record()
        record["verdict"], record["reason"], record["outcome"] = outcome_verdict(call, rep, claim)
        rep.user_properties.append((PROPERTY, json.dumps(report.jsonable(record))))
    return rep


@pytest.fixture(scope="session")
def claims_seed(pytestconfig: pytest.Config) -> int:
    """Base of the run seeds: --claims-seed k -> k * RUN_SEED_STRIDE; tests use base + 0, 1, ...
    so different k share no run (no config, split or init)."""
    return pytestconfig.getoption("claims_seed") * RUN_SEED_STRIDE  # >= 0: check_options


@pytest.fixture(scope="session")
def claims_device(pytestconfig: pytest.Config) -> str:
    """'cuda' if visible and not forced to cpu (--claims-device), else 'cpu'."""
    choice = pytestconfig.getoption("claims_device")
    if choice != "cpu" and cuda_available():
        return "cuda"
    # Split the cores between xdist workers: oversubscribed intra-op threads
    # make the small matmuls of these models several times slower.
    import torch

    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    torch.set_num_threads(max(1, usable_cores() // workers))
    return "cpu"


@pytest.fixture(scope="session")
def claims_store(pytestconfig: pytest.Config):
    """The session's results store (--claims-store), shared by all claim tests."""
    from grokcore.engine.store import Store, StoreError, default_store_path  # lazy: only claim tests need it

    try:
        store = Store(pytestconfig.getoption("claims_store") or default_store_path(), mode="rw")
    except StoreError as err:  # e.g. created unwritable after check_store: one line, no traceback
        pytest.fail(f"results store: {err}", pytrace=False)
    yield store
    store.close()


@pytest.fixture
def claim(request: pytest.FixtureRequest, claims_device: str) -> Claim:
    """Records what this test measured; becomes its card in the report."""
    return Claim(request.node, claims_device)


def only_setup_errors(records: list[dict]) -> bool:
    """True when no claim measured anything: every record is an error raised before the test body."""
    return bool(records) and all(r.get("verdict") == "error" and str(r.get("reason", "")).startswith("setup:")
                                 for r in records)


class Collector:
    """On the controller: gathers records from reports; writes claims.json and the HTML at the end."""

    COLORS = {"supported": "green", "refuted": "red", "inconclusive": "yellow", "failed": "red", "error": "red"}

    def __init__(self, config: pytest.Config) -> None:
        self.config, self.records, self.paths, self.kept_report = config, {}, None, False
        self.started, self.t0 = now(), time.perf_counter()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for key, value in report.user_properties:
            old = self.records.get(report.nodeid)
            if key == PROPERTY and (old is None or old["verdict"] not in ("failed", "error")):  # first breakage wins
                self.records[report.nodeid] = json.loads(value)

    def sorted_records(self) -> list[dict]:
        return sorted(self.records.values(), key=lambda r: (r["id"], r["tier"] or "", r["nodeid"]))

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if not self.records:  # `pytest grokcore/tests` writes nothing
            return
        records, opt = self.sorted_records(), self.config.getoption("claims_report")
        html = self.config.invocation_params.dir / opt if opt else self.config.rootpath / "reports" / "claims.html"
        if only_setup_errors(records) and html.with_suffix(".json").exists():
            # a broken environment must not replace the last good report: write beside it
            html = html.with_name(html.stem + ".errors.html")
            self.kept_report = True
        meta = {
            "args": list(self.config.invocation_params.args), "started": self.started, "finished": now(),
            "wall_s": time.perf_counter() - self.t0, "hostname": socket.gethostname(),
            "device": ", ".join(sorted({r["device"] for r in records if r.get("device")})) or None,
            "versions": versions(), "git_commit": git_commit(), "seed": self.config.getoption("claims_seed"),
        }
        self.paths = report.write_report(records, meta, html)

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if not self.records:
            return
        tr, records = terminalreporter, self.sorted_records()
        labels = [f"{r['id']}[{r['tier']}]" if r["tier"] else r["id"] for r in records]
        tr.section("grokcore claims")
        for label, r in zip(labels, records):
            tr.write(f"{label:<{max(map(len, labels))}}  ")
            tr.write(f"{r['verdict'].upper():<12}", bold=True, **{self.COLORS.get(r["verdict"], "white"): True})
            reason = (r["reason"] or "").strip().splitlines()
            tr.write_line(f"  {report.format_stat(r['headline']) or (reason[0][:100] if reason else '')}")
        if self.paths:
            tr.write_line(f"report: {self.paths[1]}  (records: {self.paths[0]})")
        if self.kept_report:
            tr.write_line("every claim errored before it measured anything: the previous report was kept, "
                          "this run's error cards are in the report above", yellow=True)
