"""Selection studies through the experiments runner: the same endings whatever the executor and the
number of workers, the same as the studies run in this process, and specs that run with ``agora run``."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from agora.experiments.markets import SpecError
from agora.experiments.runner import make_executor
from agora.experiments.selection import run_selection, study_spec
from agora.experiments.spec import load_spec, parse_spec_table
from agora.market.learning.k_selection import KItemMarket, KStudy, run_k_study
from agora.market.learning.rules import BestResponse, DemandLearning, Hedge, RegretMatching
from agora.market.learning.selection import Market, Study, run_study
from tests.cli_run import run_cli

SPECS = Path(__file__).resolve().parents[1] / "experiments" / "specs"
STUDY = Study(Market("two uniform", ("uniform:0,1", "uniform:0,2"), 11), DemandLearning(0.2, 0.3), Hedge(2.0),
              starts_per_side=3, rounds=120, window=40, seed=7)
K_STUDY = KStudy(KItemMarket("k < n", "uniform:0,1", (2, 2), 2, 11), RegretMatching(), BestResponse(0.5),
                 starts_per_side=2, rounds=120, window=40, seed=8)


def test_same_seed_same_endings_on_every_executor_and_worker_count():
    reference = {s: (run_study(s) if isinstance(s, Study) else run_k_study(s)).table() for s in (STUDY, K_STUDY)}
    for name, workers in (("serial", None), ("process", 1), ("process", 2), ("dask", 2)):
        with make_executor(name, workers) as pool:
            for study, table in reference.items():
                pd.testing.assert_frame_equal(run_selection(study, pool.executor).table(), table, check_exact=True)
    other = run_k_study(KStudy(K_STUDY.market, RegretMatching(), BestResponse(0.5), starts_per_side=2,
                               rounds=120, window=40, seed=9)).table()
    assert not other.equals(reference[K_STUDY])  # the seed matters


def test_a_study_is_a_sweep_over_its_starts_with_one_seed_per_start():
    spec = study_spec(STUDY)
    assert spec.runs == 9 and spec.seeds.base == STUDY.seed
    assert [(t.params["start_seller"], t.params["start_intermediary"]) for t in spec.tasks()] == \
        [t.start for t in STUDY.tasks()]
    assert [t.rng().bit_generator.seed_seq.spawn_key for t in spec.tasks()] == \
        [t.seq.spawn_key for t in STUDY.tasks()]


def test_agora_run_on_the_basin_spec_gives_the_studys_endings(tmp_path, capsys):
    """The shipped spec, run by the command line, ends where the study with the same seed ends."""
    spec = load_spec(SPECS / "selection-basins.toml")
    code, out, err = run_cli(capsys, "run", str(SPECS / "selection-basins.toml"), "--out", str(tmp_path / "r"),
                             "--executor", "serial")
    assert code == 0, err
    runs = pd.read_parquet(tmp_path / "r" / "runs.parquet")
    market = Market("constant value", ("point:1",), 21)
    study = Study(market, BestResponse(0.5), starts_per_side=5, rounds=spec.steps, window=100, seed=spec.seeds.base)
    expected = run_study(study).table().drop(columns="seller_share")
    pd.testing.assert_frame_equal(runs[list(expected.columns)], expected, check_exact=True)
    assert set(runs["outcome"]) == {"equilibrium"}
    steps = pd.read_parquet(tmp_path / "r" / "steps.parquet")
    assert len(steps) == 25 * spec.steps // 10 and {"seller_price", "intermediary_price", "sale"} <= set(steps)


def test_the_k_item_spec_loads_and_names_its_quantities():
    spec = load_spec(SPECS / "selection-k-items.toml")
    assert spec.runs == 27
    task = next(spec.tasks())
    assert task.protocol == "learning-k-items" and task.params["seller"] == {"rule": "hedge", "eta": 5.0,
                                                                            "anchor": 0.9}


@pytest.mark.parametrize("market,needle", [
    ({"seller": {"rule": "tit-for-tat"}}, "market.seller"),
    ({"seller": {"rule": "hedge", "temperature": 1.0}}, "unknown parameter 'temperature'"),
    ({"seller": {"rule": "hedge", "eta": -1.0}}, "eta (learning rate) must be > 0"),
    ({"start_seller": 21}, "market.start_seller"),
])
def test_bad_selection_specs_are_refused_with_one_line(market, needle):
    base = {"protocol": "learning", "bidders": "point:1", "points": 21, "seller": {"rule": "hedge"}}
    with pytest.raises(SpecError) as err:
        parse_spec_table({"steps": 10, "seeds": {"count": 1, "base": 0}, "market": base | market})
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_k_item_spec_refuses_a_seller_start_when_its_price_is_fixed():
    market = {"protocol": "learning-k-items", "distribution": "uniform:0,1", "blocks": [2, 2], "items": 2,
              "seller_price": 0.5, "seller": {"rule": "best-response"}, "start_seller": 3}
    with pytest.raises(SpecError, match="market.start_seller"):
        parse_spec_table({"steps": 10, "seeds": {"count": 1, "base": 0}, "market": market})


def test_reproduce_flags_are_refused_by_reproductions_that_run_in_process(capsys, tmp_path):
    code, out, err = run_cli(capsys, "reproduce", "seller-first", "--executor", "serial", "--out", str(tmp_path / "x"))
    assert code == 2 and "--executor and --workers apply to equilibrium-selection" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "x").exists()


@pytest.mark.parametrize("study", [STUDY, K_STUDY], ids=["pricing game", "k items"])
def test_mesa_agents_through_the_runner_end_where_the_array_dynamics_end(study):
    """evaluator = "abm": the runs are played by Mesa learning agents; on the same seeds they end
    exactly where the array dynamics end (and post the same prices every round)."""
    from agora.experiments.runner import execute

    tasks = list(study_spec(study).tasks())[:4]
    for task in tasks:
        array = execute(task)
        abm = execute(replace(task, params=task.params | {"evaluator": "abm"},
                              record=replace(task.record, steps=True)))
        pd.testing.assert_frame_equal(array.row, abm.row, check_exact=True)
        steps = execute(replace(task, record=replace(task.record, steps=True))).steps
        pd.testing.assert_frame_equal(steps, abm.steps, check_exact=True)
