"""Which incentive notions a mechanism satisfies over a finite ambiguity set (thesis Definition 1.2.6).

Scenarios are finitely many value profiles; the ambiguity set is a list of
probability vectors over them. A bidder with value v_i compares, for every
report w_i, his conditional expected utility given v_i under each P:

* ex-post IC: truth is best in every scenario;
* distributionally robust IC (IC-D): truth is best under every P;
* maxmin IC: the worst case over P of truth beats that of any report;
* Hurwicz IC (α): α·inf + (1 - α)·sup;
* Bayesian IC (prior Q over the P's): the Q-average.

Conditional expectations skip distributions under which v_i has probability 0.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

Rule = Callable[[np.ndarray], np.ndarray]  # bids (I,) -> per-bidder allocation or payment (I,)


@dataclass(frozen=True)
class IncentiveCheck:
    """Whether each notion holds, and the first violation found for each that fails."""

    holds: dict[str, bool]
    violations: dict[str, str]


def conditional_utilities(scenarios: np.ndarray, distributions: Sequence[np.ndarray], allocation: Rule,
                          payment: Rule, bidder: int, value: float, report: float) -> list[float]:
    """E_P[u_i(report; value, v_-i) | v_i = value] for each P (NaN where P[v_i = value] = 0)."""
    rows = np.flatnonzero(np.isclose(scenarios[:, bidder], value))
    utils = []
    for row in rows:
        bids = scenarios[row].copy()
        bids[bidder] = report
        utils.append(allocation(bids)[bidder] * value - payment(bids)[bidder])
    out = []
    for p in distributions:
        w = np.asarray(p, float)[rows]
        out.append(float(w @ np.array(utils) / w.sum()) if w.sum() > 0 else np.nan)
    return out


def check_incentives(scenarios, distributions, allocation: Rule, payment: Rule, alpha: float = 0.5,
                     prior: Sequence[float] | None = None, tol: float = 1e-12) -> IncentiveCheck:
    """Evaluate ex-post, distributionally robust, maxmin, Hurwicz(α) and Bayesian(prior) IC."""
    scenarios = np.asarray(scenarios, float)
    prior = np.full(len(distributions), 1.0 / len(distributions)) if prior is None else np.asarray(prior, float)
    holds = {k: True for k in ("ex_post", "distributionally_robust", "maxmin", "hurwicz", "bayesian")}
    violations: dict[str, str] = {}

    def fail(notion, text):
        if holds[notion]:
            holds[notion], violations[notion] = False, text

    for i in range(scenarios.shape[1]):
        values = np.unique(scenarios[:, i])
        for v in values:
            truth = np.array(conditional_utilities(scenarios, distributions, allocation, payment, i, v, v))
            ok = ~np.isnan(truth)
            for w in values:
                if w == v:
                    continue
                lie = np.array(conditional_utilities(scenarios, distributions, allocation, payment, i, v, w))
                where = f"bidder {i + 1} with value {v:g} reporting {w:g}"
                for row in np.flatnonzero(np.isclose(scenarios[:, i], v)):
                    bids = scenarios[row].copy()
                    t = allocation(bids)[i] * v - payment(bids)[i]
                    bids[i] = w
                    if allocation(bids)[i] * v - payment(bids)[i] > t + tol:
                        fail("ex_post", f"{where} in scenario {scenarios[row].tolist()}")
                if np.any(lie[ok] > truth[ok] + tol):
                    fail("distributionally_robust", f"{where}: truth {truth.tolist()} vs lie {lie.tolist()}")
                t_inf, t_sup, l_inf, l_sup = truth[ok].min(), truth[ok].max(), lie[ok].min(), lie[ok].max()
                if l_inf > t_inf + tol:
                    fail("maxmin", f"{where}: inf {t_inf:g} vs {l_inf:g}")
                if alpha * l_inf + (1 - alpha) * l_sup > alpha * t_inf + (1 - alpha) * t_sup + tol:
                    fail("hurwicz", f"{where}: {alpha * t_inf + (1 - alpha) * t_sup:g} vs "
                                    f"{alpha * l_inf + (1 - alpha) * l_sup:g}")
                if prior[ok] @ lie[ok] / prior[ok].sum() > prior[ok] @ truth[ok] / prior[ok].sum() + tol:
                    fail("bayesian", f"{where}")
    return IncentiveCheck(holds, violations)


def all_pay_half(bids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Example 1.2.2's all-pay mechanism: the highest bid wins (ties to the lowest index); all pay half their bid."""
    q = np.zeros(len(bids))
    q[int(np.argmax(bids))] = 1.0
    return q, np.asarray(bids, float) / 2.0
