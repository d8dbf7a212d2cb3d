"""What a weight file must say besides its tensors, to reproduce its outputs.

The architecture description (slimcompat.arch: family and every knob, from
depth to BatchNorm epsilon, activation and stem pooling), the input
convention its weights expect, the input size they were made at where one is
known (a default for tools that build the model), and where the tensors came
from. Readers start
from a source's presets (`slimcompat.arch.conventions`) and the canonical file
stores the result, so nothing is guessed later.
"""

import dataclasses
import json

from slimcompat.arch import describe, from_dict
from slimcompat.arch.conventions import InputConvention
from slimcompat.errors import SlimcompatError

__all__ = ["Metadata"]

# Format version 1 recorded these knobs as flat attributes (ResNet-50..200 only).
_V1_KNOBS = ("num_classes", "background_class", "bn_epsilon", "stride_placement", "stem_pool", "conv_bias")
_SOURCE_FIELDS = ("source_kind", "source_file", "source_sha256")
MAX_INPUT_SIDE = 8192      # a recorded input size is a default batch size: bounded before anything is allocated


@dataclasses.dataclass(frozen=True)
class Metadata:
    """Everything besides the tensors that decides a model's outputs, and the tensors' origin."""

    description: object
    input: InputConvention
    source_kind: str = ""
    source_file: str = ""
    source_sha256: str = ""
    input_shape: tuple = ()     # (H, W, C) the weights were made at; () when unknown

    def __post_init__(self):
        if not hasattr(self.description, "plan"):
            raise SlimcompatError(f"metadata needs an architecture description, found {self.description!r}")
        if not isinstance(self.input, InputConvention):
            raise SlimcompatError(f"metadata needs an input convention, found {self.input!r}")
        for field in _SOURCE_FIELDS:
            if not isinstance(getattr(self, field), str):
                raise SlimcompatError(f"metadata field {field!r} must be a string, found {getattr(self, field)!r}")
        shape = self.input_shape
        if shape != () and not (isinstance(shape, tuple) and len(shape) == 3 and all(
                isinstance(d, int) and not isinstance(d, bool) and 1 <= d <= MAX_INPUT_SIDE for d in shape)):
            raise SlimcompatError(f"metadata field 'input_shape' must be 3 integers H, W, C in 1..{MAX_INPUT_SIDE}, "
                                  f"found {shape!r}")

    # The description's knobs most readers ask about, by their old names.
    @property
    def arch(self):
        return self.description

    @property
    def architecture(self):
        return self.description.name

    def __getattr__(self, name):
        if name.startswith("__") or name in ("description",):
            raise AttributeError(name)
        try:
            return getattr(self.description, name)
        except AttributeError:
            raise AttributeError(f"metadata has no {name!r}") from None

    def replace(self, **changes):
        """A copy with metadata fields and/or description knobs changed."""
        own = {f.name for f in dataclasses.fields(self)}
        knobs = {k: v for k, v in changes.items() if k not in own}
        fields = {k: v for k, v in changes.items() if k in own}
        if knobs:
            fields["description"] = fields.get("description", self.description).replace(**knobs)
        return dataclasses.replace(self, **fields)

    def to_attrs(self):
        """Flat {name: str} for HDF5 attributes (format version 2)."""
        attrs = {"architecture": self.description.name, "description": self.description.to_json(),
                 "input": json.dumps(self.input.to_dict()),
                 **{f: getattr(self, f) for f in _SOURCE_FIELDS}}
        if self.input_shape:
            attrs["input_shape"] = json.dumps(list(self.input_shape))
        return attrs

    @classmethod
    def from_attrs(cls, attrs, version=2):
        """Inverse of to_attrs (and of format version 1's flat attributes); SlimcompatError naming the bad field."""
        values = {k: _plain(v) for k, v in attrs.items()}
        for field in ("input", *(("description",) if version >= 2 else ("architecture", *_V1_KNOBS))):
            if field not in values:
                raise SlimcompatError(f"metadata field {field!r} is missing")
        input_convention = _input(values["input"])
        description = _description_v2(values) if version >= 2 else _description_v1(values)
        sources = {}
        for field in _SOURCE_FIELDS:
            value = values.get(field, "")
            if not isinstance(value, str):
                raise SlimcompatError(f"metadata field {field!r} must be a string, found {value!r}")
            sources[field] = value
        return cls(description, input_convention, **sources, input_shape=_input_shape(values.get("input_shape")))


def _plain(value):
    if hasattr(value, "item") and getattr(value, "shape", None) == ():
        value = value.item()
    if isinstance(value, bytes):
        try:
            value = value.decode()
        except UnicodeDecodeError:
            raise SlimcompatError(f"metadata attribute is not UTF-8 text ({value[:20]!r})") from None
    return value


def _input_shape(raw):
    if raw is None:
        return ()
    try:
        shape = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError as exc:
        raise SlimcompatError(f"metadata field 'input_shape' is not JSON ({exc})") from None
    return tuple(shape) if isinstance(shape, list) else shape


def _input(raw):
    try:
        spec = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError as exc:
        raise SlimcompatError(f"metadata field 'input' is not JSON ({exc})") from None
    try:
        return InputConvention.from_dict(spec)
    except SlimcompatError as exc:
        raise SlimcompatError(f"metadata field 'input': {exc}") from None


def _description_v2(values):
    raw = values["description"]
    if not isinstance(raw, str):
        raise SlimcompatError(f"metadata field 'description' must be JSON text, found {raw!r}")
    try:
        spec = json.loads(raw)
    except ValueError as exc:
        raise SlimcompatError(f"metadata field 'description' is not JSON ({exc})") from None
    try:
        description = from_dict(spec)
    except (SlimcompatError, TypeError) as exc:
        raise SlimcompatError(f"metadata field 'description': {exc}") from None
    if "architecture" in values and values["architecture"] != description.name:
        raise SlimcompatError(f"metadata field 'architecture' says {values['architecture']!r} but the description "
                              f"is a {description.name}")
    return description


def _description_v1(values):
    """Format 1: a bottleneck ResNet named `architecture`, slim's structure, six recorded knobs."""
    name = values["architecture"]
    if not isinstance(name, str) or not name.startswith(("resnet_v1_", "resnet_v2_")):
        raise SlimcompatError(f"metadata field 'architecture' must name a ResNet such as resnet_v2_50, found {name!r}")
    knobs = {}
    for field in _V1_KNOBS:
        value = values[field]
        if field == "num_classes":
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise SlimcompatError(f"metadata field 'num_classes' must be an integer >= 0, found {value!r}")
            value = value or None
        elif field in ("background_class", "conv_bias"):
            if not isinstance(value, (bool, int)) or value not in (0, 1):
                raise SlimcompatError(f"metadata field {field!r} must be true or false, found {value!r}")
            value = bool(value)
        elif field == "bn_epsilon":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise SlimcompatError(f"metadata field 'bn_epsilon' must be a number, found {value!r}")
            value = float(value)
        knobs[field] = value
    if knobs["stride_placement"] == "first_unit_1x1":   # a stage's stride in its first unit: stages 2..4
        knobs["stage_strides"] = (1, 2, 2, 2)
    try:
        return describe(name, source="slim", **knobs)
    except SlimcompatError as exc:
        raise SlimcompatError(f"metadata: {exc}") from None
