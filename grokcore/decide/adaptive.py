"""Adaptive boundary search: find the 50% point n* of P(generalize | log n) for a family of
boundaries (one per M, per depth, per weight decay, per budget ...) in rounds, placing each
round's runs where the current estimate is least certain.

Why: a fixed n grid spends most of its runs far from n*, where the outcome is certain, and
when every boundary separates inside one grid gap its "CI" is that gap (the same c to three
digits at depth 1 and 2). Here every boundary is refitted after each round (Firth's
penalized logistic regression with profile-likelihood CIs, `laws.firth_boundary`) and the
next points go to the estimate and into its CI:

  round 0      `start` points, geometric over the boundary's prior window [lo, hi];
  not bracketed (every run generalized, or none): one point a factor `expand` beyond the
               sampled end on the open side (clipped to [n_min, n_max]);
  bracketed    x50 (log n*) with profile CI [l, u] (open ends clipped to the sampled range
               widened by log(expand)): points at x50, then x50 ∓ h/2, x50 ± h, with
               h = (u - l)/2, the first `per_round` of them;
  stop         CI width u - l < `target_width` ("converged"), or the boundary's run budget
               would be exceeded ("run budget"), or `max_rounds` rounds ("rounds"), or the
               boundary lies outside [n_min, n_max] ("below range" / "above range").

Each point is snapped to the geometric candidate grid round(n_min · grid_ratio^i) (rounded
to a multiple of `quantum` where n must be one, e.g. a transformer width divisible by its
heads), and gets
`seeds` runs whose replicate indices continue those already run at that n (replicate r of a
boundary always gets the same config), so every config, and so every round's placement, is
a deterministic function of the base seed: a rerun against a warm store reproduces the same
rounds and trains nothing. All boundaries' new runs of a round are trained in ONE call of
`run` (batched by the engine); boundaries that share configs (e.g. the same runs read at
two step budgets) share their training through the store's keys.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable

import numpy as np

from grokcore.base.history import History
from grokcore.decide import laws

RunConfig = Any  # an engine config, only passed through: the decision side never builds or reads one


@dataclass(frozen=True)
class SearchSpec:
    """Where and how long to search; all n on the candidate grid round(n_min · grid_ratio^i),
    rounded to multiples of ``quantum``. ``first``: round 0's points (as given), replacing the
    `start` geometric ones, e.g. to reuse a fixed grid another claim also reads."""
    n_min: int
    n_max: int
    grid_ratio: float = 1.05
    start: int = 3          # points of round 0 per boundary
    per_round: int = 2      # points of each later round per boundary
    seeds: int = 4          # runs per point
    max_runs: int = 48      # per boundary
    max_rounds: int = 6     # including round 0
    target_width: float = 0.25  # stop once the x50 CI (in log n) is narrower than this
    expand: float = 1.6     # factor beyond the sampled range while the boundary is not bracketed
    alpha: float = 0.05
    quantum: int = 1
    first: tuple[int, ...] = ()

    def __post_init__(self):
        if not (1 <= self.n_min < self.n_max):
            raise ValueError(f"need 1 <= n_min < n_max, got {self.n_min}, {self.n_max}")
        if not (self.grid_ratio > 1 and self.expand > 1):
            raise ValueError("grid_ratio and expand must be > 1")
        if min(self.start, self.per_round, self.seeds, self.max_rounds) < 1 or self.start < 2:
            raise ValueError("need start >= 2 and per_round, seeds, max_rounds >= 1")
        if self.quantum < 1 or self.n_min % self.quantum or self.n_max % self.quantum:
            raise ValueError(f"n_min {self.n_min} and n_max {self.n_max} must be multiples of quantum {self.quantum}")
        if self.first and (len(set(self.first)) < 2 or any(
                v % self.quantum or not self.n_min <= v <= self.n_max for v in self.first)):
            raise ValueError(f"first: >= 2 distinct points, multiples of quantum {self.quantum} in "
                             f"[{self.n_min}, {self.n_max}] (or none for the geometric start), got {self.first}")
        n0 = len(self.first) or self.start
        if self.max_runs < n0 * self.seeds:
            raise ValueError(f"max_runs {self.max_runs} < the first round's {n0 * self.seeds} runs")

    def grid(self) -> np.ndarray:
        """Candidate n: q·round(n_min · grid_ratio^i / q) below n_max, then n_max (increasing,
        unique; q = quantum)."""
        k = math.floor(math.log(self.n_max / self.n_min) / math.log(self.grid_ratio))
        q = self.quantum
        ns = np.unique(q * np.round(self.n_min * self.grid_ratio ** np.arange(k + 1) / q).astype(int))
        return np.append(ns[ns < self.n_max], self.n_max)

    def snap(self, log_n: float) -> int:
        """The candidate n nearest exp(log_n) in log distance."""
        g = self.grid()
        return int(g[np.argmin(np.abs(np.log(g) - log_n))])


@dataclass
class Boundary:
    """One boundary's search: its runs in the order they were placed, and the current fit."""
    key: Hashable
    window: tuple[int, int]
    points: list[tuple[int, int, int, float]] = field(default_factory=list)  # (round, n, replicate, outcome)
    hists: list[History] = field(default_factory=list)
    fit: laws.Boundary | None = None
    status: str = "active"

    @property
    def runs(self) -> int:
        return len(self.points)

    def xy(self) -> tuple[np.ndarray, np.ndarray]:
        """(log n, outcome) of the runs that did not diverge."""
        pts = [(math.log(n), y) for _, n, _, y in self.points if not math.isnan(y)]
        return np.array([p[0] for p in pts]), np.array([p[1] for p in pts])

    def order(self) -> list[str]:
        """'round: n k/s' per placed point, in the order run (for the report)."""
        out: dict[tuple[int, int], list[float]] = {}
        for r, n, _, y in self.points:
            out.setdefault((r, n), []).append(y)
        return [f"r{r}: n={n} {int(np.nansum(ys))}/{len(ys)}" for (r, n), ys in out.items()]


def _refit(b: Boundary, spec: SearchSpec) -> None:
    x, y = b.xy()
    b.fit = laws.firth_boundary(x, y, alpha=spec.alpha) if x.size else None


def next_points(b: Boundary, spec: SearchSpec, first: bool) -> list[int]:
    """The n (snapped) of the boundary's next round; [] when it stops (sets b.status)."""
    if first:
        if spec.first:  # as given (not snapped): e.g. a fixed grid whose runs the store already has
            return sorted(set(spec.first))
        lo, hi = (max(spec.n_min, min(b.window)), min(spec.n_max, max(b.window)))
        return sorted({spec.snap(v) for v in np.linspace(math.log(lo), math.log(hi), spec.start)})
    x, y = b.xy()
    f = b.fit
    if f is None:
        b.status = "no data (every run diverged)"
        return []
    ext = math.log(spec.expand)
    if f.kind == "too_few":  # mixed outcomes at one n only: widen both ways
        return sorted({spec.snap(max(x.min() - ext, math.log(spec.n_min))),
                       spec.snap(min(x.max() + ext, math.log(spec.n_max)))})
    if f.kind in ("all_success", "all_fail"):
        if f.kind == "all_success":  # n* below every sampled n: step down
            if x.min() <= math.log(spec.n_min) + 1e-9:
                b.status = "below range"
                return []
            return [spec.snap(max(x.min() - ext, math.log(spec.n_min)))]
        if x.max() >= math.log(spec.n_max) - 1e-9:
            b.status = "above range"
            return []
        return [spec.snap(min(x.max() + ext, math.log(spec.n_max)))]
    m, lo, hi = f.x50.value, f.x50.lo, f.x50.hi
    if math.isfinite(lo) and math.isfinite(hi) and hi - lo < spec.target_width:
        b.status = "converged"
        return []
    lo = max(lo, x.min() - ext) if math.isfinite(lo) else x.min() - ext
    hi = min(hi, x.max() + ext) if math.isfinite(hi) else x.max() + ext
    if not math.isfinite(m):
        m = (lo + hi) / 2
    h = (hi - lo) / 2
    targets = [m, m - h / 2, m + h / 2, m - h, m + h][:spec.per_round]
    lims = (math.log(spec.n_min), math.log(spec.n_max))
    return [spec.snap(min(max(t, lims[0]), lims[1])) for t in targets]


def search(windows: dict[Hashable, tuple[int, int]],
           configs: Callable[[Hashable, int, list[int]], list[RunConfig]],
           outcome: Callable[[Hashable, History], float],
           run: Callable[[list[RunConfig]], list[History]],
           spec: SearchSpec | dict[Hashable, SearchSpec]) -> dict[Hashable, Boundary]:
    """Adaptive search of every boundary in ``windows`` (key -> prior window (n_lo, n_hi)).

    configs(key, n, replicates) -> one RunConfig per replicate index (the caller maps a
        replicate to its seeds, e.g. seed = base + r);
    outcome(key, history) -> 1.0 generalized / 0.0 not / NaN diverged (per boundary, so two
        boundaries may read the same runs at different budgets);
    run(configs) -> one History per config (e.g. ``sweep.run`` with a store): called once
        per round with the new runs of every active boundary.
    spec: one SearchSpec for all, or one per key (e.g. n_max capped at 0.95 M² per M).
    Returns key -> Boundary (points in the order placed, histories, final fit, stop status)."""
    specs = spec if isinstance(spec, dict) else {k: spec for k in windows}
    bds = {k: Boundary(k, w) for k, w in windows.items()}
    for rnd in range(max(s.max_rounds for s in specs.values())):
        todo: list[tuple[Boundary, int, int, RunConfig]] = []
        for b in bds.values():
            if b.status != "active" or rnd >= specs[b.key].max_rounds:
                continue
            spec = specs[b.key]
            ns = next_points(b, spec, first=rnd == 0)
            if ns and b.runs + len(ns) * spec.seeds > spec.max_runs:
                ns = ns[:max(0, (spec.max_runs - b.runs) // spec.seeds)]
                if not ns:
                    b.status = "run budget"
            used: dict[int, int] = {}
            for _, n, _, _ in b.points:
                used[n] = used.get(n, 0) + 1
            for n in ns:
                reps = list(range(used.get(n, 0), used.get(n, 0) + spec.seeds))
                used[n] = reps[-1] + 1
                todo.extend((b, n, r, c) for r, c in zip(reps, configs(b.key, n, reps)))
        if not todo:
            break
        hists = run([t[3] for t in todo])
        for (b, n, r, _), h in zip(todo, hists):
            b.points.append((rnd, n, r, float(outcome(b.key, h))))
            b.hists.append(h)
        for b in bds.values():
            if b.status == "active":
                _refit(b, specs[b.key])
    for b in bds.values():
        if b.status == "active":
            # one last check of the stop rule on the final fit (max_rounds reached otherwise)
            next_points(b, specs[b.key], first=False)
            if b.status == "active":
                b.status = "rounds"
    return bds


def summary(bds: dict[Hashable, Boundary], name: str = "n*", key: str = "") -> str:
    """One line per boundary: runs, stop status, ``name`` (the axis' 50% point) with CI (exp
    of the log-n fit); ``key`` names the boundaries' keys (e.g. "WD = ")."""
    out = []
    for b in bds.values():
        f = b.fit
        if f is None:
            out.append(f"{key}{b.key}: no fit ({b.status})")
            continue
        e = f.x50
        txt = (f"{name} = {math.exp(e.value):.0f} [{math.exp(e.lo) if math.isfinite(e.lo) else 0:.0f}, "
               f"{math.exp(e.hi) if math.isfinite(e.hi) else math.inf:.0f}]" if math.isfinite(e.value)
               else f"{f.kind}")
        out.append(f"{key}{b.key}: {txt}, {b.runs} runs, {b.status}")
    return "; ".join(out)
