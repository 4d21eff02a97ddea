"""Checks shared by the dashboard's tests."""

import math

from agora.experiments.dashboard.views import money_columns


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
