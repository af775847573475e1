"""The decision side: statistics, survival analysis, verdict shapes, robustness gates, the
adaptive boundary search and the per-family decision rules. Plain functions of numbers and
histories.

May import: ``grokcore.base``, numpy, scipy, statsmodels, lifelines. Never torch, never
``grokcore.engine`` or ``grokcore.suite`` (checked by import-linter and by
grokcore/tests/test_layers.py with torch blocked)."""
