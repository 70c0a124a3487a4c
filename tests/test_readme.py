"""The README's Python example runs as written (issue 2: "a public Python API, documented in the README with a
runnable example")."""

from __future__ import annotations

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_python_example_runs(capsys):
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, "README has no Python example"
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        exec(compile(blocks[0], "README.md", "exec"), {})
    finally:
        os.chdir(cwd)
    printed = capsys.readouterr().out.split()
    volts, temp = float(printed[0]), float(printed[1])
    assert 3.9 < volts < 4.5  # a HAL275 cell at 300 kA (calibrated to 4.20 V)
    assert 940 < temp < 975
