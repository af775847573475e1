"""The decision side and the shared record work without torch: every module of grokcore.decide
and grokcore.base imports, and a rule decides, in a fresh interpreter where ``import torch``
fails. (The import contracts themselves are checked by ``lint-imports`` in .ci/run.)"""
from __future__ import annotations

import pkgutil
import subprocess
import sys
import textwrap

import grokcore.base
import grokcore.decide

MODULES = sorted(f"{pkg.__name__}.{m.name}" for pkg in (grokcore.base, grokcore.decide)
                 for m in pkgutil.iter_modules(pkg.__path__))


def run_without_torch(code: str) -> subprocess.CompletedProcess:
    # a meta-path finder that refuses these packages: `import torch` raises ImportError, and
    # torch never appears in sys.modules (libraries such as scipy probe sys.modules for it)
    prelude = textwrap.dedent("""
        import sys
        BLOCKED = ("torch", "grokcore.engine", "grokcore.suite", "pytest")
        class Block:
            def find_spec(self, name, path=None, target=None):
                if any(name == b or name.startswith(b + ".") for b in BLOCKED):
                    raise ImportError(f"blocked: {name}")
        sys.meta_path.insert(0, Block())
    """)
    return subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=300)


def test_decision_side_imports_without_torch_engine_or_pytest():
    assert "grokcore.decide.verdicts" in MODULES and "grokcore.base.history" in MODULES
    out = run_without_torch("import importlib\nfor m in %r:\n    importlib.import_module(m)\nprint('ok')" % MODULES)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


def test_a_rule_decides_on_histories_without_torch():
    out = run_without_torch("""
        import numpy as np
        from grokcore.base.history import History
        from grokcore.decide import verdicts
        m = {"step": np.arange(0, 100, 10), "train/acc": np.linspace(0.5, 1, 10), "test/acc": np.linspace(0, 1, 10),
             "train/loss": np.ones(10), "test/loss": np.ones(10)}
        h = History(config=None, metrics=m, status="ok")
        v = verdicts.rate(9, 10, 0.5, alpha=0.05, what="share grokked")
        print(h.summary["memorized_step"], v.verdict)
    """)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["90.0", "supported"]


def test_the_blocker_blocks():
    # the check can fail: an engine module does not import in the same interpreter
    out = run_without_torch("import grokcore.engine.train")
    assert out.returncode != 0 and "ImportError: blocked" in out.stderr
