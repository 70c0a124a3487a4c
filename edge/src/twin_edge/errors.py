"""Exceptions raised on purpose by the edge package."""

from __future__ import annotations


class EdgeError(Exception):
    """Base class of every error twin_edge raises on purpose."""


class ConfigError(EdgeError):
    """A gateway config or tag-map file is invalid; the message names file, field, value and what is valid."""

    @classmethod
    def field(cls, source: str, field: str, value: object, valid: str) -> ConfigError:
        return cls(f"{source}: {field} = {value!r} is invalid; expected {valid}")


class SparkplugError(EdgeError):
    """A Sparkplug topic or payload violates the specification."""


class MalformedPayloadError(SparkplugError):
    """A payload could not be decoded as a Sparkplug B protobuf."""


class TopicError(SparkplugError):
    """A topic is not a valid Sparkplug B topic."""
