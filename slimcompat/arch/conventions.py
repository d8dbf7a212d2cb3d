"""Input conventions, and the sources whose habits a description can take.

Folklore that silently changes outputs lives as data: a source is a family of
implementations people have weights from (tf_slim, keras.applications, the
Keras-1 ResNet50 release of 2016, torchvision, timm); each family's module
holds, per source, the knobs it sets on a description and the input
convention its weights expect (`sources`). Readers start from these; the
canonical file stores the result, so nothing is guessed later.
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

# The sources whose conventions a description can take; each family's module says what each does to
# its networks (`sources` of slimcompat.arch.families.<family>).
SOURCES = {
    "slim": "tf_slim and research/slim",
    "keras": "keras.applications",
    "keras1": "the Keras-1 release of 2016",
    "torchvision": "torchvision",
    "timm": "timm (PyTorch ports of slim's Inception checkpoints)",
}


def _entry(source, description):
    return description.record.sources.get(source, {}).get(description.source_key)


def source_preset(source, description):
    """The knobs `source` sets on `description` (a dict); SlimcompatError when it has no such network."""
    entry = _entry(source, description)
    if entry is None:
        key = description.source_key
        known = ", ".join(s for s, keys in description.record.sources.items() if key in keys)
        raise SlimcompatError(f"{source!r} has no {key} networks (sources that do: {known or 'none'})")
    return dict(entry[0])


def source_input(source, description):
    """The input convention `source`'s weights for `description` expect."""
    entry = _entry(source, description)
    return INPUTS[entry[1]] if entry else INPUTS["inception"]
