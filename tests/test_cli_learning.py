"""``agora solve stochastic-stability`` on the constant-value game of Theorem 5.1."""

import json

from tests.cli_run import run_cli


def test_equal_split_with_equal_samples(capsys):
    code, out, _ = run_cli(capsys, "solve", "stochastic-stability", "--bidder", "point:1",
                           "--grid", "11", "--sample", "30", "--json")
    d = json.loads(out)
    assert code == 0 and d["stable"] == [{"seller_price": 0.5, "intermediary_price": 0.5}]
    assert len(d["conventions"]) == 9 and len(d["resistances"]) == 9
    exits = [min(x for x in row if x > 0) for row in d["resistances"]]
    assert exits == [3, 4, 5, 5, 6, 5, 5, 4, 3]  # min(ceil(30/i), ceil(30/(10-i))), i = 1..9
    assert "arborescence" in d["method"]


def test_larger_seller_sample_gives_seller_more(capsys):
    code, out, _ = run_cli(capsys, "solve", "stochastic-stability", "--bidder", "point:1",
                           "--sample", "40", "--sample-intermediary", "20", "--json")
    (stable,) = json.loads(out)["stable"]
    assert code == 0 and abs(stable["seller_price"] - 0.7) < 1e-12  # Nash bargaining: 2/3


def test_exact_chain_with_memory(capsys):
    code, out, _ = run_cli(capsys, "solve", "stochastic-stability", "--bidder", "point:1",
                           "--grid", "4", "--sample", "1", "--memory", "2", "--json")
    d = json.loads(out)
    assert code == 0 and "histories" in d["method"]
    assert sorted(s["seller_price"] for s in d["stable"]) == [1 / 3, 2 / 3]


def test_table_output(capsys):
    code, out, _ = run_cli(capsys, "solve", "stochastic-stability", "--bidder", "point:1")
    assert code == 0 and "(p_s, p_I) = (0.5, 0.5)" in out and "method:" in out


def test_bad_input_exit_2(capsys):
    code, out, err = run_cli(capsys, "solve", "stochastic-stability", "--bidder", "point:1",
                             "--memory", "3")
    assert code == 2 and out == "" and "memory 3" in err and len(err.strip().splitlines()) == 1
    code, out, err = run_cli(capsys, "solve", "stochastic-stability", "--bidder", "point:1",
                             "--sample", "0")
    assert code == 2 and out == ""
