"""What a weight file must say besides its tensors, to reproduce its outputs.

Folklore that silently changes outputs lives here as data: BatchNorm epsilon,
where each stage strides, how the stem pools, whether class 0 is background,
the input convention (colour order, mean, std). `SOURCE_CONVENTIONS` records
what each known implementation uses; readers start from it and the canonical
file stores the result, so nothing is guessed later.
"""

import dataclasses
import json
import math
from typing import Optional, Tuple

from slimcompat.errors import SlimcompatError
from slimcompat.nets.arch import STRIDE_PLACEMENTS, ResNet, architecture

__all__ = ["InputConvention", "Metadata", "SOURCE_CONVENTIONS", "STEM_POOLS", "INPUTS"]

STEM_POOLS = {
    "same": "3x3/2 max pool, SAME padding (slim)",
    "pad1": "zero-pad 1 then 3x3/2 max pool, VALID (keras.applications since 2019)",
    "valid": "3x3/2 max pool, no padding (the Keras-1 ResNet50 as published)",
}


@dataclasses.dataclass(frozen=True)
class InputConvention:
    """Model input = (pixel - mean) / std, pixels 0..255 in `color` channel order."""

    color: str
    mean: Tuple[float, float, float]
    std: Tuple[float, float, float]

    def __post_init__(self):
        if self.color not in ("RGB", "BGR"):
            raise SlimcompatError(f"input colour order must be RGB or BGR, found {self.color!r}")
        if len(self.mean) != 3 or len(self.std) != 3 or not all(s > 0 for s in self.std):
            raise SlimcompatError(f"input mean and std need 3 values each, std > 0; found {self.mean}, {self.std}")

    def flipped(self):
        """The same convention for weights whose first conv had its colour channels reversed."""
        return InputConvention("BGR" if self.color == "RGB" else "RGB", self.mean[::-1], self.std[::-1])


INPUTS = {
    "inception": InputConvention("RGB", (127.5,) * 3, (127.5,) * 3),      # slim v2, keras V2 ('tf')
    "vgg": InputConvention("RGB", (123.68, 116.78, 103.94), (1.0,) * 3),  # slim v1
    "caffe": InputConvention("BGR", (103.939, 116.779, 123.68), (1.0,) * 3),  # keras ResNet50
}


@dataclasses.dataclass(frozen=True)
class Metadata:
    """Everything besides the tensors that decides a model's outputs."""

    architecture: str
    num_classes: Optional[int]
    background_class: bool
    bn_epsilon: float
    stride_placement: str
    stem_pool: str
    conv_bias: bool
    input: InputConvention
    source_kind: str = ""
    source_file: str = ""
    source_sha256: str = ""

    def __post_init__(self):
        architecture(self.architecture)
        if self.num_classes is not None and (not isinstance(self.num_classes, int) or self.num_classes < 1):
            raise SlimcompatError(f"num_classes must be a positive integer or absent, found {self.num_classes!r}")
        if not (isinstance(self.bn_epsilon, float) and 0 < self.bn_epsilon < 1 and math.isfinite(self.bn_epsilon)):
            raise SlimcompatError(f"bn_epsilon must be a float in (0, 1), found {self.bn_epsilon!r}")
        if self.stride_placement not in STRIDE_PLACEMENTS:
            raise SlimcompatError(f"stride_placement must be one of {', '.join(STRIDE_PLACEMENTS)}, "
                                  f"found {self.stride_placement!r}")
        if self.stem_pool not in STEM_POOLS:
            raise SlimcompatError(f"stem_pool must be one of {', '.join(STEM_POOLS)}, found {self.stem_pool!r}")
        if self.background_class and not self.num_classes:
            raise SlimcompatError("background_class needs a classifier (num_classes)")

    @property
    def arch(self) -> ResNet:
        return architecture(self.architecture, conv_bias=self.conv_bias)

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)

    def to_attrs(self):
        """Flat {name: str | int | float | bool} for HDF5 attributes."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "input"}
        out["num_classes"] = 0 if self.num_classes is None else self.num_classes
        out["input"] = json.dumps(dataclasses.asdict(self.input))
        return out

    @classmethod
    def from_attrs(cls, attrs):
        """Inverse of to_attrs; raises SlimcompatError naming the bad field."""
        values = {}
        for f in dataclasses.fields(cls):
            if f.name not in attrs:
                if f.default is not dataclasses.MISSING:
                    continue
                raise SlimcompatError(f"metadata field {f.name!r} is missing")
            value = attrs[f.name]
            if hasattr(value, "item"):
                value = value.item()
            if isinstance(value, bytes):
                value = value.decode()
            values[f.name] = value
        try:
            spec = json.loads(values["input"])
            values["input"] = InputConvention(spec["color"], tuple(spec["mean"]), tuple(spec["std"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise SlimcompatError(f"metadata field 'input' is not a valid input convention: {exc}") from None
        values["num_classes"] = int(values["num_classes"]) or None
        values["background_class"] = bool(values["background_class"])
        values["conv_bias"] = bool(values["conv_bias"])
        values["bn_epsilon"] = float(values["bn_epsilon"])
        return cls(**values)


# What each source implementation uses; readers start from these.
SOURCE_CONVENTIONS = {
    "slim:resnet_v1": dict(num_classes=1000, background_class=False, bn_epsilon=1e-5,
                           stride_placement="last_unit_3x3", stem_pool="same", conv_bias=False,
                           input=INPUTS["vgg"]),
    "slim:resnet_v2": dict(num_classes=1001, background_class=True, bn_epsilon=1e-5,
                           stride_placement="last_unit_3x3", stem_pool="same", conv_bias=False,
                           input=INPUTS["inception"]),
    "keras1:resnet_v1": dict(num_classes=1000, background_class=False, bn_epsilon=1e-3,
                             stride_placement="first_unit_1x1", stem_pool="valid", conv_bias=True,
                             input=INPUTS["caffe"]),
    "keras:resnet_v1": dict(num_classes=1000, background_class=False, bn_epsilon=1.001e-5,
                            stride_placement="first_unit_1x1", stem_pool="pad1", conv_bias=True,
                            input=INPUTS["caffe"]),
    "keras:resnet_v2": dict(num_classes=1000, background_class=False, bn_epsilon=1.001e-5,
                            stride_placement="last_unit_3x3", stem_pool="pad1", conv_bias=False,
                            input=INPUTS["inception"]),
}
