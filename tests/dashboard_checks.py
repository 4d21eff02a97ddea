"""Checks shared by the dashboard's tests."""

import math

from agora.experiments.dashboard.views import VIEWS, money_columns
from agora.market.robust.solver import NEEDS_MEAN, PRICING_RULES


def rule_and_knowledge(protocol: str, rule: str | None = None) -> dict:
    """Controls that let ``rule`` (default: best response, or the protocol's first rule if it has none)
    make a market of ``protocol``: a robust rule that needs a mean bound knows 0.5, a robust posted
    price sells to one buyer."""
    rules = VIEWS[protocol].rules
    rule = rule or ("best-response" if "best-response" in rules else rules[0])
    if protocol != "robust":
        return {"rule": rule}
    return {"rule": rule, **({"buyers": 1} if rule in PRICING_RULES else {"mean": 0.5} if rule in NEEDS_MEAN else {})}


def means_within_monte_carlo(m, rounds: int, z: float = 4.0) -> None:
    """Step the dashboard's market ``rounds`` times; every money column's mean is within z standard
    errors of the view's exact reference."""
    for _ in range(rounds):
        m.step()
    df = m.view.series(m.market)
    bands = m.view.reference(m.market).bands
    for col in money_columns(df):
        se = df[col].std(ddof=1) / math.sqrt(len(df))
        assert abs(df[col].mean() - bands[col][0]) <= z * se + 1e-12, (col, df[col].mean(), bands[col][0], se)
