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


def stage_measures(h) -> dict:
    """Per-run stage measurements (detect.stages: first train acc >= 0.99 = ``mem``, then the
    first test acc >= 0.95 at or after it = ``gen``; -1 if never). Windows are eval indices:

      Stage I   [1, mem)      the first eval (step 0) is left out: its update is Adam's first
                              step, lr per weight whatever the gradient, fixed by the design;
      Stage II  [mem, gen)    (for the lazy ratio: [mem, end) when the run never generalizes);
      Stage III [gen, end].

    Keys (absent when the window is empty): I_rel_hid / I_rel_out (median relative per-step
    change ‖ΔW‖/‖W‖ of the hidden input weights / output weights), II_rel_hid, lazy_log_ratio =
    log(I_rel_hid / II_rel_hid), II_cos_med (median mean-pairwise cosine of the hidden neurons'
    gradients), II_norm_ratio (‖W1‖ at gen / at mem), III_gnorm_rel (median total gradient
    norm in Stage III / the total gradient norm at step 0), III_gf_new_peak."""
    m = h.metrics
    st = detect.stages(m["step"], m["train/acc"], m["test/acc"])
    mi, gi = int(st["mem_index"]), int(st["gen_index"])
    fam = h.config.model.family
    hid, out = HIDDEN_IN[fam], OUTPUT[fam]
    E = len(m["step"])
    r = dict(mem=mi, gen=gi, ok=h.status == "ok", cond=condition(h), seed=h.config.seed,
             wd=h.config.optim.weight_decay)
    if h.status != "ok":
        return r
    if mi > 1:
        r["I_rel_hid"] = _nanmed(m[f"rel_delta/{hid}"][1:mi])
        r["I_rel_out"] = _nanmed(m[f"rel_delta/{out}"][1:mi])
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


def gf_shape(h) -> tuple[bool, float] | None:
    """(rise then decay, plateau) of ‖G_F‖ for one run: the maximum comes after the first
    eval and the plateau (mean over the last 10% of evals) is < half the maximum."""
    if h.status != "ok":
        return None
    gf = h.metrics["gf/norm"]
    gf = gf[np.isfinite(gf)]  # engine: no gradient logged at the final eval (NaN)
    if gf.size < 2:
        return None
    p = float(np.mean(gf[-max(1, len(gf) // 10):]))
    return bool(int(np.argmax(gf)) > 0 and p < 0.5 * gf.max()), p
