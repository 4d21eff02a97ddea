"""MarketModel: the agent-based seller-first market (monopolist-intermediary, Section 3).

Checks the Mesa world round by round: defaults and seeding (DESIGN.md), the
message flow of one round, per-round accounting and ex post individual
rationality, the seller strategies (Theorem 2.3: any deterministic mechanism
acts as its minimum payment; Lemma 3.10 for menus), value replay and input
errors. Exact comparisons use 1e-9; Monte Carlo uses 4 standard errors with
the sample size stated in the test.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from agora.agents import Buyer
from agora.market.demand import competition, monopsony
from agora.market.errors import InputError
from agora.market.single_item.seller_first import solve_seller_first
from agora.market.single_item.seller_mechanisms import FirstPriceAuction, Menu, PostedPrice, SecondPriceAuction
from agora.market.single_item.virtual_law import VirtualMaxLaw, evaluate_menu
from agora.models.market_model import MarketModel
from agora.protocols.messages import LOG_COLUMNS, Allocation, Bid, Commit, Forward, Offer, Payment

EXACT = 1e-9
ROUNDING = 1e-12  # float rounding of a sum of a few payments
SIGMAS = 4.0
SERIES = ["seller_price", "seller_revenue", "intermediary_revenue", "total_revenue", "welfare",
          "sale", "winner"]


def run(model: MarketModel, rounds: int) -> MarketModel:
    for _ in range(rounds):
        model.step()
    return model


def model_vars(model: MarketModel) -> pd.DataFrame:
    return model.datacollector.get_model_vars_dataframe()


def buyer_table(model: MarketModel, column: str) -> np.ndarray:
    """rounds x buyers array of a Buyer reporter, columns in buyer index order."""
    df = model.datacollector.get_agenttype_vars_dataframe(Buyer)[column].unstack("AgentID")
    return df[[b.unique_id for b in model.buyers]].to_numpy(float)


def kinds(messages) -> list[str]:
    return [type(m).__name__ for m in messages]


# ---------------------------------------------------------------- defaults, seeds
def test_all_defaults_run():
    """DESIGN.md: every model parameter has a default, so MarketModel() runs."""
    model = run(MarketModel(), 5)
    df = model_vars(model)
    assert len(df) == 5 and model.round == 5
    assert len(model.buyers) == 2 and len(model.intermediaries) == 1
    assert np.isfinite(df["seller_price"]).all() and (df["seller_price"] > 0).all()
    assert len(model.message_log()) >= 5 * 4  # at least Commit, Offer, 2 Bids a round


def test_same_seed_same_series_different_seed_differs():
    """rng seeds the whole run: equal seeds give equal DataCollector tables, other seeds differ."""
    a, b, c = (run(MarketModel(rng=seed), 200) for seed in (7, 7, 8))
    pd.testing.assert_frame_equal(model_vars(a), model_vars(b))
    np.testing.assert_array_equal(buyer_table(a, "value"), buyer_table(b, "value"))
    assert not np.array_equal(buyer_table(a, "value"), buyer_table(c, "value"))
    assert not model_vars(a)["seller_revenue"].equals(model_vars(c)["seller_revenue"])


# -------------------------------------------------------------------- message flow
@pytest.mark.parametrize("mechanism", [0.3, PostedPrice(0.3), SecondPriceAuction(reserve=0.3),
                                       FirstPriceAuction(reserve=0.3)],
                         ids=["float", "posted", "second-price", "first-price"])
def test_message_flow_of_a_sale(mechanism):
    """One sale, two U[0,1] buyers with values (0.9, 0.2), seller minimum payment 0.3.

    Order: Commit, Offer, Bid x 2, Forward, Allocation, Payment to the seller,
    Payment to the intermediary. Forward carries the cheapest winning bid vector
    (0.3, 0) (Definition 2.2); the fee is the Myerson threshold minus the price:
    phi^-1(max(0.3, phi(0.2))) - 0.3 = (0.3 + 1)/2 - 0.3 = 0.35 (Theorem 3.1).
    """
    model = MarketModel(seller=mechanism, replay=np.array([[0.9, 0.2]]), rng=1)
    model.step()
    msgs = model.last.messages
    assert kinds(msgs) == ["Commit", "Offer", "Bid", "Bid", "Forward", "Allocation",
                           "Payment", "Payment"]
    commit, offer, bid0, bid1, fwd, alloc, pay_s, pay_i = msgs
    seller, inter, (b0, b1) = model.seller, model.intermediaries[0], model.buyers
    assert isinstance(commit, Commit) and commit.sender == seller.unique_id
    assert isinstance(offer, Offer) and offer.sender == inter.unique_id
    assert all(isinstance(b, Bid) and b.recipient == inter.unique_id for b in (bid0, bid1))
    assert (bid0.sender, bid0.amount) == (b0.unique_id, 0.9)  # truthful bids
    assert (bid1.sender, bid1.amount) == (b1.unique_id, 0.2)
    assert isinstance(fwd, Forward)
    assert (fwd.sender, fwd.recipient, fwd.on_behalf_of) == (inter.unique_id, seller.unique_id,
                                                            b0.unique_id)
    assert fwd.bids == pytest.approx((0.3, 0.0), abs=EXACT)
    assert isinstance(alloc, Allocation) and alloc.delivered and alloc.recipient == b0.unique_id
    assert isinstance(pay_s, Payment) and isinstance(pay_i, Payment)
    assert (pay_s.sender, pay_s.recipient) == (b0.unique_id, seller.unique_id)
    assert (pay_i.sender, pay_i.recipient) == (b0.unique_id, inter.unique_id)
    assert pay_s.amount == pytest.approx(0.3, abs=EXACT)
    assert pay_i.amount == pytest.approx(0.35, abs=EXACT)


def test_forward_is_the_stackelberg_mechanisms_cheapest_winning_bids():
    """Default seller: the forwarded bids are (p*, 0, 0) for the Stackelberg price p*."""
    bidders = ("uniform:0,1", "uniform:0,1", "uniform:0,1")
    model = MarketModel(bidders, replay=np.array([[0.2, 0.99, 0.1]]), rng=2)
    model.step()
    p = solve_seller_first(bidders).seller_price
    fwd = next(m for m in model.last.messages if isinstance(m, Forward))
    assert fwd.bids == pytest.approx((p, 0.0, 0.0), abs=EXACT)
    assert fwd.on_behalf_of == model.buyers[1].unique_id


def test_no_sale_round_has_no_forward_and_no_payments():
    """No buyer clears its reserve phi^-1(0.3) = 0.65: only Commit, Offer and the Bids."""
    model = MarketModel(seller=0.3, replay=np.array([[0.1, 0.6]]), rng=1)
    model.step()
    assert kinds(model.last.messages) == ["Commit", "Offer", "Bid", "Bid"]
    row = model_vars(model).iloc[0]
    assert not row["sale"]
    assert row["seller_revenue"] == 0.0 and row["intermediary_revenue"] == 0.0
    assert row["welfare"] == 0.0
    assert (buyer_table(model, "payoff") == 0.0).all()


def test_round_outcomes_match_theorem_3_1_by_hand():
    """300 replayed rounds, two U[0,1] buyers, posted price 0.3 (phi(v) = 2v - 1).

    The higher value wins iff 2 v_max - 1 >= 0.3; it pays 0.3 to the seller and
    phi^-1(max(0.3, 2 v_2nd - 1)) - 0.3 to the intermediary, with
    phi^-1(t) = (t + 1)/2. Computed here independently, compared to 1e-9.
    """
    values = np.random.default_rng(123).random((300, 2))
    model = run(MarketModel(seller=0.3, replay=values, rng=0), 300)
    df = model_vars(model)
    top, second = values.max(axis=1), values.min(axis=1)
    sale = 2 * top - 1 >= 0.3
    threshold = (np.maximum(0.3, 2 * second - 1) + 1) / 2
    assert 0 < sale.sum() < 300
    np.testing.assert_array_equal(df["sale"].to_numpy(bool), sale)
    np.testing.assert_allclose(df["seller_revenue"], np.where(sale, 0.3, 0.0), atol=EXACT)
    np.testing.assert_allclose(df["intermediary_revenue"], np.where(sale, threshold - 0.3, 0.0),
                               atol=EXACT)
    np.testing.assert_allclose(df["welfare"], np.where(sale, top, 0.0), atol=EXACT)
    np.testing.assert_array_equal(df["winner"].to_numpy()[sale], values.argmax(axis=1)[sale])


# ----------------------------------------------------------------------- accounting
MIXED = ("exponential:1", "uniform:0,2", "pareto:0.5,1,50")
MENU = Menu.of([(0.5, 0.2), (1.0, 0.6)])
MENU_BIDDERS = ("uniform:0,2", "uniform:0,2")  # Phi reaches 2, so both options are used
MENU_ROUNDS = 20_000


@pytest.fixture(scope="module")
def mixed_market():
    """2,000 rounds of three non-identical bidders at the Stackelberg price."""
    return run(MarketModel(MIXED, rng=5), 2000)


@pytest.fixture(scope="module")
def menu_market():
    """20,000 rounds of two U[0,2] buyers facing the menu {(0.5, 0.2), (1, 0.6)}."""
    return run(MarketModel(MENU_BIDDERS, seller=MENU, rng=11), MENU_ROUNDS)


@pytest.mark.parametrize("market", ["mixed_market", "menu_market"])
def test_per_round_accounting_and_ex_post_ir(market, request):
    """Every round: seller + intermediary revenue = what the buyers paid (Payment messages
    and buyer payoffs agree); every buyer's utility >= 0 ex post (fees are charged on
    delivery, Lemma 3.10); welfare = the winner's value when delivered, else 0."""
    model = request.getfixturevalue(market)
    df = model_vars(model)
    rounds = len(df)
    log = model.message_log()
    pays = log[log["kind"] == "Payment"]
    paid = pays.groupby("round")["amount"].sum().reindex(range(rounds), fill_value=0.0)
    to_seller = pays[pays["recipient"] == model.seller.unique_id]
    to_seller = to_seller.groupby("round")["amount"].sum().reindex(range(rounds), fill_value=0.0)

    total = df["seller_revenue"] + df["intermediary_revenue"]
    np.testing.assert_allclose(paid.to_numpy(), total.to_numpy(), atol=ROUNDING)
    np.testing.assert_allclose(to_seller.to_numpy(), df["seller_revenue"].to_numpy(), atol=0)
    np.testing.assert_allclose(df["total_revenue"], total, atol=ROUNDING)

    values, payoff = buyer_table(model, "value"), buyer_table(model, "payoff")
    sale = df["sale"].to_numpy(bool)
    winner = df["winner"].to_numpy()
    received = np.zeros_like(values)
    received[sale, winner[sale].astype(int)] = values[sale, winner[sale].astype(int)]
    buyer_paid = (received - payoff).sum(axis=1)
    np.testing.assert_allclose(buyer_paid, total.to_numpy(), atol=ROUNDING)
    assert payoff.min() >= -ROUNDING * max(1.0, values.max())
    np.testing.assert_allclose(df["welfare"].to_numpy(), received.sum(axis=1), atol=0)
    assert 0 < sale.sum() < rounds


# ------------------------------------------------------------------ seller strategies
def test_default_seller_posts_the_stackelberg_price():
    """Default seller = argmax_p p P[Phi >= p] (Theorems 2.3, 3.1), as solve_seller_first finds."""
    bidders = ("uniform:0,1", "exponential:1")
    model = run(MarketModel(bidders, rng=3), 3)
    p = solve_seller_first(bidders).seller_price
    np.testing.assert_allclose(model_vars(model)["seller_price"], p, atol=EXACT)
    commit = model.last.messages[0]
    assert isinstance(commit.mechanism, PostedPrice)
    assert commit.mechanism.price == pytest.approx(p, abs=EXACT)


def test_float_seller_posts_that_price():
    model = run(MarketModel(seller=0.37, rng=3), 3)
    assert (model_vars(model)["seller_price"] == 0.37).all()
    assert model.last.messages[0].mechanism == PostedPrice(0.37)


@pytest.mark.parametrize("auction", [SecondPriceAuction(reserve=0.4), FirstPriceAuction(reserve=0.4)],
                         ids=["second-price", "first-price"])
def test_auction_with_reserve_acts_as_posted_price(auction):
    """Theorem 2.3: against a bid-dictating intermediary an auction with reserve 0.4 is the
    posted price 0.4; same seed, 500 rounds: identical revenue series."""
    auction_df = model_vars(run(MarketModel(seller=auction, rng=9), 500))
    posted_df = model_vars(run(MarketModel(seller=0.4, rng=9), 500))
    assert 0 < posted_df["sale"].sum() < 500
    pd.testing.assert_frame_equal(auction_df[SERIES], posted_df[SERIES])


def test_menu_seller_revenue_matches_lemma_3_10(menu_market):
    """Menu {(0.5, 0.2), (1, 0.6)}, two U[0,2] buyers, 20,000 rounds: the mean seller and
    intermediary revenue, welfare and delivery rate are within 4 standard errors of the
    exact evaluate_menu values (Lemma 3.10); both options are chosen."""
    df = model_vars(menu_market)
    ev = evaluate_menu(VirtualMaxLaw.of(MENU_BIDDERS), MENU)
    exact = {"seller_revenue": ev.seller_revenue, "intermediary_revenue": ev.intermediary_revenue,
             "welfare": ev.welfare, "sale": ev.delivery_probability}
    for q, value in exact.items():
        x = df[q].astype(float)
        se = x.std(ddof=1) / math.sqrt(MENU_ROUNDS)
        assert abs(x.mean() - value) <= SIGMAS * se, (q, x.mean(), value, se)
    log = menu_market.message_log()
    options = log.loc[log["kind"] == "Forward", "detail"].map(lambda d: json.loads(d)["option"])
    assert set(options) == {0, 1}
    alloc = log.loc[log["kind"] == "Allocation", "detail"].map(lambda d: json.loads(d)["delivered"])
    assert alloc.any() and not alloc.all()  # the lottery of option (0.5, 0.2) sometimes fails


# ---------------------------------------------------------------------------- replay
def test_replay_sets_buyer_values_and_runs_out():
    """replay=array: buyers take those values round by round; a round past the end raises."""
    replay = np.random.default_rng(4).random((6, 2)) * [1.0, 2.0]
    model = run(MarketModel(("uniform:0,1", "uniform:0,2"), seller=0.5, replay=replay, rng=1), 6)
    np.testing.assert_array_equal(buyer_table(model, "value"), replay)
    with pytest.raises(IndexError, match="6"):
        model.step()


class OneByOneBuyer(Buyer):
    """A buyer class with its own draw_value, so the model draws buyer after buyer."""

    def draw_value(self):
        return super().draw_value()


class OneByOne(MarketModel):
    buyer_class = OneByOneBuyer


@pytest.mark.parametrize("bidders", [["uniform:0,1"] * 10,
                                     ["uniform:0,2"] * 3 + ["exponential:1"] * 2 + ["pareto:0.5,1,50"] * 2,
                                     ["exponential:1", "uniform:0,2", "pareto:0.5,1,50"]])
@pytest.mark.parametrize("protocol", ["seller-first", "intermediary-first"])
def test_values_drawn_at_once_equal_one_draw_per_buyer(bidders, protocol):
    """Same seed, 300 rounds: drawing a run of equal laws in one call gives the values, messages
    and generator state of one draw per buyer (the buyers' own ``draw_value``)."""
    batched, single = (run(cls(bidders, protocol=protocol, rng=3), 300) for cls in (MarketModel, OneByOne))
    assert batched.last.values == single.last.values
    assert batched.message_log().equals(single.message_log())
    assert model_vars(batched).equals(model_vars(single))
    assert batched.rng.bit_generator.state == single.rng.bit_generator.state


# ---------------------------------------------------------------------------- errors
def test_unknown_protocol_names_the_accepted_ones():
    with pytest.raises(InputError, match="seller-first"):
        MarketModel(protocol="intermediary-last")


def test_seller_first_needs_one_intermediary():
    """Seller-first is about a monopolist intermediary: competition(2) is refused."""
    with pytest.raises(InputError, match="one intermediary"):
        MarketModel(("uniform:0,1", "uniform:0,1"), demand=competition(2))


def test_demand_graph_and_bidders_must_agree():
    with pytest.raises(InputError, match=r"3 buyers.*2 bidder"):
        MarketModel(("uniform:0,1", "uniform:0,1"), demand=monopsony(3))


@pytest.mark.parametrize("seller", ["vickrey", object(), [0.4]], ids=["str", "object", "list"])
def test_bad_seller_names_what_is_accepted(seller):
    with pytest.raises(InputError) as info:
        MarketModel(seller=seller)
    for accepted in ("a price", "a mechanism", "a Menu", "choose(agent)"):
        assert accepted in str(info.value)


def test_negative_price_seller_is_refused():
    with pytest.raises(InputError, match=">= 0"):
        MarketModel(seller=-0.5)


# ------------------------------------------------------------------------- message log
def test_message_log_columns_and_rounds():
    """message_log(): one row per message, columns round, kind, sender, recipient, amount, detail."""
    model = MarketModel(rng=6)
    assert list(model.message_log().columns) == list(LOG_COLUMNS)
    run(model, 4)
    log = model.message_log()
    assert list(log.columns) == ["round", "kind", "sender", "recipient", "amount", "detail"]
    assert sorted(set(log["round"])) == [0, 1, 2, 3]
    assert (log.groupby("round")["kind"].first() == "Commit").all()
    last = log[log["round"] == 3]
    assert list(last["kind"]) == kinds(model.last.messages)
    bids = last[last["kind"] == "Bid"]
    np.testing.assert_array_equal(bids["amount"].to_numpy(float), model.last.values)
