"""Parameter sets: schema tables and validated, immutable technology and plant objects."""

from twin.params.plant import Component, PlantSpec, PotlineSpec, load_plant
from twin.params.schema import ParamSpec, plant_schema, technology_schema
from twin.params.technology import Technology, load_technology, technology_from_dict

__all__ = [
    "Component",
    "ParamSpec",
    "PlantSpec",
    "PotlineSpec",
    "Technology",
    "load_plant",
    "load_technology",
    "plant_schema",
    "technology_from_dict",
    "technology_schema",
]
