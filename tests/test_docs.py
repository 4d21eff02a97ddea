"""Every Python example in README.md and docs/*.md runs and prints what the page says it prints.

Blocks of one page run in order in one namespace; lines starting with ``# `` in a block
are the output that block must print.
"""

import contextlib
import io
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _blocks(page: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S)


def _expected_output(block: str) -> str:
    return "\n".join(line[2:] for line in block.splitlines() if line.startswith("# "))


def test_readme_has_examples():
    assert len(_blocks(ROOT / "README.md")) >= 3


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_page_examples_run_in_order(page):
    namespace: dict = {}
    for block in _blocks(page):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(block, str(page), "exec"), namespace)
        expected = _expected_output(block)
        if expected:
            assert out.getvalue().strip() == expected, block
