"""Fixtures for the cell-engine tests: loaded technologies (parsed once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from twin.params import Technology, load_technology


@pytest.fixture(scope="session")
def hal275(models_dir: Path) -> Technology:
    return load_technology(models_dir / "hal275.toml")
