"""Root conftest: enables the claims plugin (tiers, --claims-* options, the `claim` fixture, report)."""

pytest_plugins = ["grokcore.suite.plugin"]
