"""Agora inside a researcher's own Mesa project, laid out like Mesa's examples.

The project has its own ``agents.py``, ``model.py``, ``app.py``, ``market.py`` and an
``experiments/`` package, the names Agora's folders have; from that folder it imports
``agora``, subclasses an Agora agent, builds and steps a model, and runs ``agora solve``.
Nothing shadows anything, because Agora installs one import package, ``agora``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

AGORA = Path(sys.executable).with_name("agora")

PROJECT = {
    "agents.py": '''
        """The project's own agents: a buyer that counts the rounds it won."""
        from agora.agents import Buyer


        class CountingBuyer(Buyer):
            def __init__(self, model, distribution, index):
                super().__init__(model, distribution, index)
                self.wins = 0

            def settle(self, received, paid):
                super().settle(received, paid)
                self.wins += received > 0
        ''',
    "market.py": '''
        """The project's own market.py: the bidders of its study."""
        BIDDERS = ["uniform:0,1", "uniform:0,1", "exponential:1"]
        ''',
    "experiments/__init__.py": '''
        """The project's own experiments package."""
        STUDY = "counting buyers"
        ''',
    "model.py": '''
        """The project's model: Agora's seller-first market with the project's buyers."""
        import json

        import agora
        from agora.models.market_model import MarketModel

        import experiments
        import market
        from agents import CountingBuyer


        class StudyModel(MarketModel):
            buyer_class = CountingBuyer


        if __name__ == "__main__":
            model = StudyModel(market.BIDDERS, rng=3)
            for _ in range(200):
                model.step()
            rounds = model.datacollector.get_model_vars_dataframe()
            per_buyer = model.datacollector.get_agenttype_vars_dataframe(CountingBuyer)
            print(json.dumps({
                "agora": agora.__version__, "study": experiments.STUDY,
                "buyers": [type(b).__name__ for b in model.buyers],
                "wins": sum(b.wins for b in model.buyers), "sales": int(rounds["sale"].sum()),
                "per_buyer_rows": len(per_buyer), "seller_price": float(rounds["seller_price"].iloc[0]),
                "exact_price": agora.solve_seller_first(market.BIDDERS).seller_price,
            }))
        ''',
    "app.py": '''
        """The project's app.py, as in Mesa's examples (not served here)."""
        from model import StudyModel

        page = StudyModel
        ''',
}


@pytest.fixture
def project(tmp_path) -> Path:
    for name, text in PROJECT.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    return tmp_path


def test_a_mesa_project_uses_agora_without_collisions(project):
    out = subprocess.run([sys.executable, "model.py"], cwd=project, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert got["study"] == "counting buyers"
    assert got["buyers"] == ["CountingBuyer"] * 3
    assert got["wins"] == got["sales"] > 0            # each sale has exactly one winner
    assert got["per_buyer_rows"] == 3 * 200
    assert got["seller_price"] == pytest.approx(got["exact_price"], rel=1e-9)


def test_app_imports_the_projects_model(project):
    out = subprocess.run([sys.executable, "-c", "import app; print(app.page.__mro__[1].__name__)"],
                         cwd=project, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "MarketModel"


def test_the_command_line_runs_from_the_project(project):
    out = subprocess.run([str(AGORA), "solve", "seller-first", "--bidder", "uniform:0,1", "--json"],
                         cwd=project, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["seller_price"] == pytest.approx(0.5, abs=1e-9)
