"""Fixtures for the cell-engine tests: loaded technologies (parsed once per session), a kernel-call counter."""

from __future__ import annotations

from pathlib import Path

import pytest

from twin.params import Technology, load_technology


@pytest.fixture(scope="session")
def hal275(models_dir: Path) -> Technology:
    return load_technology(models_dir / "hal275.toml")


@pytest.fixture
def kernel_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One entry per call of the kernel by the Potline driver (the kernel itself runs)."""
    from twin.cell import potline as driver

    calls: list[int] = []
    kernel = driver.advance_kernel

    def counted(*args):
        calls.append(1)
        return kernel(*args)

    monkeypatch.setattr(driver, "advance_kernel", counted)
    return calls
