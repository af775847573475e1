"""Measurements of the Li² stage claims' runs (claims/test_li2_stages.py), for their rules
(rules_li2_stages) and cards (claims/designs/li2_stages.py).

Pure functions of Histories (duck-typed: ``.config``, ``.metrics``, ``.status``) and of
arrays; no torch, no training. Per run, the eval windows of the three stages
(``stage_measures``: Stage I before memorization, II until generalization, III after) and what
each stage claim reads in them; ``gf_shape`` for li2-gf-dynamics.
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from grokcore.base import detect

HIDDEN_IN = {"li2": "W", "embed_mlp": "W1", "mu_mlp": "W1"}
OUTPUT = {"li2": "V", "embed_mlp": "W2", "mu_mlp": "W2"}


def condition(h) -> str:
    """The run's condition: model family / optimizer (e.g. "li2/adam")."""
    return f"{h.config.model.family}/{h.config.optim.name}"


def _nanmed(a) -> float:
    a = np.asarray(a, float)
    a = a[np.isfinite(a)]
    return float(np.median(a)) if a.size else math.nan


def total_grad_norm(m: dict) -> np.ndarray:
    """sqrt of the sum of squared per-parameter loss-gradient norms (weight decay excluded)."""
    return np.sqrt(sum(m[k] ** 2 for k in m if k.startswith("grad/") and k != "grad/cos"))


def total_param_norm(m: dict) -> np.ndarray:
    """‖θ‖: sqrt of the sum of squared per-parameter norms (every parameter; the engine's coupled
    L2 weight decay acts on every parameter, so η‖θ‖ is the loss gradient at its fixed point)."""
    return np.sqrt(sum(m[k] ** 2 for k in m if k.startswith("norm/")))


def stage_measures(h) -> dict:
    """Per-run stage measurements (detect.stages: first train acc >= 0.99 = ``mem``, then the
    first test acc >= 0.95 at or after it = ``gen``; -1 if never). Windows are eval indices:

      Stage I   [1, mem)      the first eval (step 0) is left out: its update is Adam's first
                              step, lr per weight whatever the gradient, fixed by the design;
      Stage II  [mem, gen)    (for the lazy ratio: [mem, end) when the run never generalizes);
      Stage III [gen, end].

    Keys (absent when the window is empty):

      li2-lazy-freeze (the decisive contrast, W1 vs the output layer over Stage I):
        I_drift_hid / I_drift_out  ‖p_mem − p_0‖ / ‖p_0‖ (drift/<p> at the mem eval): how far
                                   each layer moved in Stage I, in units of its initial norm;
        I_drift_log_ratio          log(I_drift_hid / I_drift_out);
        lazy_offset                0 under gradient descent; under Adam log(rel_delta_hid /
                                   rel_delta_out) of the first step (Adam's first update is
                                   lr·sign(g) on every weight, so this is log(RMS out_0 / RMS
                                   hid_0), the drift ratio of two layers whose weights move equally
                                   coherently); NaN if not measurable;
        lazy_wv                    I_drift_log_ratio − lazy_offset (< 0: W1 moved less);
        (shown, not deciding) I_rel_hid / I_rel_out (median per-step ‖ΔW‖/‖W‖ over Stage I),
        II_rel_hid and lazy_log_ratio = log(I_rel_hid / II_rel_hid), the old Stage I vs II contrast.
      li2-independent: II_cos_med (median mean-pairwise cosine of the hidden neurons'
        gradients), II_norm_ratio (‖W1‖ at gen / at mem).
      li2-interactive (η = weight decay > 0 only for the first two):
        III_eq_log_ratio  median over Stage III of log(‖∇L‖ / (η‖θ‖)): the loss gradient against
                          its value at the weight-decay fixed point (∇L = −ηθ);
        III_evals         the number of Stage III evals with a finite ratio;
        III_peak_log      log(max ‖∇L‖ after gen / ‖∇L‖ at gen) (the "new peak" marker, shown);
        III_gnorm_rel / III_gnorm_med  median ‖∇L‖ in Stage III / at step 0, and absolute (shown);
        III_gf_new_peak   ‖G_F‖ exceeds its gen value later in Stage III (shown)."""
    m = h.metrics
    st = detect.stages(m["step"], m["train/acc"], m["test/acc"])
    mi, gi = int(st["mem_index"]), int(st["gen_index"])
    fam = h.config.model.family
    hid, out = HIDDEN_IN[fam], OUTPUT[fam]
    E = len(m["step"])
    eta = float(h.config.optim.weight_decay)
    r = dict(mem=mi, gen=gi, ok=h.status == "ok", cond=condition(h), seed=h.config.seed, wd=eta)
    if h.status != "ok":
        return r
    if mi > 1:
        r["I_rel_hid"] = _nanmed(m[f"rel_delta/{hid}"][1:mi])
        r["I_rel_out"] = _nanmed(m[f"rel_delta/{out}"][1:mi])
    if mi >= 1 and f"drift/{hid}" in m and f"drift/{out}" in m:
        dh, do = float(m[f"drift/{hid}"][mi]), float(m[f"drift/{out}"][mi])
        if dh > 0 and do > 0 and math.isfinite(dh) and math.isfinite(do):
            r["I_drift_hid"], r["I_drift_out"] = dh, do
            r["I_drift_log_ratio"] = math.log(dh / do)
            off = 0.0
            if h.config.optim.name == "adam":
                a, b = float(m[f"rel_delta/{hid}"][0]), float(m[f"rel_delta/{out}"][0])
                off = math.log(a / b) if a > 0 and b > 0 and math.isfinite(a) and math.isfinite(b) else math.nan
            r["lazy_offset"] = off
            if math.isfinite(off):
                r["lazy_wv"] = r["I_drift_log_ratio"] - off
    if mi >= 0:
        end = gi if gi > mi else (E if gi < 0 else mi)
        if end > mi:
            r["II_rel_hid"] = _nanmed(m[f"rel_delta/{hid}"][mi:end])
    if "I_rel_hid" in r and "II_rel_hid" in r and r["I_rel_hid"] > 0 and r["II_rel_hid"] > 0:
        r["lazy_log_ratio"] = math.log(r["I_rel_hid"] / r["II_rel_hid"])
    if mi >= 0 and gi > mi:
        r["II_cos_med"] = _nanmed(m["grad/cos"][mi:gi])
        r["II_norm_ratio"] = float(m[f"norm/{hid}"][gi] / m[f"norm/{hid}"][mi])
    gn = total_grad_norm(m)
    g3 = gn[gi:][np.isfinite(gn[gi:])] if gi >= 0 else np.array([])
    if g3.size and eta > 0:
        th = total_param_norm(m)[gi:]
        with np.errstate(divide="ignore", invalid="ignore"):
            q = np.log(gn[gi:] / (eta * th))
        q = q[np.isfinite(q)]
        if q.size:
            r["III_eq_log_ratio"] = float(np.median(q))
            r["III_evals"] = int(q.size)
    if g3.size > 1 and g3[0] > 0:
        r["III_peak_log"] = float(math.log(np.max(g3[1:]) / g3[0]))
    if g3.size and np.isfinite(gn[0]) and gn[0] > 0:
        r["III_gnorm_rel"] = float(np.median(g3) / gn[0])
        r["III_gnorm_med"] = float(np.median(g3))
        gf = m["gf/norm"][gi:]
        gf = gf[np.isfinite(gf)]
        r["III_gf_new_peak"] = bool(gf.size > 1 and np.max(gf[1:]) > gf[0])
    return r


def by_condition(rows: list[dict]) -> dict:
    out: dict = defaultdict(list)
    for r in rows:
        out[r["cond"]].append(r)
    return dict(out)


def stage_rows(hists, wd: float | None = None) -> list[dict]:
    """stage_measures of every run; Li² Adam runs only at weight decay ``wd`` when given (the
    other conditions have a single weight decay)."""
    return [stage_measures(h) for h in hists
            if wd is None or condition(h) != "li2/adam" or h.config.optim.weight_decay == wd]


@dataclass(frozen=True)
class GFShape:
    """‖G_F‖ = gf/norm of one run: its value at the first eval, its maximum (and where), and the
    plateau (mean over the last 10% of evals)."""
    start: float
    peak: float
    peak_index: int
    plateau: float

    @property
    def log_rise(self) -> float:
        """log(peak / start): 0 when the maximum is the first eval."""
        return math.log(self.peak / self.start) if self.start > 0 else math.nan

    @property
    def log_decay(self) -> float:
        """log(peak / plateau): 0 when the maximum is in the plateau window; +inf at a 0 plateau."""
        return math.log(self.peak / self.plateau) if self.plateau > 0 else math.inf

    def shape(self, factor: float = 2.0) -> float:
        """min(log_rise, log_decay) − log(factor): > 0 iff ‖G_F‖ rises to more than ``factor`` x its
        start and falls to less than 1/``factor`` of its peak."""
        return min(self.log_rise, self.log_decay) - math.log(factor)


def gf_shape(h) -> GFShape | None:
    """The ‖G_F‖ trajectory's start, peak and plateau (GFShape); None for a failed run or fewer
    than 2 finite evals."""
    if h.status != "ok":
        return None
    gf = h.metrics["gf/norm"]
    gf = gf[np.isfinite(gf)]  # engine: no gradient logged at the final eval (NaN)
    if gf.size < 2:
        return None
    p = float(np.mean(gf[-max(1, len(gf) // 10):]))
    k = int(np.argmax(gf))
    return GFShape(float(gf[0]), float(gf[k]), k, p)
