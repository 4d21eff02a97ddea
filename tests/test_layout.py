"""The package's house rules: one namespace, imports that run one way, a command line that starts at once.

Layers (lowest first): agora.market, agora.protocols, agora.agents, agora.models,
agora.experiments. A module may import its own layer and the layers below it, never
one above; inside agora.market the modules every paper shares import no paper's
subpackage.
"""

from __future__ import annotations

import ast
import doctest
import json
import subprocess
import sys
from pathlib import Path

import pytest
from cli_run import run_cli

import agora

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("market", "protocols", "agents", "models", "experiments")
PAPERS = ("single_item", "k_items", "group", "robust", "learning")


def _modules(folder: str, root: Path = ROOT):
    return sorted((root / folder).rglob("*.py"))


def _imports(path: Path) -> list[str]:
    """Every module ``path`` imports, at any depth (function-local imports included)."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names.extend(a.name for a in node.names)
    return names


def _violations(root: Path = ROOT) -> list[str]:
    rank = {layer: i for i, layer in enumerate(LAYERS)}
    found = []
    for layer in LAYERS:
        for path in _modules(layer, root):
            shared = layer == "market" and path.parent == root / "market"
            for name in _imports(path):
                parts = name.split(".")
                if parts[0] in LAYERS:
                    found.append(f"{path.relative_to(root)} imports the old top-level name {name}")
                if parts[0] != "agora" or len(parts) < 2 or parts[1] not in rank:
                    continue
                if rank[parts[1]] > rank[layer]:
                    found.append(f"{path.relative_to(root)} ({layer}) imports {name}")
                if shared and parts[1] == "market" and len(parts) > 2 and parts[2] in PAPERS:
                    found.append(f"{path.relative_to(root)} (shared by every paper) imports {name}")
    return found


def test_imports_run_one_way():
    assert _violations() == []


def test_the_walk_sees_each_kind_of_violation(tmp_path):
    """The checker itself, on a small tree with one import of each forbidden kind."""
    for layer in LAYERS:
        (tmp_path / layer).mkdir()
    (tmp_path / "market" / "single_item").mkdir()
    (tmp_path / "market" / "up.py").write_text("def f():\n    from agora.models.market_model import MarketModel\n")
    (tmp_path / "market" / "shared.py").write_text("import agora.market.group.solver\n")
    (tmp_path / "market" / "single_item" / "ok.py").write_text("from agora.market.distributions import parse_spec\n")
    (tmp_path / "agents" / "old.py").write_text("from market.distributions import parse_spec\n")
    (tmp_path / "experiments" / "ok.py").write_text("from agora.models.market_model import MarketModel\n")
    assert sorted(_violations(tmp_path)) == [
        "agents/old.py imports the old top-level name market.distributions",
        "market/shared.py (shared by every paper) imports agora.market.group.solver",
        "market/up.py (market) imports agora.models.market_model",
    ]


def test_no_sys_path_manipulation():
    offenders = [str(p.relative_to(ROOT)) for folder in (*LAYERS, "agora", "tests", "benchmarks")
                 for p in _modules(folder) if p.name != Path(__file__).name and "sys.path" in p.read_text()]
    assert offenders == []


def test_every_folder_is_one_namespace():
    for layer in LAYERS:
        module = __import__(f"agora.{layer}", fromlist=["_"])
        assert Path(module.__file__).parent == ROOT / layer


def test_top_level_names_and_doctest():
    assert agora.__version__ and isinstance(agora.__version__, str)
    for name in agora.__all__:
        assert getattr(agora, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        agora.nothing  # noqa: B018
    assert doctest.testmod(agora).failed == 0


def test_names_for_the_command_line_match_their_registries():
    from agora.experiments.dashboard import PROTOCOLS
    from agora.experiments.dashboard.views import VIEWS
    from agora.market.k_items.utility import utility_model
    from agora.market.names import RIGHT_AUCTION_NAMES, UTILITY_MODELS
    from agora.market.single_item.right_auctions import RIGHT_AUCTIONS

    assert RIGHT_AUCTION_NAMES == tuple(RIGHT_AUCTIONS)
    assert PROTOCOLS == tuple(VIEWS)
    assert [type(utility_model(m, "uniform:0,1")).__name__ for m in UTILITY_MODELS]


HEAVY = ("scipy", "mesa", "solara", "dask", "distributed", "matplotlib", "pyarrow", "pandas", "nashpy", "networkx")


def _loaded_after(code: str) -> dict:
    probe = (f"import sys\n{code}\nimport json\n"
             f"print(json.dumps({{m: m in sys.modules for m in {HEAVY + ('scipy.stats',)!r}}}))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_agora_and_help_load_nothing_heavy():
    assert not any(_loaded_after("import agora").values())
    help_run = "from agora.experiments.cli import build_parser\nbuild_parser().format_help()"
    assert not any(_loaded_after(help_run).values())


def test_solve_seller_first_loads_only_what_it_uses():
    loaded = _loaded_after("from agora.experiments.cli import main\n"
                           "main(['solve', 'seller-first', '--bidder', 'uniform:0,1', '--json'])")
    assert loaded["scipy"]
    assert [m for m, on in loaded.items() if on and m != "scipy"] == []


def _main_loads(argv: list[str]) -> dict:
    """What ``agora ARGV`` (its ``main``, in a fresh interpreter) has loaded once it returns or exits."""
    return _loaded_after("from agora.experiments.cli import main\n"
                         f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass")


def test_agora_help_does_not_load_scipy():
    for argv in (["--help"], ["solve", "--help"], ["solve", "seller-first", "--help"]):
        assert not any(_main_loads(argv).values()), argv


@pytest.mark.parametrize("argv", [
    ["solve", "seller-first", "--bidder", "bogus:1"],
    ["solve", "seller-first", "--bidder", "uniform:0,1", "--bidder", "uniform:0,1e400"],
    ["solve", "intermediary-first", "--bidder", "pareto:0,1"],
    ["solve", "simultaneous", "--bidder", "uniform:1,0"],
    ["solve", "simultaneous", "--bidder", "uniform:0,1", "--mixed", "1"],
    ["simulate", "seller-first", "--bidder", "exponential:-1"],
    ["plot", "seller-first", "--bidder", "nope", "--out", "x.png"],
], ids=["unknown law", "out of range", "infinite mean", "empty support", "one mixed price", "simulate", "plot"])
def test_bad_input_is_refused_before_scipy_loads(argv, capsys):
    """Input checks run before any solver is imported: a bad value costs no scipy import."""
    assert not _main_loads(argv)["scipy"]
    code, out, err = run_cli(capsys, *argv)
    assert (code, out) == (2, "") and err.startswith("agora") and err.count("\n") == 1, err
