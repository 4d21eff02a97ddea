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
