"""Fixtures shared across the test tree (kept small and generic)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def models_dir() -> Path:
    """The repository's ``models/`` directory (technology files)."""
    return REPO / "models"
