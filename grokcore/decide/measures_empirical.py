"""Seed 001's measurements on histories: the sweep's cells (the alpha = 0 row, the lambda = 1
column), t_mem, t_grok, the near-chance level and the start of the rise, each run's budget.
Plain functions of histories; the rules in rules_empirical decide on them."""
from __future__ import annotations

from grokcore.base import detect
from grokcore.base.detect import DetectRule

MEM_RULE = (0.99, 1)  # seed 001 code: first logged epoch with train acc > 99%
GROK_RULE = (0.95, 1)  # seed 001 code: first logged epoch with test acc > 95%


# near chance = test accuracy below chance + NEAR_CHANCE x (1 - chance): the 10 % level of the
# rise from chance to 1 (rules_empirical.delay_verdict explains the shape test that uses it)
NEAR_CHANCE = 0.1


def cell01(runs: dict) -> list:
    """The (alpha = 0, lambda = 1) runs: grok-delayed and order-params."""
    return [h for (a, lam, s), h in sorted(runs.items()) if a == 0.0 and lam == 1.0]


def _balanced(hs: list, level) -> list:
    """The runs of the seeds present at every level (the (0, 1) cell has extra seeds for grok-delayed
    and order-params; the trend claims use a balanced design: 4 seeds per lambda level and 6 per alpha
    level at the fast tier)."""
    by = {}
    for h in hs:
        by.setdefault(level(h), set()).add(h.config.seed)
    common = set.intersection(*by.values()) if by else set()
    return [h for h in hs if h.config.seed in common]


def lambda_row(runs: dict) -> list:
    """The alpha = 0 row over lambda (balanced seeds): grok-wd-speeds."""
    return _balanced([h for (a, lam, s), h in sorted(runs.items()) if a == 0.0], lambda h: h.config.optim.weight_decay)


def alpha_column(runs: dict) -> list:
    """The lambda = 1 column over alpha (balanced seeds): grok-lazy-rich."""
    return _balanced([h for (a, lam, s), h in sorted(runs.items()) if lam == 1.0], lambda h: h.config.model.alpha)


def first_step(h, rule=GROK_RULE, metric: str = "test/acc") -> float:
    """First logged step of ``rule`` = (threshold, patience) on a history's metric (grokcore.base.detect);
    NaN if never within the history (right-censored at its budget) or if the run diverged."""
    return float(detect.run_steps([h], DetectRule(*rule), metric)[0])


def t_mem(h) -> float:
    return first_step(h, MEM_RULE, "train/acc")


def t_grok(h, rule=GROK_RULE) -> float:
    return first_step(h, rule, "test/acc")


def budget_of(hs) -> int:
    """The common step budget of a set of runs (ValueError if they differ: censored ranks need one)."""
    b = {int(h.config.steps) for h in hs}
    if len(b) != 1:
        raise ValueError(f"runs with different step budgets {sorted(b)}: censored times are not comparable")
    return b.pop()


def near_chance_level(M: int) -> float:
    """Test accuracy below which a run is "near chance": chance + NEAR_CHANCE x (1 - chance), chance = 1/M."""
    return 1.0 / M + NEAR_CHANCE * (1.0 - 1.0 / M)


def t_lo(h, grok_rule=GROK_RULE) -> float:
    """First logged step at which test accuracy leaves near-chance (near_chance_level), with the grok
    rule's patience; NaN if never within the history."""
    return first_step(h, (near_chance_level(h.config.M), grok_rule[1]), "test/acc")
