"""The co-optimiser's package imports its solver stack (linopy, xarray: about a second) only when it is used.

Every ``twin`` command registers ``twin optimise`` by importing ``twin.optimise.cli``, which imports the package;
an eager ``twin/optimise/__init__.py`` made ``twin --help`` take 1.3 s and every ``twin run`` pay the same.
Each check runs in a fresh interpreter, so what this test session imported does not count.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

import twin.optimise


def _imports_after(code: str) -> set[str]:
    probe = f"import sys\n{code}\nprint(' '.join(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120)
    return set(done.stdout.split())


def test_building_the_command_line_does_not_import_the_solver_stack() -> None:
    loaded = _imports_after("from twin.cli import _parser\n_parser()")
    assert "twin.optimise.cli" in loaded, "the parser must still register `twin optimise`"
    assert not {"linopy", "xarray", "twin.optimise.milp"} & loaded


def test_the_package_names_resolve_on_first_use() -> None:
    from twin.optimise.loop import optimise
    from twin.optimise.milp import InfeasibleError

    assert twin.optimise.optimise is optimise
    assert twin.optimise.InfeasibleError is InfeasibleError
    for name in twin.optimise.__all__:
        assert getattr(twin.optimise, name) is not None


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        twin.optimise.no_such_name  # noqa: B018
