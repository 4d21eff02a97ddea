"""Checks shared by the tests of whole reproductions."""

from agora.experiments.reproduce import load


def reproduced(name: str, tmp_path, files: set[str], refuted: tuple[str, ...] = ()) -> str:
    """Run the reproduction ``name`` into ``tmp_path / "out"``: the claims that fail are exactly ``refuted``
    (by result, in order), the report, its results and ``files`` are written. Returns the report's text."""
    out = tmp_path / "out"
    report = load(name)(out)
    failed = [c for c in report.checks if not c.holds]
    assert [c.result for c in failed] == list(refuted), failed
    assert {"report.md", "results.json", *files} <= {p.name for p in out.iterdir()}
    return (out / "report.md").read_text()
