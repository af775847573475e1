"""Modular-arithmetic tasks: full tables, seeded splits, curricula.

Shape convention: M = modulus, N = M² pairs. A task is a function
(a, b, M) -> label over integer tensors; `OPERATIONS` maps the CLI names to them
(`add`, `sub`, `mul`, `div`, `x2y2`, `x2xyy2`). The full table lists every
pair (a, b) in row-major order, index i = a·M + b.

Splits are drawn from their own `torch.Generator(split_seed)`, so the same
seed always gives the same split whatever else the process did. A split by
ratio takes round(ratio·N) pairs. A curriculum stage r keeps the training pairs
with a < r and b < r: stages with increasing r are nested (seed 004).
"""
from __future__ import annotations

from collections.abc import Callable

import torch


def _is_prime(m: int) -> bool:
    return m >= 2 and all(m % p for p in range(2, int(m**0.5) + 1))


def _div(a: torch.Tensor, b: torch.Tensor, M: int) -> torch.Tensor:
    # a / b = a · b^(M-2) mod M (Fermat); b = 0 has no inverse, defined as 0 here
    # and excluded from the table by `table`.
    inv = torch.tensor([pow(int(x), M - 2, M) if x else 0 for x in range(M)])
    return (a * inv[b]) % M


OPERATIONS: dict[str, Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor]] = {
    "add": lambda a, b, M: (a + b) % M,
    "sub": lambda a, b, M: (a - b) % M,
    "mul": lambda a, b, M: (a * b) % M,
    "div": _div,
    "x2y2": lambda a, b, M: (a * a + b * b) % M,
    "x2xyy2": lambda a, b, M: (a * a + a * b + b * b) % M,
}


def check_task(task: str, M: int) -> None:
    """Raise ValueError for an impossible task request."""
    if task not in OPERATIONS:
        raise ValueError(f"unknown task {task!r}; choose one of {sorted(OPERATIONS)}")
    if M < 2:
        raise ValueError(f"modulus M must be >= 2, got {M}")
    if task == "div" and not _is_prime(M):
        raise ValueError(f"division needs a prime modulus (every b != 0 invertible); M={M} is not prime")


def table(task: str, M: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Every pair and its label: a, b, y each (N,) int64. For `div`, b = 0 is excluded."""
    check_task(task, M)
    a = torch.arange(M).repeat_interleave(M)  # (M²,)
    b = torch.arange(M).repeat(M)  # (M²,)
    if task == "div":
        keep = b != 0
        a, b = a[keep], b[keep]
    return a, b, OPERATIONS[task](a, b, M)


def n_pairs(task: str, M: int) -> int:
    check_task(task, M)
    return M * (M - 1) if task == "div" else M * M


def split_size(N: int, ratio: float | None = None, n_train: int | None = None) -> int:
    """Number of training pairs for a split by ratio or by count."""
    if (ratio is None) == (n_train is None):
        raise ValueError("give exactly one of ratio and n_train")
    if ratio is not None:
        if not 0.0 < ratio < 1.0:
            raise ValueError(f"train ratio must lie in (0, 1), got {ratio}")
        n = round(ratio * N)
    else:
        n = int(n_train)
    if not 1 <= n <= N - 1:
        raise ValueError(f"need 1 <= n_train <= N-1 = {N - 1} (so a test set remains), got {n}")
    return n


def split(N: int, n_train: int, split_seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Seeded random split of range(N): (train_idx (n_train,), test_idx (N-n_train,))."""
    if not 1 <= n_train <= N - 1:
        raise ValueError(f"need 1 <= n_train <= {N - 1}, got {n_train}")
    g = torch.Generator().manual_seed(int(split_seed))
    perm = torch.randperm(N, generator=g)
    return perm[:n_train].sort().values, perm[n_train:].sort().values


def curriculum_subset(a: torch.Tensor, b: torch.Tensor, idx: torch.Tensor, r: int) -> torch.Tensor:
    """The indices in `idx` whose pair has both inputs < r (nested in r)."""
    if r < 1:
        raise ValueError(f"curriculum range r must be >= 1, got {r}")
    keep = (a[idx] < r) & (b[idx] < r)
    return idx[keep]


def run_split(task: str, M: int, ratio: float | None, n_train: int | None,
              split_seed: int, curriculum: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(train_idx, test_idx) into `table(task, M)` for one run's config."""
    a, b, _ = table(task, M)
    N = a.numel()
    tr, te = split(N, split_size(N, ratio, n_train), split_seed)
    if curriculum:
        if curriculum > M:
            raise ValueError(f"curriculum range {curriculum} exceeds modulus {M}")
        tr = curriculum_subset(a, b, tr, curriculum)
        if tr.numel() == 0:
            raise ValueError(f"curriculum range {curriculum} leaves no training pairs")
    return tr, te
