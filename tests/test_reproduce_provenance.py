"""Every report row says where its expected value comes from; bound rows show their slack."""

import ast
import json
from pathlib import Path

import pytest

from agora.experiments.reproduce.report import PROVENANCE, Check, Report, Section

REPRODUCE = Path(__file__).resolve().parents[1] / "experiments" / "reproduce"
FIELDS = ("result", "instance", "quantity", "paper", "measured", "holds", "tolerance", "provenance", "source",
          "sense")


def _check_calls():
    for path in sorted(REPRODUCE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Check":
                yield path.name, node


def _argument(node: ast.Call, name: str):
    given = {FIELDS[i]: a for i, a in enumerate(node.args)} | {k.arg: k.value for k in node.keywords}
    return given.get(name)


def test_every_check_in_every_report_names_a_provenance_and_a_source():
    calls = list(_check_calls())
    assert len(calls) > 50  # the walk finds the reports' rows
    missing = [(name, node.lineno) for name, node in calls
               if _argument(node, "provenance") is None or _argument(node, "source") is None]
    assert not missing, missing
    literal = [(name, node.lineno, _argument(node, "provenance").value) for name, node in calls
               if isinstance(_argument(node, "provenance"), ast.Constant)
               and _argument(node, "provenance").value not in PROVENANCE]
    assert not literal, literal


def test_no_row_passes_a_literal_verdict():
    """A row whose verdict is the constant True cannot fail."""
    literal = [(name, node.lineno) for name, node in _check_calls()
               if isinstance(_argument(node, "holds"), ast.Constant)]
    assert not literal, literal


def test_no_row_compares_a_value_with_itself():
    """The expected and measured arguments are never the same expression."""
    same = [(name, node.lineno) for name, node in _check_calls()
            if ast.dump(_argument(node, "paper")) == ast.dump(_argument(node, "measured"))]
    assert not same, same


@pytest.mark.parametrize("kwargs, message", [
    ({}, "provenance ''"),
    ({"provenance": "paper"}, "provenance 'paper'"),
    ({"provenance": "bound"}, "no source"),
    ({"provenance": "bound", "source": "Theorem 1", "sense": ">"}, "sense '>'"),
])
def test_a_row_without_a_valid_provenance_source_or_sense_is_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Check("Theorem 1", "inst", "q", 1.0, 1.0, True, "", **kwargs)


def test_slack_follows_the_sense_of_the_bound():
    lower = Check("T", "i", "q", 0.5, 0.6, True, "", "bound", "T", ">=")
    upper = Check("T", "i", "q", 0.5, 0.4, True, "", "bound", "T", "<=")
    broken = Check("T", "i", "q", 0.5, 0.4, False, "", "bound", "T", ">=")
    unstated = Check("T", "i", "q", 0.5, 0.4, True, "", "bound", "T")
    assert lower.slack == pytest.approx(1.2) and upper.slack == pytest.approx(1.25)
    assert broken.slack == pytest.approx(0.8)  # a failing bound shows slack below 1
    assert unstated.slack == pytest.approx(1.25)
    assert Check("T", "i", "q", 0.5, 0.6, True, "", "paper-number", "p. 3").slack is None
    assert Check("T", "i", "q", "> 0", 0.6, True, "", "bound", "T").slack is None


def test_headline_counts_each_kind_and_the_tightest_slack(tmp_path):
    report = Report("t", "papers/x.txt", [Section("s", "text", [
        Check("T1", "i", "q", 1.0, 1.0, True, "", "paper-number", "p. 2"),
        Check("T2", "i", "q", 1.0, 1.0, True, "", "paper-formula", "(3)"),
        Check("T3", "i", "q", 1.0, 1.0, True, "", "paper-formula", "(4)"),
        Check("T4", "i", "q", 0.5, 0.52, True, "", "bound", "Thm 4", ">="),
        Check("T5", "i", "q", 0.5, 0.25, True, "", "bound", "Thm 5", "<="),
        Check("T6", "i", "q", 1.0, 0.5, False, "", "cross-evaluator", "MC")])])
    assert report.headline() == ("5 of 6 checks hold: 1 paper number, 2 paper formulas, 1 cross-evaluator, "
                                 "2 bounds (tightest slack 1.04)")
    report.write(tmp_path)
    text = (tmp_path / "report.md").read_text()
    assert "**5 of 6 checks hold: 1 paper number" in text and "slack 1.04" in text and "**FAILS**" in text
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["headline"] == report.headline()
    assert [c["slack"] for c in results["checks"]][3:5] == [pytest.approx(1.04), pytest.approx(2.0)]
