"""What a seller who does not know the value distribution sells with.

:func:`solve_robust` gathers the closed forms of the thesis' Chapter 1
(Theorems 1.5.2, 1.5.3, Lemma 1.7.15) for a Markov set, optionally checked by
the worst-case LPs (1.7)/(1.8) on a grid; :func:`choose_mechanism` is the
choice of a seller who knows only the range (and maybe a mean bound).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from agora.market.robust.lp import worst_case_revenue
from agora.market.robust.mechanisms import (
    DeterministicPrices,
    HighestBidderLottery,
    MarkovSet,
    RandomPostedPrice,
    RandomReserveAuction,
    RobustInputError,
    SecondPriceReserve,
    best_reserve,
    spa_region,
)


@dataclass(frozen=True)
class RobustSolution:
    """Best second-price auction, optimal highest-bidder lottery and the bound on any mechanism."""

    ambiguity: MarkovSet
    spa_reserve: float
    spa_revenue: float
    spa_reserve_region: str
    mean_region: str
    hbl_sigma: float
    hbl_threshold: float
    hbl_revenue: float
    upper_bound: float
    method: str
    lp: dict | None = None
    design_lp: dict | None = None

    def to_dict(self) -> dict:
        a = self.ambiguity
        out = {"bidders": a.bidders, "mean": a.mean, "upper": a.upper,
               "spa_reserve": self.spa_reserve, "spa_revenue": self.spa_revenue,
               "spa_reserve_region": self.spa_reserve_region, "mean_region": self.mean_region,
               "hbl_sigma": self.hbl_sigma, "hbl_threshold": self.hbl_threshold,
               "hbl_revenue": self.hbl_revenue, "upper_bound": self.upper_bound,
               "hbl_share_of_upper_bound": self.hbl_revenue / self.upper_bound,
               "spa_share_of_hbl": self.spa_revenue / self.hbl_revenue,
               "method": self.method}
        if self.lp is not None:
            out["lp"] = self.lp
        if self.design_lp is not None:
            out["design_lp"] = self.design_lp
        return out


def design_lp_summary(ambiguity: MarkovSet, points: int, lottery_revenue: float) -> dict:
    """The design LP (1.11) on an n-point grid over all mechanisms, highest-bidder lotteries and
    efficient mechanisms.

    The values bound their continuum optima from above, so ``lottery_share``
    (the closed-form lottery's r over the all-mechanism LP value) is a lower
    bound on the lottery's share of the unknown optimum (Theorem 1.5.4: >= 1/2),
    and ``efficient_value`` falls to the Vickrey worst case on finer grids (Theorem 1.5.1).
    """
    from agora.market.robust.design import revenue_design_lp
    every = revenue_design_lp(ambiguity, points)
    lottery = revenue_design_lp(ambiguity, points, lottery=True)
    efficient = revenue_design_lp(ambiguity, points, efficient=True)
    return {"grid": points, "value": every.value, "lottery_value": lottery.value,
            "lottery_share": lottery_revenue / every.value, "efficient_value": efficient.value,
            "status": every.status, "lottery_status": lottery.status, "efficient_status": efficient.status,
            "variables": every.variables, "method": every.method}


def solve_robust(bidders: int, mean: float, upper: float = 1.0, grid: int | None = None,
                 design_grid: int | None = None) -> RobustSolution:
    """Closed forms for I bidders with values in [0, upper] and means >= ``mean``.

    With ``grid`` = n, also the worst cases of both mechanisms from the LPs on
    an n-point grid (symmetric reduction), reported under ``lp``; with
    ``design_grid`` = n, the design LP (1.11) on an n-point grid, under ``design_lp``.
    """
    ambiguity = MarkovSet(bidders, mean, upper)
    spa = best_reserve(ambiguity)
    hbl = HighestBidderLottery.optimal(ambiguity)
    lp = None
    design = None if design_grid is None else design_lp_summary(ambiguity, design_grid, hbl.worst_case_revenue)
    if grid is not None:
        w_spa = worst_case_revenue(spa.mechanism(), ambiguity, grid)
        w_hbl = worst_case_revenue(hbl, ambiguity, grid)
        lp = {"grid": grid, "spa_revenue": w_spa.value, "spa_dual": w_spa.dual_value,
              "hbl_revenue": w_hbl.value, "hbl_dual": w_hbl.dual_value,
              "method": w_spa.method}
    return RobustSolution(
        ambiguity=ambiguity, spa_reserve=spa.reserve, spa_revenue=spa.revenue,
        spa_reserve_region=spa_region(spa.reserve, ambiguity), mean_region=spa.mean_region,
        hbl_sigma=hbl.sigma, hbl_threshold=hbl.threshold * upper, hbl_revenue=hbl.worst_case_revenue,
        upper_bound=hbl.upper_bound,
        method=f"closed forms (Theorems 1.5.2, 1.5.3, Lemma 1.7.15); sigma by {hbl.method}", lp=lp,
        design_lp=design)


# ------------------------------------------------------ Chapter 2: one buyer, J items

@dataclass(frozen=True)
class PricingSolution:
    """The random posted price per item for one buyer of J items, and optionally the design LP (2.6)."""

    rule: RandomPostedPrice
    design_lp: dict | None = None

    def items(self) -> list[dict]:
        """Per item: range, cost, lowest price and regret (v̄_j - c_j)^+/e, with the result it comes from."""
        r = self.rule
        return [{"item": j + 1, "upper": u, "cost": c, "on_sale": bool(on), "lowest_price": float(low),
                 "regret": max(u - c, 0.0) / math.e,
                 "source": "Theorem 2.3.1, mechanism (2.3)" if on else "Remark 2.3.1, trivial mechanism"}
                for j, (u, c, on, low) in enumerate(zip(r.upper, r.cost, r.on_sale, r.lowest_price))]

    def to_dict(self) -> dict:
        out = {"items": self.items(), "worst_case_regret": self.rule.worst_case_regret,
               "method": "closed form (1/e) sum (vbar_j - c_j)^+ (Theorem 2.3.1, Remark 2.3.1)"}
        if self.design_lp is not None:
            out["design_lp"] = self.design_lp
        return out


def solve_pricing(upper, costs, design_grid: int | None = None) -> PricingSolution:
    """Chapter 2's minimax-regret mechanism for one buyer of ``len(costs)`` items.

    ``upper`` is one bound for every item or one per item. With ``design_grid``
    = n, also (2.6) on V_n (n points per item): its value z_n* <= z* (Lemma 2.3.2).
    """
    upper, costs = tuple(upper), tuple(costs)
    if not costs:
        raise RobustInputError("selling needs at least one item's cost, got none")
    if len(upper) not in (1, len(costs)):
        raise RobustInputError(f"{len(costs)} costs need one upper bound or {len(costs)}, "
                               f"got {len(upper)} upper bounds")
    rule = RandomPostedPrice.of(upper if len(upper) == len(costs) else upper * len(costs), costs)
    design = None
    if design_grid is not None:
        from agora.market.robust.design import pricing_design_lp
        lp = pricing_design_lp(rule.upper, rule.cost, design_grid)
        design = {"grid": design_grid, "value": lp.value, "closed_form": rule.worst_case_regret,
                  "status": lp.status, "variables": lp.variables,
                  "source": "LP (2.6) on the grid V_n, a lower bound on z* (Lemma 2.3.2)", "method": lp.method}
    return PricingSolution(rule, design)


# ------------------------------------------------------------ seller's choice

@dataclass(frozen=True)
class Knowledge:
    """What a seller knows: the value range [0, upper], maybe a bound on each mean, its cost.

    A cost at or above ``upper`` is admitted (Remark 2.3.1): the random posted
    price then never sells, the trivial mechanism, with worst-case regret 0.
    """

    upper: float
    mean: float | None = None
    cost: float = 0.0

    def __post_init__(self):
        if not 0.0 < self.upper < float("inf"):
            raise RobustInputError(f"the upper bound of values must be > 0, got {self.upper}")
        if self.mean is not None and not 0.0 < self.mean < self.upper:
            raise RobustInputError(f"the mean bound must lie strictly between 0 and {self.upper}, "
                                   f"got {self.mean}")
        if not 0.0 <= self.cost < float("inf"):
            raise RobustInputError(f"the cost must be a finite number >= 0, got {self.cost}")


#: Rules for an auction with I bidders; the first two need a mean bound.
AUCTION_RULES = ("lottery", "lottery-pay-on-win", "best-reserve", "random-reserve", "vickrey")
#: Rules for selling to a single counterpart (Chapter 2).
PRICING_RULES = ("random-price", "deterministic-price")
NEEDS_MEAN = ("lottery", "lottery-pay-on-win", "best-reserve")


def choose_mechanism(knowledge: Knowledge, rule: str | None = None, bidders: int = 1):
    """The mechanism a seller with this knowledge picks.

    Default: with a mean bound and I >= 2 bidders, the optimal highest-bidder
    lottery (max worst-case revenue, Theorem 1.5.3); with only the range, the
    random-reserve auction (I >= 2, min worst-case regret, Chapter 3) or the
    random posted price (one counterpart, Chapter 2).
    """
    if rule is None:
        rule = ("lottery" if knowledge.mean is not None else "random-reserve") if bidders >= 2 \
            else "random-price"
    if rule not in AUCTION_RULES + PRICING_RULES:
        raise RobustInputError(f"unknown seller rule {rule!r}; accepted: "
                               f"{', '.join(AUCTION_RULES + PRICING_RULES)}")
    if rule in AUCTION_RULES and bidders < 2:
        raise RobustInputError(f"the rule {rule!r} is an auction and needs bidders >= 2, got {bidders}")
    if rule in PRICING_RULES and bidders != 1:
        raise RobustInputError(f"the rule {rule!r} sells to one counterpart, got {bidders} bidders")
    if rule in NEEDS_MEAN:
        if knowledge.mean is None:
            raise RobustInputError(f"the rule {rule!r} needs a bound on the mean value; "
                                   "a seller who knows only the range can use random-reserve or vickrey")
        ambiguity = MarkovSet(bidders, knowledge.mean, knowledge.upper)
        if rule == "best-reserve":
            return best_reserve(ambiguity).mechanism()
        return HighestBidderLottery.optimal(ambiguity, pay_on_win=rule == "lottery-pay-on-win")
    return {"random-reserve": lambda: RandomReserveAuction(knowledge.upper),
            "vickrey": lambda: SecondPriceReserve(0.0),
            "random-price": lambda: RandomPostedPrice.of([knowledge.upper], [knowledge.cost]),
            "deterministic-price": lambda: DeterministicPrices.best([knowledge.upper], [knowledge.cost]),
            }[rule]()
