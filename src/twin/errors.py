"""The twin's exception hierarchy.

Every user error (a bad model or scenario file, an out-of-range value, a malformed payload, a bad API
query) is raised as a subclass of :class:`TwinError` whose message names the file, the field, the value and
what would be valid. The command line prints that message and exits non-zero; it never shows a traceback
for a :class:`TwinError`.
"""

from __future__ import annotations


class TwinError(Exception):
    """Base class of every error the twin raises on purpose."""


class ModelError(TwinError):
    """A model (parameter) file or parameter value is invalid."""


class ScenarioError(TwinError):
    """A scenario or sweep file is invalid."""


class SimulationError(TwinError):
    """The simulation was asked to do something impossible (bad state, bad inputs)."""


class TelemetryError(TwinError):
    """A telemetry message or configuration is invalid."""


class StoreError(TwinError):
    """The time-series store rejected a request."""


class StoreUnavailableError(StoreError):
    """The store could not be reached: its server is down, restarting or cut off. Nothing was wrong with the
    request; the same request may succeed later (the API answers 503, the telemetry sink holds and retries)."""


def field_error(cls: type[TwinError], source: str, field: str, value: object, valid: str) -> TwinError:
    """Build an error that names where the bad value came from and what would be valid.

    >>> str(field_error(ModelError, "models/hal275.toml", "cell.anode_count", 0, "an integer in [1, 80]"))
    'models/hal275.toml: cell.anode_count = 0 is invalid; expected an integer in [1, 80]'
    """
    return cls(f"{source}: {field} = {value!r} is invalid; expected {valid}")
