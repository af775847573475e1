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

import base64
import functools
import io
import json
import os
import platform
import re
import socket
import subprocess
import time
from datetime import datetime
from importlib import metadata
from pathlib import Path

import pytest

import grokcore
from grokcore.suite import report
from grokcore.suite.reference import all_references, load_reference

MARKERS = {"fast": "every claim at reduced scale, CPU", "gpu": "paper scale, needs a GPU"}
# `long` (pyproject.toml) is not a tier of every claim: only the seed-002 claims the fast tier cannot
# decide carry it (claims/test_boundaries.py, mod64-threshold), so --claims-plan plans it only when -m selects it.
TIERS = [pytest.param("fast", marks=pytest.mark.fast, id="fast"), pytest.param("gpu", marks=pytest.mark.gpu, id="gpu")]
NO_GPU = "gpu tier needs a CUDA device; pass --claims-device cpu to force it on CPU"
PROPERTY = "grokcore_claim"  # user_properties key that carries a record
CONCLUSIONS = ("supported", "inconclusive")  # "refuted" comes from a strict xfail
# --claims-seed k gives run seeds k * RUN_SEED_STRIDE + s: seeds of different k share no run
# config, split or init (s < RUN_SEED_STRIDE; staged chains add at most a few 7919 strides).
RUN_SEED_STRIDE = 1_000_000
PINNED = "pinned refuted at this tier (strict xfail): the verdict is the measured message"


def pinned_refuted(tier: str = "fast") -> list:
    """Tier params for a claim that does not reproduce at ``tier``: a strict xfail there, whose
    report reason is the measured failure message (not a stored string)."""
    marks = {"fast": pytest.mark.fast, "gpu": pytest.mark.gpu}
    return [pytest.param(t, marks=[m, pytest.mark.xfail(strict=True, reason=PINNED)] if t == tier else m, id=t)
            for t, m in marks.items()]


def share_sweep(name: str) -> pytest.MarkDecorator:
    """Mark tests that share a sweep so xdist runs them on one worker (``--dist loadgroup``)."""
    return pytest.mark.xdist_group(name)


def _now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


# ---------------------------------------------------------------- environment


def visible_gpus() -> list[str]:
    """CUDA devices this process may use, each as a value valid for CUDA_VISIBLE_DEVICES,
    found without initializing CUDA.

    From CUDA_VISIBLE_DEVICES when set: its entries as given (indices, ``GPU-<uuid>``,
    ``MIG-<uuid>`` or the older ``MIG-GPU-<uuid>/<gi>/<ci>``), up to the first invalid one,
    where CUDA stops reading ("-1" or "" hides all). Else from ``nvidia-smi -L``
    (`parse_nvidia_smi`): a GPU split into MIG slices counts as its slices (CUDA cannot use
    the parent GPU then), any other GPU as itself; each by the UUID it lists."""
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        ids = [d.strip() for d in env.split(",")]
        return ids[: next((i for i, d in enumerate(ids) if not _valid_device_entry(d)), len(ids))]
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError):  # no driver, no GPUs
        return []
    return parse_nvidia_smi(out)


def _valid_device_entry(d: str) -> bool:
    """An entry CUDA accepts in CUDA_VISIBLE_DEVICES: an index >= 0 or a (possibly shortened) UUID."""
    return d.isdigit() or (d.startswith(("GPU-", "MIG-")) and len(d) > 4)


_SMI_UUID = re.compile(r"\(UUID:\s*([^)\s]+)\s*\)")


def parse_nvidia_smi(out: str) -> list[str]:
    """Devices from ``nvidia-smi -L`` output: per ``GPU i: ...`` line, its indented
    ``MIG ... Device j: (UUID: MIG-...)`` lines if any, else the GPU itself; each by its
    UUID (valid in CUDA_VISIBLE_DEVICES whatever CUDA_DEVICE_ORDER is), or by the GPU
    index when a line lists none. Other lines are ignored."""
    gpus: list[tuple[str, list[str]]] = []  # (GPU value, its MIG slices)
    for line in out.splitlines():
        text = line.strip()
        uuid = _SMI_UUID.search(text)
        if text.startswith("GPU ") and not line[:1].isspace():
            index = text[4:].split(":", 1)[0].strip()
            if uuid:
                gpus.append((uuid.group(1), []))
            elif index.isdigit():
                gpus.append((index, []))
        elif text.startswith("MIG ") and gpus and uuid:
            gpus[-1][1].append(uuid.group(1))
    return [d for gpu, migs in gpus for d in (migs or [gpu])]


def gpu_for_worker(worker_id: str, gpus: list[str]) -> str | None:
    """The device that xdist worker ``gwN`` gets: round-robin over ``gpus`` (as returned by
    `visible_gpus`: indices, GPU or MIG UUIDs), None for a non-worker or no device."""
    index = worker_id.strip().removeprefix("gw")
    return gpus[int(index) % len(gpus)] if gpus and index.isdigit() else None


@functools.cache
def _cuda_available() -> bool:
    import torch  # lazy: plain `pytest grokcore/tests` should not pay for it

    return torch.cuda.is_available()


@functools.cache
def _describe_device(device: str | None) -> str | None:
    """'cuda: <GPU name>' or 'cpu: <model>, <n> cores', for provenance."""
    if device == "cuda":
        import torch

        return f"cuda: {torch.cuda.get_device_name()}"
    if device != "cpu":
        return device
    cpuinfo = Path("/proc/cpuinfo")
    models = [ln.split(":", 1)[1].strip() for ln in cpuinfo.read_text().splitlines()
              if ln.startswith("model name")] if cpuinfo.exists() else []
    return f"cpu: {models[0] if models else platform.machine()}, {os.cpu_count()} cores"


@functools.cache
def versions() -> dict[str, str | None]:
    def version(dist: str) -> str | None:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return None

    own = getattr(grokcore, "__version__", None)
    return {"python": platform.python_version(), "torch": version("torch"), "numpy": version("numpy"), "grokcore": own}


@functools.cache
def git_commit() -> str | None:
    """HEAD of the checkout holding this package, '-dirty' if tracked files changed."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(Path(__file__).parent), *args],
                              capture_output=True, text=True, timeout=30, check=True).stdout.strip()

    try:
        return git("rev-parse", "HEAD") + ("-dirty" if git("status", "--porcelain", "--untracked-files=no") else "")
    except (OSError, subprocess.SubprocessError):
        return None


# ---------------------------------------------------------------- the recorder


class Claim:
    """What one claim test measured (the ``claim`` fixture); ``record()`` is its JSON form."""

    def __init__(self, item: pytest.Item, device: str | None) -> None:
        groups = "_".join(sorted(str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                                 for m in item.iter_markers("xdist_group")))
        self.nodeid = item.nodeid.removesuffix(f"@{groups}")  # xdist's loadgroup suffix
        params = getattr(item, "callspec", None)
        marked = next((t for t in MARKERS if item.get_closest_marker(t)), None)
        self.tier = params.params.get("tier", marked) if params else marked
        self.device = device
        # a test named test_<id> needs no reference() call: its id and row are known up front
        self.id = getattr(item, "originalname", item.name).removeprefix("test_").replace("_", "-")
        self._reference, self._notes = {}, []
        try:
            self._reference = all_references().get(self.id, {})
        except (OSError, ValueError) as exc:  # a broken fixtures file should not hide the verdict
            self._notes.append(f"fixtures unreadable: {exc}")
        self._tested, self._alpha, self._scale, self._stats, self._figures, self._configs = "", None, {}, [], [], []
        self.verdict, self.reason, self.decision = None, "", None
        self._started, self._t0 = _now(), time.perf_counter()

    def reference(self, claim_id: str) -> dict:
        """Attach the fixtures row of ``claim_id`` (KeyError if unknown) and return it."""
        self._reference, self.id = load_reference(claim_id), claim_id
        return self._reference

    def tested(self, text: str, alpha: float | None = None) -> None:
        """What exactly was tested, including the statistic and α."""
        self._tested, self._alpha = text, alpha if alpha is not None else self._alpha

    def scale(self, **grid: object) -> None:
        """The grid measured at this tier (M values, seeds, width, steps, ...)."""
        self._scale.update(report.jsonable(grid))

    def stat(self, name: str, est: object, claimed: object = None, headline: bool = False, unit: str = "") -> None:
        """One statistic: an Estimate (or anything with ``to_dict``), a dict, or a number."""
        fields = report.jsonable(est)
        fields = fields if isinstance(fields, dict) else {"value": fields}
        for s in self._stats if headline else ():  # one headline per claim
            s["headline"] = False
        claimed = report.jsonable(claimed)
        self._stats.append({**fields, "name": name, "claimed": claimed, "unit": unit, "headline": headline})

    def figure(self, fig: object, title: str, caption: str = "") -> None:
        """Embed a matplotlib figure as PNG and close it."""
        import matplotlib.pyplot as plt

        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=90, bbox_inches="tight", facecolor="white")
        plt.close(fig)
        self._figures.append({"title": title, "caption": caption, "png_b64": base64.b64encode(buf.getvalue()).decode()})

    def configs(self, hashes: object) -> None:
        """Run keys (config hashes) the verdict rests on."""
        self._configs.extend(str(h) for h in hashes)

    def conclude(self, verdict: str, reason: str) -> None:
        """The verdict if the test passes; a failed assertion still wins."""
        if verdict not in CONCLUSIONS:
            raise ValueError(f"verdict must be one of {CONCLUSIONS}; mark refuted claims xfail(strict=True)")
        self.verdict, self.reason = verdict, reason

    def note(self, text: str) -> None:
        self._notes.append(text)

    def decide(self, rule, data, perturb=None, effect_name: str | None = None, headline: bool = True):
        """Decide the claim: ``rule(data)`` -> Verdict, re-run under the robustness gates
        (grokcore.decide.gates.decide), recorded with every gate's outcome. The effect becomes the
        headline statistic. A refutation raises AssertionError with the measured reason (the
        claim's test is then a strict xfail, or it fails); otherwise the verdict is concluded."""
        from grokcore.decide import gates

        d = gates.decide(rule, data, perturb)
        self.decision = d
        if d.base.effect is not None:
            self.stat(effect_name or d.base.effect.name, d.base.effect, claimed=d.base.claimed, headline=headline)
        if d.base.power:
            self.note(f"power: {d.base.power}")
        if self._alpha is None:
            self._alpha = d.base.alpha
        if d.verdict == "refuted":
            self.verdict, self.reason = None, ""
            raise AssertionError(f"refuted: {d.reason}")
        self.conclude(d.verdict, d.reason)
        return d

    def record(self) -> dict:
        headline = next((s for s in self._stats if s["headline"]), self._stats[0] if self._stats else None)
        return {
            "id": self.id, "nodeid": self.nodeid, "tier": self.tier,
            "reference": {k: v for k, v in self._reference.items() if k != "id"},
            "tested": self._tested, "scale": self._scale, "stats": self._stats, "headline": headline,
            "figures": self._figures, "configs": self._configs, "notes": self._notes,
            "verdict": self.verdict, "reason": self.reason,
            "decision": self.decision.to_dict() if self.decision is not None else None,
            "alpha": self._alpha if self._alpha is not None else (headline or {}).get("alpha"),
            "wall_s": time.perf_counter() - self._t0, "device": _describe_device(self.device),
            "worker": os.environ.get("PYTEST_XDIST_WORKER"), "versions": versions(),
            "git_commit": git_commit(), "started": self._started, "outcome": None,
        }


def _verdict(call: pytest.CallInfo, rep: pytest.TestReport, claim: Claim | None) -> tuple[str, str, str]:
    """(verdict, reason, pytest outcome) of a claim test's report for one phase."""
    exc, xfail = call.excinfo, getattr(rep, "wasxfail", None)
    message = str(exc.value).strip()[:1500] if exc else ""
    last_line = (exc.exconly().strip() if exc else (rep.longreprtext.strip().splitlines() or [""])[-1])[:500]
    if rep.skipped and xfail is None:
        reason = rep.longrepr[2] if isinstance(rep.longrepr, tuple) else str(rep.longrepr)
        return "skipped", reason.removeprefix("Skipped: "), "skipped"
    if rep.when != "call":
        return "error", f"{rep.when}: {last_line}", "error"
    if rep.skipped:  # xfailed: only a failed assertion (or pytest.xfail) measures a refutation
        if exc is not None and exc.errisinstance(pytest.xfail.Exception):
            return "refuted", xfail, "xfailed"
        if exc is not None and exc.errisinstance(AssertionError):
            return "refuted", message.removeprefix("refuted: "), "xfailed"
        return "error", f"expected a failed assertion, got {last_line}", "xfailed"
    if xfail is not None or (rep.failed and exc is None):  # XPASS; strict XPASS fails with no exception
        measured = (claim.verdict or "supported") if claim else "supported"
        why = f": {claim.reason}" if claim and claim.reason else ""
        return measured, f"pinned refuted at this tier, measured {measured}{why} (strict xfail: the test fails)", "xpassed"
    if rep.failed:
        if exc.errisinstance(AssertionError) and claim is not None and claim.decision is not None:
            return "refuted", message.removeprefix("refuted: "), "failed"  # refuted, but not pinned
        return ("failed", message, "failed") if exc.errisinstance(AssertionError) else ("error", last_line, "error")
    return (claim and claim.verdict) or "supported", claim.reason if claim else "", "passed"


# ---------------------------------------------------------------- hooks and fixtures


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


def plan_tiers(markexpr: str) -> list[str]:
    """The tiers a -m expression selects (a claim test carries exactly one tier marker);
    fast and gpu when the expression is empty or selects no tier; `long` (only the claims that
    have it) when the expression selects it."""
    if not markexpr:
        return list(MARKERS)
    from _pytest.mark.expression import Expression  # pytest's own -m grammar (and, or, not)

    expr = Expression.compile(markexpr)
    chosen = [t for t in (*MARKERS, "long") if expr.evaluate(lambda name, /, **kw: name == t)]
    return chosen or list(MARKERS)


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


def pytest_configure(config: pytest.Config) -> None:
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
    if item.get_closest_marker("gpu") is None or forced_cpu or _cuda_available():
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
        record["verdict"], record["reason"], record["outcome"] = _verdict(call, rep, claim)
        rep.user_properties.append((PROPERTY, json.dumps(report.jsonable(record))))
    return rep


@pytest.fixture(scope="session")
def claims_seed(pytestconfig: pytest.Config) -> int:
    """Base of the run seeds: --claims-seed k -> k * RUN_SEED_STRIDE; tests use base + 0, 1, ...
    so different k share no run (no config, split or init)."""
    k = pytestconfig.getoption("claims_seed")
    if k < 0:
        raise pytest.UsageError(f"--claims-seed must be >= 0, got {k}")
    return k * RUN_SEED_STRIDE


@pytest.fixture(scope="session")
def claims_device(pytestconfig: pytest.Config) -> str:
    """'cuda' if visible and not forced to cpu (--claims-device), else 'cpu'."""
    choice = pytestconfig.getoption("claims_device")
    if choice != "cpu" and _cuda_available():
        return "cuda"
    if choice == "cuda":
        pytest.fail("--claims-device cuda, but no CUDA device is visible", pytrace=False)
    # Split the cores between xdist workers: oversubscribed intra-op threads
    # make the small matmuls of these models several times slower.
    import torch

    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // workers))
    return "cpu"


@pytest.fixture(scope="session")
def claims_store(pytestconfig: pytest.Config):
    """The session's results store (--claims-store), shared by all claim tests."""
    from grokcore.engine.store import Store, default_store_path  # lazy: only claim tests need the store

    store = Store(pytestconfig.getoption("claims_store") or default_store_path())
    yield store
    store.close()


@pytest.fixture
def claim(request: pytest.FixtureRequest, claims_device: str) -> Claim:
    """Records what this test measured; becomes its card in the report."""
    return Claim(request.node, claims_device)


class Collector:
    """On the controller: gathers records from reports; writes claims.json and the HTML at the end."""

    COLORS = {"supported": "green", "refuted": "red", "inconclusive": "yellow", "failed": "red", "error": "red"}

    def __init__(self, config: pytest.Config) -> None:
        self.config, self.records, self.paths = config, {}, None
        self.started, self.t0 = _now(), time.perf_counter()

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
        meta = {
            "args": list(self.config.invocation_params.args), "started": self.started, "finished": _now(),
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
