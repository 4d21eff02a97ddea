"""RoundCollector gives Mesa's DataCollector tables exactly: the series, the buyers' records, the message log."""

import mesa
import pytest

from agora.agents import Buyer
from agora.market.single_item.seller_mechanisms import Menu, SecondPriceAuction
from agora.models.market_model import MarketModel
from agora.models.round_collector import RoundCollector
from agora.protocols.messages import LOG_COLUMNS

SERIES = ("seller_price", "intermediary_price", "seller_revenue", "intermediary_revenue", "total_revenue",
          "welfare", "sale", "winner")


class MesaCollected(MarketModel):
    """The same market recorded by Mesa's own DataCollector, row by row."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.datacollector = mesa.DataCollector(
            model_reporters={name: (lambda m, name=name: getattr(m.last, name)) for name in SERIES},
            agenttype_reporters={Buyer: {"value": "value", "payoff": "payoff"}},
            tables={"messages": list(LOG_COLUMNS)})


@pytest.mark.parametrize("market", [
    dict(bidders=["uniform:0,1", "exponential:1", "pareto:0.5,1,20"], seller=0.5),
    dict(bidders=["point:1", "point:1", "uniform:0,2"]),
    dict(bidders=["uniform:0,1", "uniform:0,2"], seller=Menu.of([(0.5, 0.2), (1.0, 0.6)])),
    dict(bidders=["uniform:0,1", "exponential:1"], protocol="intermediary-first"),
    dict(bidders=["uniform:0,1", "exponential:1"], protocol="simultaneous"),
    dict(bidders=["uniform:0,1"] * 4 + ["exponential:1"] * 2, seller=SecondPriceAuction(0.3)),
])
def test_round_collector_equals_mesa_data_collector(market):
    """120 rounds, read half way and at the end (reading flushes; later rounds still land in order)."""
    ours, mesas = MarketModel(**market, rng=4), MesaCollected(**market, rng=4)
    assert isinstance(ours.datacollector, RoundCollector)
    for half in range(2):
        for _ in range(60):
            ours.step()
            mesas.step()
        a, b = ours.datacollector, mesas.datacollector
        assert a.get_model_vars_dataframe().equals(b.get_model_vars_dataframe())
        assert a.get_agenttype_vars_dataframe(Buyer).equals(b.get_agenttype_vars_dataframe(Buyer))
        assert ours.message_log().equals(mesas.message_log())
        assert a.tables == b.tables and a.model_vars == b.model_vars
        assert len(ours.message_log()) > 60 * (half + 1) * 3


def test_series_and_log_read_apart_equal_mesa_and_the_series_do_not_build_the_log(monkeypatch):
    """The series read at round 40, the log at 80, both at 120: each equals Mesa's, and reading the
    series alone never builds the message log."""
    from agora.models import round_collector

    built = []
    monkeypatch.setattr(round_collector, "log_columns",
                        lambda messages, columns=round_collector.log_columns: built.append(1) or columns(messages))
    market = dict(bidders=["uniform:0,1", "exponential:1", "pareto:0.5,1,20"], seller=0.5)
    ours, mesas = MarketModel(**market, rng=7), MesaCollected(**market, rng=7)
    for rounds, read in ((40, "series"), (40, "log"), (40, "both")):
        for _ in range(rounds):
            ours.step()
            mesas.step()
        a, b = ours.datacollector, mesas.datacollector
        if read in ("series", "both"):
            assert a.get_model_vars_dataframe().equals(b.get_model_vars_dataframe())
            assert built == ([] if read == "series" else [1])
        if read in ("log", "both"):
            assert ours.message_log().equals(mesas.message_log())
    assert a.tables == b.tables and a.model_vars == b.model_vars and len(built) == 2
