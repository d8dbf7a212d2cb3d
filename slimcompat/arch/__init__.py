"""The description layer: every network slimcompat knows, as data that every other package reads.

- `describe("resnet_v1_18")`, `describe("resnext50_32x4d")`, `describe("inception10",
  activation="elu")`: a description (a frozen dataclass of its family's knobs).
- `description.plan()`: the forward pass as framework-neutral ops (`ops`);
  `layers()`, `tensors()`, `parameter_count()`, `endpoint_names()` follow from it.
- `conventions`: what each source implementation does by habit; `schemes`:
  how each names the canonical tensors and endpoints.

This package imports nothing of slimcompat but `slimcompat.errors`; the
weight formats, builders, parity and the CLI sit on it.
"""

from slimcompat.arch.conventions import INPUTS, SOURCES, InputConvention
from slimcompat.arch.families.inception10 import Inception10
from slimcompat.arch.families.resnet import DEPTHS, STEM_POOLS, STRIDE_PLACEMENTS, ResNet
from slimcompat.arch.registry import FAMILIES, RECORDS, all_descriptions, describe, from_dict, from_json, parse_knobs
from slimcompat.arch.schemes import SCHEMES, endpoint_scheme, scheme
from slimcompat.arch.templates import UnknownNameError

__all__ = ["describe", "from_dict", "from_json", "parse_knobs", "all_descriptions", "ResNet", "Inception10",
           "FAMILIES", "RECORDS", "DEPTHS", "STEM_POOLS", "STRIDE_PLACEMENTS", "InputConvention", "INPUTS", "SOURCES",
           "SCHEMES", "scheme", "endpoint_scheme", "UnknownNameError"]
