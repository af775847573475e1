"""Tests of grokcore.suite.report: rendering, escaping, JSON round trip, CLI, and a real browser."""

from __future__ import annotations

import base64
import functools
import io
import math
import re
import shutil
import subprocess
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from grokcore.suite.report import VERDICTS, fmt_num, fmt_p, format_stat, load_records, render, report_main, write_report

SOURCE = {"id": "seed000", "file": "seeds/000_a73151d2a26eab93.txt", "title": "Li² scaling law",
          "citation": "Tian, arXiv 2509.21519", "fixture": "li2.toml"}


@functools.cache
def png_b64(kind: str = "boundary") -> str:
    """A small figure like the ones claim tests attach."""
    fig, ax = plt.subplots(figsize=(5.2, 3.4))
    x = np.linspace(0.02, 0.6, 200)
    if kind == "boundary":
        for M, mid in [(11, 0.33), (13, 0.29), (17, 0.24), (23, 0.19)]:
            ax.plot(x, 1 / (1 + np.exp(-(np.log(x) - np.log(mid)) * (4 + M / 4))), label=f"M={M}")
        ax.set(xlabel="n / M²", ylabel="P(generalize)")
    else:
        steps = np.arange(3000)
        ax.plot(steps, 1 - np.exp(-steps / 60), label="train")
        ax.plot(steps, 1 / (1 + np.exp(-(steps - 1900) / 90)), label="test")
        ax.set(xlabel="step", ylabel="accuracy")
    ax.legend(frameon=False)
    ax.grid(alpha=0.3)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight", facecolor="white")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def make_record(claim_id: str, tier: str, verdict: str, **fields: object) -> dict:
    stats = fields.pop("stats", [])
    return {
        "id": claim_id, "nodeid": f"claims/test_x.py::test_{claim_id.replace('-', '_')}[{tier}]", "tier": tier,
        "reference": {"claim": f"{claim_id} holds", "quote": f"The paper says {claim_id}.", "numbers": {"c": 1.0},
                      "test": "", "source": SOURCE},
        "tested": "", "scale": {}, "stats": stats, "headline": next((s for s in stats if s.get("headline")), None),
        "figures": [], "configs": [], "notes": [], "verdict": verdict, "reason": "", "alpha": 0.05,
        "wall_s": 12.5, "device": "cpu: AMD EPYC, 2 cores", "worker": None,
        "versions": {"python": "3.11.7", "torch": "2.5.1", "numpy": "2.1.0", "grokcore": "0.1.0"},
        "git_commit": "0123456789abcdef", "started": "2025-01-01T00:00:00+00:00", "outcome": "passed", **fields,
    }


def stat(name: str, value: float, lo: float | None = None, hi: float | None = None, **kw: object) -> dict:
    return {"name": name, "value": value, "lo": lo, "hi": hi, "alpha": 0.05, "p": None, "method": "", "note": "",
            "claimed": None, "unit": "", "headline": False, **kw}


def sample_records() -> list[dict]:
    """A realistic run: every verdict kind, figures, long grids, many configs."""
    return [
        make_record(
            "li2-boundary", "fast", "supported",
            tested="Per M, logistic fit of generalized (test acc ≥ 95%) vs log n gives n*(M) with a profile CI; "
                   "across M, n* ∝ M log M vs M vs M² vs free power law by AIC, χ² goodness of fit at α = 0.05.",
            scale={"M": [11, 13, 17, 19, 23], "seeds": 4, "width": 128, "steps": 3000,
                   "ratios": [0.1, 0.14, 0.2, 0.28, 0.4, 0.56]},
            stats=[stat("c", 2.14, 1.62, 2.91, claimed="> 1", method="n* = c·M log M, weighted LS", headline=True),
                   stat("exponent k", 1.18, 1.02, 1.35, claimed=1.0, method="free power law n* ∝ M^k"),
                   stat("ΔAIC (M² − M log M)", 41.2, method="AIC", note="M² rejected: p_fit = 3e-9"),
                   stat("p_fit (M log M)", 0.41, p=0.41, method="χ² goodness of fit")],
            figures=[{"title": "Generalization vs training fraction", "caption": "Logistic fits per M.",
                      "png_b64": png_b64("boundary")}],
            configs=[f"{i:012x}" for i in range(120)], reason="c > 1 at α = 0.05 and M log M not rejected",
        ),
        make_record("li2-boundary", "gpu", "skipped", outcome="skipped", wall_s=0.0,
                    reason="gpu tier needs a CUDA device; pass --claims-device cpu to force it on CPU"),
        make_record(
            "li2-lazy-freeze", "fast", "refuted", outcome="xfailed",
            tested="Median per-step relative change ‖ΔW1‖/‖W1‖ over the first 200 steps, Adam and SGD, "
                   "8 seeds.",
            stats=[stat("‖ΔW1‖/‖W1‖ (Adam)", 2.3e-3, 2.1e-3, 2.6e-3, claimed="< 1e-3", headline=True, p=1.2e-6,
                        method="bootstrap over seeds")],
            reason="Adam moves every weight by ~lr per step: measured 2.3e-3 [2.1e-3, 2.6e-3] ≥ 1e-3",
        ),
        make_record(
            "grok-delayed", "fast", "supported",
            stats=[stat("lag", 1840, 1510, 2230, unit="steps", headline=True, method="t_test − t_train, bootstrap")],
            figures=[{"title": "Train and test accuracy", "caption": "Median over 4 seeds.",
                      "png_b64": png_b64("curves")}],
        ),
        make_record("finetune-accelerates", "fast", "inconclusive",
                    stats=[stat("median speed-up", 1.3, 0.7, 2.4, claimed=">1", headline=True, p=0.21)],
                    reason="CI covers 1 with 4 seeds; about 20 seeds would decide it at this effect size"),
        make_record("curriculum-llc", "fast", "error", outcome="error",
                    reason="RuntimeError: SGLD diverged: loss = nan at draw 37"),
        make_record("mod64-threshold", "fast", "failed", outcome="failed",
                    reason="n* = 512 [470, 560] not within 25% of 400\nassert 512 < 500"),
    ]


META = {"args": ["claims", "-m", "fast"], "started": "2025-01-01T00:00:00+00:00",
        "finished": "2025-01-01T00:04:10+00:00", "wall_s": 250.0, "hostname": "ci",
        "device": "cpu: AMD EPYC, 2 cores", "seed": 0, "git_commit": "0123abc",
        "versions": {"python": "3.11.7", "torch": "2.5.1"}}


def card_ids(html: str) -> list[str]:
    return re.findall(r'class="claim-card[^"]*" id="([^"]+)"', html)


def test_render_zero_records() -> None:
    html = render([], META)
    assert "No claim tests ran" in html and card_ids(html) == []


def test_render_one_record() -> None:
    html = render(sample_records()[:1], META)
    assert card_ids(html) == ["claim-li2-boundary-fast"]
    assert "c = 2.14 [1.62, 2.91]" in html and "(120 configs)" in html
    assert "000000000009" in html and f"{119:012x}" not in html  # first 10 hashes only


def test_render_every_verdict() -> None:
    records = sample_records()
    html = render(records, META)
    assert card_ids(html) == [f"claim-{r['id']}-{r['tier']}" for r in records]
    for verdict in VERDICTS:
        assert f'class="badge v-{verdict}"' in html
    assert '<a href="#claim-li2-lazy-freeze-fast">' in html  # summary rows link to cards


def test_many_gates_fold_under_a_tally() -> None:
    """A 60-seed claim has 61 gates: the table folds under '61 gates: ...' (the moving gates are
    named above it); a handful of gates stays an open table."""
    def gates(n: int, moved: int = 0) -> dict:
        rows = [{"name": f"seed {i}", "label": f"seed {i} left out", "verdict": "supported", "detail": "+1.3"}
                for i in range(n - moved)]
        rows += [{"name": f"budget {i}", "label": "half budget", "verdict": "inconclusive", "detail": "+0.2"}
                 for i in range(moved)] + [{"name": "odd", "label": "no data", "verdict": None, "detail": ""}]
        return {"base": {"verdict": "supported"}, "gates": rows, "moved_by": [f"budget {i}" for i in range(moved)]}

    many = make_record("finetune-accelerates", "long", "inconclusive", decision=gates(60, moved=1))
    few = make_record("curriculum-llc", "long", "supported", decision=gates(3))
    html = render([many, few], META)
    assert '<details class="gates"><summary>61 gates: 59 supported, 1 inconclusive, 1 n/a</summary>' in html
    assert html.count('<details class="gates">') == 1 and "moved by <b>budget 0</b>" in html
    assert html.count("<td>seed 58</td>") == 1 and html.count("<td>seed 1</td>") == 2  # every row still there


def test_text_is_escaped() -> None:
    record = make_record("x-y", "fast", "refuted", reason="a < b & c")
    record["reference"]["quote"] = 'evil <script>alert("x")</script>'
    html = render([record], {"hostname": "<b>host</b>"})
    assert "<script" not in html
    assert "&lt;script&gt;" in html and "a &lt; b &amp; c" in html and "&lt;b&gt;host" in html


def test_self_contained() -> None:
    html = render(sample_records(), META)
    assert "data:image/png;base64,iVBOR" in html  # figures embedded
    assert re.search(r'src="(?!data:)', html) is None  # no external requests
    assert "<link" not in html and "@import" not in html


def test_missing_fields() -> None:
    html = render([{}, {"id": "only-id", "verdict": "nonsense", "stats": [{"name": "s"}], "figures": [{}]}], {})
    assert card_ids(html) == ["claim-unknown-na", "claim-only-id-na"]
    assert "v-error" in html  # an unknown verdict is shown as an error, not hidden


def test_duplicate_cards_get_unique_ids() -> None:
    a, b = make_record("li2-lazy-freeze", "fast", "supported"), make_record("li2-lazy-freeze", "fast", "refuted")
    assert card_ids(render([a, b], META)) == ["claim-li2-lazy-freeze-fast", "claim-li2-lazy-freeze-fast-2"]


def test_formatting() -> None:
    assert format_stat(stat("c", 2.1, 1.6, 2.9)) == "c = 2.1 [1.6, 2.9]"
    assert format_stat(stat("lag", 1840, unit="steps")) == "lag = 1840 steps"
    assert format_stat(None) == ""
    assert fmt_num(2.3e-3) == "0.0023" and fmt_num(2.3e-5) == "2.30e-05" and fmt_num(None) == "—"
    assert fmt_num(1840.0) == "1840" and fmt_num(41.23) == "41.2" and fmt_num(2.5e6) == "2.50e+06"
    assert fmt_num([1, 2.5]) == "[1, 2.5]" and fmt_p(1.2e-6) == "1.2e-06" and fmt_p(0.21) == "0.210"


def test_json_round_trip(tmp_path: Path) -> None:
    records = sample_records()
    records[0]["stats"][0]["lo"] = math.nan  # strict JSON: NaN becomes null
    json_path, html_path = write_report(records, META, tmp_path / "out" / "claims.html")
    assert json_path == tmp_path / "out" / "claims.json" and html_path.exists()
    loaded, meta = load_records(json_path)
    assert meta == META and loaded[0]["stats"][0]["lo"] is None
    records[0]["stats"][0]["lo"] = None
    assert loaded == records
    assert not [p for p in json_path.parent.iterdir() if p.name.startswith(".")]  # no temp files left


def test_report_main_rerenders(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    json_path, html_path = write_report(sample_records(), META, tmp_path / "claims.html")
    html_path.unlink()
    assert report_main([str(json_path)]) == 0
    assert card_ids(html_path.read_text()) == card_ids(render(sample_records(), META))
    assert report_main([str(json_path), "-o", str(tmp_path / "b" / "other.html")]) == 0
    assert (tmp_path / "b" / "other.html").exists() and "wrote" in capsys.readouterr().out


@pytest.mark.parametrize("content", [None, "{not json", '{"meta": {}}'])
def test_report_main_errors_cleanly(tmp_path: Path, capsys: pytest.CaptureFixture, content: str | None) -> None:
    path = tmp_path / "claims.json"
    if content is not None:
        path.write_text(content)
    assert report_main([str(path)]) == 2
    assert "grokcore report: cannot read" in capsys.readouterr().err


def chromium(*args: str, tmp: Path) -> subprocess.CompletedProcess:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             f"--user-data-dir={tmp / 'profile'}"]  # a private profile: parallel runs do not share a lock
    return subprocess.run([shutil.which("chromium"), *flags, *args], capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium not installed")
def test_browser_renders_report(tmp_path: Path) -> None:
    records = [sample_records()[i] for i in (0, 2, 5)]
    _, html_path = write_report(records, META, tmp_path / "claims.html")
    url = html_path.as_uri()
    dom = chromium("--enable-logging=stderr", "--v=0", "--dump-dom", url, tmp=tmp_path)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert card_ids(dom.stdout) == [f"claim-{r['id']}-{r['tier']}" for r in records]
    assert not re.search(r"Uncaught|ERROR:CONSOLE|CONSOLE\(\d+\)|net::ERR", dom.stderr), dom.stderr[-2000:]
    shot = tmp_path / "shot.png"
    chromium("--hide-scrollbars", "--window-size=1280,2000", f"--screenshot={shot}", url, tmp=tmp_path)
    assert shot.exists() and shot.stat().st_size > 20_000  # a blank page is a few KB
