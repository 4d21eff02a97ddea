"""The experiment runner's spec format (:mod:`agora.experiments.spec`) read as the dashboard's controls.

A file that ``agora run`` reads opens in ``agora viz`` too: its ``[market]`` table is validated by
the runner's market kind (the runner's own one-line errors), the first point of its sweep is
applied, and the validated parameters are mapped to the controls of the dashboard's view of the
same market:

* ``seller-first`` -> seller-first: bidders and n -> distributions and buyers; seller
  ``"stackelberg"`` -> rule best-response at rate 1, a price -> fixed-price at it;
* ``intermediary-first`` -> intermediary-first: intermediary ``"best"`` (class posted_price) ->
  best-response, a posted price for the right -> fixed-price at it;
* ``simultaneous`` -> simultaneous: both sides ``"best-response"`` -> best-response from start,
  both prices -> fixed-price at them;
* ``learning`` -> learning: bidders, points; the rule table -> rule and rate
  (:func:`agora.agents.adjustment.rate_of`); the start indices -> the grid's prices;
* ``veto-bargaining`` -> veto-bargaining: members -> distributions and buyers (one each); mechanism
  ``"optimal"`` -> best-response (Theorem 1's vote), ``"posted-price"`` -> best-posted-price; the
  dashboard's seller has cost 0, so another cost is refused;
* ``posted-menu`` -> posted-menu: distribution, buyers, items, utility; the partition's blocks ->
  intermediaries (the dashboard's blocks are contiguous and of sizes differing by at most one, so
  another partition is refused); menu ``"intermediary-proof"`` -> intermediary-proof, ``"best"`` ->
  best-response at rate 1, a price -> fixed-price at it;
* ``k-item-auction`` -> k-item-auction: distribution, buyers, items, utility and the partition as for
  posted-menu; reserve ``"myerson"`` -> myerson, a reserve -> fixed-price at it;
* ``robust`` -> robust: bidders -> buyers, mechanism -> rule, mean, upper; adversary ``"worst-case"``
  -> worst-case, a list of laws -> distributions drawn from them; the dashboard's seller sells one
  item at cost 0, so other costs are refused;
* ``q-learning`` -> q-learning: bidders, points; alpha -> rate; beta, delta, memory; the session learns
  until it converges with the kind's default window and periods (the spec's, and its impulse, are
  set aside);
* ``adaptive-play`` -> adaptive-play (``game = "pricing"`` only): bidders, points, memory, the samples
  and mistake rates; the start indices -> the grid's prices;
* ``q-learning-fees`` -> q-learning-fees: distribution -> bidders, buyers, items, points; alpha -> rate;
  beta, delta, memory (the grid runs to the top of the support, so upper is refused; periods, window
  and the impulse are set aside: the session runs the view's horizon);
* ``learning-k-items`` -> posted-fees: distribution, blocks, items, points; the rule table ->
  rule and rate; the start indices -> the grid's prices.

Keys that only the runner uses (steps, seeds, record, evaluator, exact, window, mixed_tol, and
classes or start when nothing reads them) are set aside with a notice; a market the dashboard
cannot show as written (another demand structure, one side fixed and the other learning, two
different rules) is refused in one line naming the key.
"""

from __future__ import annotations

from collections.abc import Mapping

from agora.agents.adjustment import rate_of
from agora.experiments.dashboard.controls import MAX_BUYERS, Controls, SpecFileError
from agora.experiments.dashboard.posted_menu_view import blocks
from agora.experiments.markets import SpecError, registry, shown
from agora.experiments.markets.k_items import blocks_of
from agora.experiments.markets.robust import WORST_CASE
from agora.experiments.markets.robust import bidders_of as robust_bidders
from agora.experiments.markets.selection import k_market, make_rule, single_market
from agora.experiments.markets.single_item import bidders_of, right_auction
from agora.experiments.spec import expand_sweep, parse_spec_table
from agora.market.demand import validate_partition
from agora.market.errors import InputError
from agora.market.single_item.right_auctions import PostedRightPrice
from agora.market.single_item.simultaneous import PricingGame, grid_game

RUN_SETTINGS = ("steps", "seeds", "record")  # how the runner runs a market, not the market


def runner_keys(protocol: str) -> tuple[str, ...]:
    """The ``[market]`` keys the runner's kind ``protocol`` reads (empty for a dashboard-only protocol)."""
    kind = registry().get(protocol)
    return ("protocol", *(p.name for p in kind.params)) if kind else ()


def _refuse(key: str, value, why: str, accepted: str) -> SpecError:
    return SpecError(f"market.{key} = {shown(value)}: {why}; accepted: {accepted}")


def _buyers(params: Mapping) -> dict:
    """bidders and n as the dashboard's distributions (repeated in turn) and number of buyers."""
    n = len(bidders_of(params))
    if n > MAX_BUYERS:
        raise _refuse("n", n, "more buyers than the dashboard draws", f"at most {MAX_BUYERS}")
    return {"bidders": tuple(params["bidders"]), "buyers": n}


def _monopsony(params: Mapping) -> None:
    if params["demand"] != "monopsony":
        raise _refuse("demand", params["demand"], "the dashboard's single-item markets have one intermediary "
                      "holding every buyer", "\"monopsony\"")


def _rule(params: Mapping, seller: str, other: str) -> dict:
    """One rule table for every side as the dashboard's rule and rate."""
    if params[other] is not None and params[other] != params[seller]:
        raise _refuse(other, params[other], "the dashboard plays one rule for every side",
                      "\"same\" or the seller's rule")
    try:
        rule, rate = rate_of(make_rule(params[seller]))
    except InputError as err:
        raise SpecError(f"market.{seller} = {shown(params[seller])}: {err}") from None
    return {"rule": rule, "rate": rate}


def _seller_first(params: Mapping) -> tuple[dict, tuple[str, ...]]:
    _monopsony(params)
    seller = params["seller"]
    strategy = {"rule": "best-response"} if seller == "stackelberg" else {"rule": "fixed-price", "seller_price": seller}
    return {**_buyers(params), **strategy}, ("evaluator", "exact")


def _intermediary_first(params: Mapping) -> tuple[dict, tuple[str, ...]]:
    _monopsony(params)
    commitment = params["intermediary"]
    if commitment == "best":
        if params["classes"] != ["posted_price"]:
            raise _refuse("classes", params["classes"], "the dashboard's intermediary commits to its best "
                          "posted price for the right", "[\"posted_price\"]")
        return {**_buyers(params), "rule": "best-response"}, ("evaluator", "exact")
    auction = right_auction(commitment)
    if not isinstance(auction, PostedRightPrice):
        raise _refuse("intermediary", commitment, "the dashboard's intermediary posts a price for the right",
                      "\"best\", a price, or {class = \"posted_price\", parameter = X}")
    return ({**_buyers(params), "rule": "fixed-price", "intermediary_price": auction.parameter},
            ("evaluator", "exact", "classes"))


def _simultaneous(params: Mapping) -> tuple[dict, tuple[str, ...]]:
    _monopsony(params)
    seller, other = params["seller"], params["intermediary"]
    if seller == other == "best-response":
        start = params["start"]
        return ({**_buyers(params), "rule": "best-response", "seller_price": start, "intermediary_price": start},
                ("evaluator", "exact"))
    if "best-response" in (seller, other):
        key = "seller" if seller != "best-response" else "intermediary"
        raise _refuse(key, params[key], "the dashboard moves both sides by one rule",
                      "\"best-response\" on both sides, or a price on both")
    return ({**_buyers(params), "rule": "fixed-price", "seller_price": seller, "intermediary_price": other},
            ("evaluator", "exact", "start"))


def _learning(params: Mapping) -> tuple[dict, tuple[str, ...]]:
    if params["grid"] != "linear":
        raise _refuse("grid", params["grid"], "the dashboard's learners price on a linear grid", "\"linear\"")
    _, mg = single_market(params).discretized()
    return ({"protocol": "learning", "bidders": tuple(params["bidders"]), "buyers": len(params["bidders"]),
             "points": params["points"], **_rule(params, "seller", "intermediary"),
             "seller_price": float(mg.row_actions[params["start_seller"]]),
             "intermediary_price": float(mg.col_actions[params["start_intermediary"]])},
            ("evaluator", "window", "mixed_tol"))


def _learning_k_items(params: Mapping) -> tuple[dict, tuple[str, ...]]:
    sizes = list(params["blocks"])
    if sizes != [len(b) for b in blocks(sum(sizes), 2)]:
        raise _refuse("blocks", sizes, "the dashboard splits the buyers into two contiguous blocks, the "
                      "larger first", f"{[len(b) for b in blocks(sum(sizes), 2)]} for {sum(sizes)} buyers")
    for key, why in (("upper", "the dashboard's grid ends at the top of the support"),
                     ("seller_price", "the dashboard's seller learns its price")):
        if params[key] is not None:
            raise _refuse(key, params[key], why, "no value (the default)")
    if params["start_first"] != params["start_second"]:
        raise _refuse("start_second", params["start_second"], "the dashboard starts both intermediaries at "
                      "one fee", f"start_first ({params['start_first']})")
    seller, fee, _ = k_market(params).game().actions
    return ({"protocol": "posted-fees", "bidders": (params["distribution"],), "buyers": sum(sizes),
             "intermediaries": 2, "items": params["items"], "points": params["points"],
             **_rule(params, "seller", "intermediaries"),
             "seller_price": float(seller[params["start_seller"]]),
             "intermediary_price": float(fee[params["start_first"]])},
            ("evaluator", "window", "mixed_tol"))


def _veto_bargaining(params: Mapping) -> tuple[dict, tuple[str, ...]]:
    if params["transfers"] != "pooled":
        raise _refuse("transfers", params["transfers"], "the dashboard's group pays one collective transfer",
                      "\"pooled\"")
    if params["cost"] != 0:
        raise _refuse("cost", params["cost"], "the dashboard's seller has no cost", "0")
    rule = {"optimal": "best-response", "posted-price": "best-posted-price"}[params["mechanism"]]
    members = tuple(params["members"])
    return {"bidders": members, "buyers": len(members), "rule": rule}, ("evaluator",)


def _item_market(params: Mapping) -> dict:
    """The k-item market's distribution, buyers, intermediaries (the partition's blocks, which must be
    the dashboard's contiguous even split), items and utility model."""
    partition, n = blocks_of(params), params["buyers"]
    if n > MAX_BUYERS:
        raise _refuse("buyers", n, "more buyers than the dashboard draws", f"at most {MAX_BUYERS}")
    even = validate_partition(blocks(n, len(partition)), n)
    if partition != even:
        raise _refuse("partition", params["partition"], "the dashboard splits the buyers into contiguous "
                      "blocks of sizes differing by at most one, the larger first",
                      f"\"even:{len(partition)}\" ({'|'.join(','.join(map(str, b)) for b in even)})")
    return {"bidders": (params["distribution"],), "buyers": n, "intermediaries": len(partition),
            "items": params["items"], "utility": params["utility"]}


def _posted_menu(params: Mapping) -> tuple[dict, tuple[str, ...]]:
    menu = params["menu"]
    rule = ({"rule": menu} if menu == "intermediary-proof" else {"rule": "best-response", "rate": 1.0}
            if menu == "best" else {"rule": "fixed-price", "seller_price": menu})
    return {**_item_market(params), **rule}, ("evaluator",)


def _k_item_auction(params: Mapping) -> tuple[dict, tuple[str, ...]]:
    reserve = params["reserve"]
    rule = {"rule": "myerson"} if reserve == "myerson" else {"rule": "fixed-price", "seller_price": reserve}
    return {**_item_market(params), **rule}, ("evaluator",)


def _robust(params: Mapping) -> tuple[dict, tuple[str, ...]]:
    if params["costs"] not in (None, [0.0]):
        raise _refuse("costs", params["costs"], "the dashboard's seller sells one item at no cost", "[0] or no costs")
    laws = params["adversary"]
    nature = ({"adversary": "worst-case"} if laws == WORST_CASE
              else {"adversary": "distributions", "bidders": tuple(laws)})
    return ({"buyers": robust_bidders(params), "rule": params["mechanism"], "mean": params["mean"],
             "upper": params["upper"], **nature}, ("evaluator",))


def _q_learning(params: Mapping) -> tuple[dict, tuple[str, ...]]:
    bidders = tuple(params["bidders"])
    if len(bidders) > MAX_BUYERS:
        raise _refuse("bidders", len(bidders), "more buyers than the dashboard draws", f"at most {MAX_BUYERS}")
    return ({"bidders": bidders, "buyers": len(bidders), "rule": "q-learning", "points": params["points"],
             "rate": params["alpha"], "beta": params["beta"], "delta": params["delta"], "memory": params["memory"]},
            ("periods", "window", "impulse", "deviator", "impulse_periods"))


def _adaptive_play(params: Mapping) -> tuple[dict, tuple[str, ...]]:
    if params["game"] != "pricing":
        raise _refuse("game", params["game"], "the dashboard plays the pricing grid game", '"pricing"')
    bidders = tuple(params["bidders"] or ("point:1",))
    if len(bidders) > MAX_BUYERS:
        raise _refuse("bidders", len(bidders), "more buyers than the dashboard draws", f"at most {MAX_BUYERS}")
    grid, _, _ = grid_game(PricingGame(bidders), params["points"])
    starts = {}
    for key, price in (("start_row", "seller_price"), ("start_column", "intermediary_price")):
        if params[key] >= len(grid):
            raise _refuse(key, params[key], "not an index of the grid", f"below {len(grid)}")
        starts[price] = float(grid[params[key]])
    return ({"bidders": bidders, "buyers": len(bidders), "rule": "adaptive-play", "points": params["points"],
             "memory": params["memory"], **{k: params[k] for k in ("sample_row", "sample_column", "eps_row",
                                                                      "eps_column")}, **starts}, ())


def _q_learning_fees(params: Mapping) -> tuple[dict, tuple[str, ...]]:
    if params["upper"] is not None:
        raise _refuse("upper", params["upper"], "the dashboard's fee grid runs to the top of the support", "no upper")
    if params["buyers"] > MAX_BUYERS:
        raise _refuse("buyers", params["buyers"], "more buyers than the dashboard draws", f"at most {MAX_BUYERS}")
    return ({"bidders": (params["distribution"],), "buyers": params["buyers"], "items": params["items"],
             "rule": "q-learning", "points": params["points"], "rate": params["alpha"], "beta": params["beta"],
             "delta": params["delta"], "memory": params["memory"]},
            ("periods", "window", "impulse", "deviator", "impulse_periods"))


TRANSLATE = {"seller-first": _seller_first, "intermediary-first": _intermediary_first,
             "simultaneous": _simultaneous, "learning": _learning, "learning-k-items": _learning_k_items,
             "veto-bargaining": _veto_bargaining, "posted-menu": _posted_menu, "k-item-auction": _k_item_auction,
             "robust": _robust, "q-learning": _q_learning, "adaptive-play": _adaptive_play,
             "q-learning-fees": _q_learning_fees}


def controls_from_runner_spec(doc: Mapping, where: str) -> tuple[Controls, list[str]]:
    """The dashboard's controls for the first point of a runner spec ``doc`` (read from TOML), and
    notices naming what the dashboard sets aside. Every point is validated by the runner's kind."""
    market = {"protocol": Controls.protocol, **doc["market"]}
    try:
        # a file with run settings is checked whole, as `agora run` would; a bare [market] by its kind
        points = (parse_spec_table({**doc, "market": market}).points if "steps" in doc or "seeds" in doc
                  else expand_sweep(market, doc.get("sweep")))
    except SpecError as err:
        raise SpecFileError(f"{where}: {err}") from None
    first = points[0]
    if first.protocol not in TRANSLATE:
        raise SpecFileError(f"{where}: the dashboard has no view of protocol {shown(first.protocol)} (`agora run` "
                            f"runs it); accepted: {', '.join(shown(k) for k in TRANSLATE)}")
    try:
        values, run_only = TRANSLATE[first.protocol](first.params)
        controls = Controls(**{"protocol": first.protocol, **values})
    except InputError as err:
        raise SpecFileError(f"{where}: {err}") from None
    set_aside = [k for k in RUN_SETTINGS if k in doc] + [f"market.{k}" for k in run_only
                                                         if k in market or k in first.columns]
    notices = [f"{where}: not used by the dashboard: {', '.join(set_aside)}"] if set_aside else []
    if len(points) > 1:
        at = ", ".join(f"{k} = {shown(v)}" for k, v in first.columns.items())
        notices.append(f"{where}: the sweep has {len(points)} points; the dashboard opens the first ({at})")
    return controls, notices
