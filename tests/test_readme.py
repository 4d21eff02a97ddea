"""Every Python example in README.md runs and prints what the README says it prints."""

import contextlib
import io
import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def _expected_output(block: str) -> str:
    return "\n".join(line[2:] for line in block.splitlines() if line.startswith("# "))


def test_readme_has_examples():
    assert len(BLOCKS) >= 3


def test_readme_examples_run_in_order():
    namespace: dict = {}
    for block in BLOCKS:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(block, str(README), "exec"), namespace)
        expected = _expected_output(block)
        if expected:
            assert out.getvalue().strip() == expected, block
