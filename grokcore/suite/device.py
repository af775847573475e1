"""Where a claim ran: visible GPUs (without initializing CUDA), the device's name, package
versions and the git commit. pytest-free, so benchmarks and scripts can use it too."""
from __future__ import annotations

import functools
import os
import platform
import re
import subprocess
from datetime import datetime
from importlib import metadata
from pathlib import Path

import grokcore


def now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


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
def cuda_available() -> bool:
    import torch  # lazy: plain `pytest grokcore/tests` should not pay for it

    return torch.cuda.is_available()


@functools.cache
def describe_device(device: str | None) -> str | None:
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
