"""What each source implementation does by habit: knob presets, input conventions, classes.

Folklore that silently changes outputs lives here as data. A source is a
family of implementations people have weights from (tf_slim, keras.applications,
the Keras-1 ResNet50 release of 2016, torchvision); `SOURCES[source][key]`
holds the knobs it sets on a description and the input convention its
weights expect. Readers start from these; the canonical file stores the
result, so nothing is guessed later.
"""

import dataclasses
import math
from typing import Tuple

from slimcompat.errors import SlimcompatError

__all__ = ["InputConvention", "INPUTS", "SOURCES", "source_preset", "source_input"]


@dataclasses.dataclass(frozen=True)
class InputConvention:
    """Model input = (pixel - mean) / std, pixels 0..255 in `color` channel order."""

    color: str
    mean: Tuple[float, float, float]
    std: Tuple[float, float, float]

    def __post_init__(self):
        if self.color not in ("RGB", "BGR"):
            raise SlimcompatError(f"input colour order must be RGB or BGR, found {self.color!r}")
        for label, values in (("mean", self.mean), ("std", self.std)):
            if (not isinstance(values, (tuple, list)) or len(values) != 3
                    or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                               for v in values)):
                raise SlimcompatError(f"input {label} needs 3 finite numbers, found {values!r}")
        if not all(s > 0 for s in self.std):
            raise SlimcompatError(f"input std must be positive, found {self.std!r}")
        object.__setattr__(self, "mean", tuple(float(v) for v in self.mean))
        object.__setattr__(self, "std", tuple(float(v) for v in self.std))

    def flipped(self):
        """The same convention for weights whose first conv had its colour channels reversed."""
        return InputConvention("BGR" if self.color == "RGB" else "RGB", self.mean[::-1], self.std[::-1])

    def to_dict(self):
        return {"color": self.color, "mean": list(self.mean), "std": list(self.std)}

    @classmethod
    def from_dict(cls, spec):
        if not isinstance(spec, dict) or set(spec) != {"color", "mean", "std"}:
            raise SlimcompatError(f"an input convention is {{color, mean, std}}, found {spec!r}")
        return cls(spec["color"], spec["mean"], spec["std"])


INPUTS = {
    "inception": InputConvention("RGB", (127.5,) * 3, (127.5,) * 3),      # slim v2, keras V2 ('tf')
    "vgg": InputConvention("RGB", (123.68, 116.78, 103.94), (1.0,) * 3),  # slim v1
    "caffe": InputConvention("BGR", (103.939, 116.779, 123.68), (1.0,) * 3),  # keras ResNet50
    "torch": InputConvention("RGB", (123.675, 116.28, 103.53), (58.395, 57.12, 57.375)),  # torchvision
    "unit": InputConvention("RGB", (0.0,) * 3, (255.0,) * 3),            # x / 255 (seed 003's CIFAR)
}

# source: {key: (knobs, input convention name)}; key "resnet_v1", "resnet_v2" or a family.
_SLIM = dict(stem_pool="same", stride_placement="last_unit_3x3", stage_strides=(2, 2, 2, 1), padding="explicit",
             projection="channels",
             bn_epsilon=1e-5, conv_bias=False)
SOURCES = {
    "slim": {
        "resnet_v1": (dict(_SLIM, num_classes=1000, background_class=False), "vgg"),
        "resnet_v2": (dict(_SLIM, num_classes=1001, background_class=True), "inception"),
        "inception10": (dict(), "unit"),
    },
    "keras": {
        "resnet_v1": (dict(stem_pool="pad1", stride_placement="first_unit_1x1", stage_strides=(1, 2, 2, 2), padding="explicit",
                           projection="channels", bn_epsilon=1.001e-5, conv_bias=True, num_classes=1000,
                           background_class=False), "caffe"),
        "resnet_v2": (dict(stem_pool="pad1", stride_placement="last_unit_3x3", stage_strides=(2, 2, 2, 1),
                           padding="explicit",
                           projection="channels", bn_epsilon=1.001e-5, conv_bias=False, num_classes=1000,
                           background_class=False), "inception"),
        "inception10": (dict(), "unit"),
    },
    "keras1": {
        "resnet_v1": (dict(stem_pool="valid", stride_placement="first_unit_1x1", stage_strides=(1, 2, 2, 2), padding="explicit",
                           projection="channels", bn_epsilon=1e-3, conv_bias=True, num_classes=1000,
                           background_class=False), "caffe"),
    },
    "torchvision": {
        "resnet_v1": (dict(stem_pool="pad1", stride_placement="first_unit_3x3", stage_strides=(1, 2, 2, 2), padding="explicit",
                           projection="shape", bn_epsilon=1e-5, conv_bias=False, num_classes=1000,
                           background_class=False), "torch"),
    },
}


def _key(description):
    if description.family == "resnet":
        return "resnet_v2" if description.preact else "resnet_v1"
    return description.family


def source_preset(source, description):
    """The knobs `source` sets on `description` (a dict); SlimcompatError when it has no such network."""
    entry = SOURCES.get(source, {}).get(_key(description))
    if entry is None:
        known = ", ".join(s for s, keys in SOURCES.items() if _key(description) in keys)
        raise SlimcompatError(f"{source!r} has no {_key(description)} networks (sources that do: {known or 'none'})")
    return dict(entry[0])


def source_input(source, description):
    """The input convention `source`'s weights for `description` expect."""
    entry = SOURCES.get(source, {}).get(_key(description))
    return INPUTS[entry[1]] if entry else INPUTS["inception"]
