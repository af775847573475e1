"""The suite: the pytest plugin and claim recorder, the HTML report, the cost plan, the flip
comparison, the source references and the command line.

May import: every other layer. Nothing below imports it."""
