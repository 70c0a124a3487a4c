"""Parameter sets: schema tables and validated, immutable technology objects."""

from twin.params.schema import ParamSpec, technology_schema
from twin.params.technology import Technology, load_technology, technology_from_dict

__all__ = ["ParamSpec", "Technology", "load_technology", "technology_from_dict", "technology_schema"]
