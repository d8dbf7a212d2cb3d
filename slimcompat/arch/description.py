"""What every architecture description offers, whatever its family.

A description is a frozen dataclass whose fields are the knobs of its family
(depth, activation, where strides sit, BatchNorm epsilon, ...). Each field
carries metadata: a label for people, the values it takes (a range or
choices), and its `effect`, which says what changing it does:

- "shape": the set or shapes of the canonical tensors change (depth, groups,
  conv biases, which units project their shortcut, classes);
- "output": same tensors, other outputs (epsilon, activation, stem pooling,
  stride placement, padding);
- "training": nothing at inference (L2, dropout);
- "head": what follows the logits (softmax).

`check_knobs` holds every knob to its values before anything is derived from
the description, wherever it comes from (a file's metadata, a reference, the
command line), and `check_size` then caps its parameters, so no description
sizes a list or a tensor past a documented bound (weights/SPEC.md lists them).

Everything else is derived from `plan()` (slimcompat.arch.ops): the canonical
layers and tensors, parameter counts, endpoints. So a variant is one field,
and every builder, converter and report sees it.
"""

import dataclasses
import functools
import json
import math
import typing

from slimcompat.arch import ops
from slimcompat.errors import SlimcompatError

__all__ = ["Description", "knob", "common", "check_knobs", "check_size", "range_text", "shown", "EFFECTS",
           "MAX_PARAMETERS", "head_ops", "conv_bn_act"]

EFFECTS = ("shape", "output", "training", "head")


def knob(default, label, effect, *, choices=None, bounds=None, length=None):
    """A description field: its default, a label for reports, its effect (see module doc), and its values.

    The annotation gives the kind: bool (true or false), str (one of
    `choices`), int (`bounds` (low, high), both included), float (`bounds`,
    [low, high)), a tuple of ints (`length` (shortest, longest) entries, each
    within `bounds`); Optional adds null. `check_knobs` enforces them.
    """
    assert effect in EFFECTS
    rule = {k: v for k, v in (("choices", choices), ("bounds", bounds), ("length", length)) if v is not None}
    return dataclasses.field(default=default, metadata={"label": label, "effect": effect, **rule})


class Description:
    """Mixin for family dataclasses: subclasses set `family` and implement _plan() and name."""

    family = ""
    record = None        # its slimcompat.arch.family.Family, set when the family module declares it

    def __post_init__(self):
        """Every knob within its declared values, then the size bound; a family that derives knobs (ResNet's
        units from its depth) extends this."""
        check_knobs(self.family, self)
        check_size(self.family, self)

    # -- to be provided by the family
    def _plan(self):
        raise NotImplementedError

    @property
    def name(self):
        raise NotImplementedError

    def scheme_constants(self):
        """Constants the naming schemes fill in for this description ({scope}, {unit}, ...)."""
        return {"scope": self.name}

    @property
    def input_size(self):
        """(height, width) the network is meant to see when nothing says otherwise (ImageNet nets: 224;
        Inception v3/v4: 299; MobileNets: their resolution; CIFAR nets: 32)."""
        return (224, 224)

    @property
    def source_key(self):
        """The key of this description in its family's `sources` tables (ResNet: resnet_v1 or resnet_v2)."""
        return self.family

    # -- derived from the plan
    def plan(self):
        """The forward pass as ops (slimcompat.arch.ops), built once per description (it is immutable)."""
        if "_built_plan" not in self.__dict__:
            object.__setattr__(self, "_built_plan", self._plan())   # families are frozen dataclasses
        return self.__dict__["_built_plan"]

    def layers(self):
        """Canonical parametric ops (Conv, BatchNorm, Dense) in forward order."""
        return ops.parametric(self.plan())

    def tensors(self):
        """{canonical tensor name: shape} in forward order (a new dict each call; built once per description)."""
        if "_built_tensors" not in self.__dict__:
            object.__setattr__(self, "_built_tensors", dict(t for op in self.layers() for t in op.tensors()))
        return dict(self.__dict__["_built_tensors"])

    def parameter_count(self, trainable_only=False):
        """Number of weights; trainable_only leaves out BatchNorm moving statistics (PyTorch's count)."""
        total = 0
        for name, shape in self.tensors().items():
            if trainable_only and name.rsplit("/", 1)[-1] in ("moving_mean", "moving_variance"):
                continue
            total += math.prod(shape)
        return total

    def endpoint_names(self):
        """Canonical endpoints in forward order (the Endpoint markers of the plan)."""
        return [op.name for op in ops.walk(self.plan()) if isinstance(op, ops.Endpoint)]

    @property
    def classifier(self):
        return self.num_classes is not None

    def summary(self):
        """One line on what the tensors of this description are, for messages that name it beside other
        descriptions (families whose knobs say more override it)."""
        return f"{self.parameter_count():,} parameters, {self.num_classes or 'no'} classes"

    # -- knobs
    @classmethod
    def knobs(cls):
        """[(field name, label, effect)] of this family."""
        return [(f.name, f.metadata["label"], f.metadata["effect"]) for f in dataclasses.fields(cls)
                if "effect" in f.metadata]

    @classmethod
    def ranges(cls):
        """[(field name, the values it takes in words)] of this family (weights/SPEC.md lists them)."""
        return [(name, range_text(*rule)) for name, *rule in _rules(cls)]

    def replace(self, **changes):
        """The same description with some knobs changed (validated again)."""
        unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(self)})
        if unknown:
            raise SlimcompatError(f"{self.name}: unknown knob {', '.join(unknown)}; known: "
                                  f"{', '.join(n for n, _, _ in self.knobs())}")
        return dataclasses.replace(self, **changes)

    def to_dict(self):
        """JSON-ready {"family": ..., knob: value} with every knob resolved (what a file records)."""
        out = {"family": self.family}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    def to_json(self):
        return json.dumps(self.to_dict(), sort_keys=True)

    def differences(self, other):
        """[(knob, label, effect, mine, theirs)] where `other` (same family) differs."""
        if type(other) is not type(self):
            return [("family", "family", "shape", self.family, other.family)]
        return [(n, label, effect, getattr(self, n), getattr(other, n)) for n, label, effect in self.knobs()
                if getattr(self, n) != getattr(other, n)]


# The most parameters a description may have: 2**28 (268M, 1 GiB in float32). The widest network any
# source here ships, torchvision's wide_resnet101_2, has 127M; a ResNet-152 with 21k classes, 105M.
MAX_PARAMETERS = 1 << 28

# Knobs every family has, declared once: label, effect, and the values they take. A family declares
# each with `common(name, default)`.
_COMMON = {
    "padding": dict(label="padding of strided convs", effect="output", choices=ops.CONV_PADDINGS),
    "activation": dict(label="activation", effect="output", choices=ops.ACTIVATIONS),
    "elu_alpha": dict(label="ELU alpha", effect="output", bounds=(0.0, 1e3)),
    "conv_bias": dict(label="conv biases before BatchNorm", effect="shape"),
    "bn_epsilon": dict(label="BatchNorm epsilon", effect="output", bounds=(1e-12, 1.0)),
    "l2": dict(label="L2 weight decay", effect="training", bounds=(0.0, 1.0)),
    "num_classes": dict(label="classes", effect="shape", bounds=(1, 100_000)),
    "background_class": dict(label="background class at index 0", effect="output"),
    "dropout": dict(label="dropout on the logits", effect="training", bounds=(0.0, 1.0)),
    "softmax": dict(label="softmax after the logits", effect="head"),
}


def common(name, default):
    """The dataclass field of common knob `name` with a family's own default."""
    spec = dict(_COMMON[name])
    return knob(default, spec.pop("label"), spec.pop("effect"), **spec)


def _kind(hint):
    """(kind, optional) of a knob's annotation: kind one of bool, int, float, str, tuple."""
    args = typing.get_args(hint)
    optional = typing.get_origin(hint) is typing.Union and type(None) in args
    if optional:
        hint = next(a for a in args if a is not type(None))
    return ("tuple" if typing.get_origin(hint) is tuple else hint.__name__), optional


@functools.lru_cache(maxsize=None)
def _rules(cls):
    """[(knob, kind, optional, metadata)] of family `cls`, read once from its fields."""
    hints = typing.get_type_hints(cls)
    return [(f.name, *_kind(hints[f.name]), f.metadata) for f in dataclasses.fields(cls) if "effect" in f.metadata]


def range_text(kind, optional, meta):
    """The values a knob takes, in words (error messages and weights/SPEC.md say the same)."""
    if kind == "bool":
        text = "true or false"
    elif kind == "str":
        text = "one of " + ", ".join(map(str, meta["choices"]))
    elif kind == "float":
        low, high = meta["bounds"]
        text = f"a number in [{low:g}, {high:g})"
    elif kind == "int":
        low, high = meta["bounds"]
        text = f"an integer in {low}..{high}"
    else:
        (low, high), (shortest, longest) = meta["bounds"], meta["length"]
        text = f"{shortest}..{longest} integers, each in {low}..{high}"
    return text + (" or null" if optional else "")


def shown(value, limit=40):
    """repr(value), cut to `limit` characters: a message quoting a value from a file stays one short line."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _number_in(value, kind, bounds):
    if isinstance(value, bool) or not isinstance(value, (int, float) if kind == "float" else int):
        return False
    low, high = bounds
    return math.isfinite(value) and low <= value < high if kind == "float" else low <= value <= high


def _valid(value, kind, meta):
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "str":
        return isinstance(value, str) and value in meta["choices"]
    if kind in ("int", "float"):
        return _number_in(value, kind, meta["bounds"])
    shortest, longest = meta["length"]
    return isinstance(value, (tuple, list)) and shortest <= len(value) <= longest \
        and all(_number_in(v, "int", meta["bounds"]) for v in value)


def check_knobs(where, description):
    """Every knob of `description` within its declared values (None passes where the annotation allows it).

    Runs first in every family's __post_init__, before anything is derived
    from a knob, so no value from a file (a canonical file's or safetensors'
    description, a reference record, --arch/--variant) sizes a list or a
    tensor before it is known to be in range.
    """
    for name, kind, optional, meta in _rules(type(description)):
        value = getattr(description, name)
        if not (value is None and optional) and not _valid(value, kind, meta):
            raise SlimcompatError(f"{where}: {name} must be {range_text(kind, optional, meta)}, found "
                                  f"{shown(value)}")
    if description.background_class and not description.num_classes:
        raise SlimcompatError(f"{where}: background_class needs a classifier (num_classes)")


def check_size(where, description):
    """At most MAX_PARAMETERS parameters (the plan's length is bounded by the knobs' ranges already)."""
    count = description.parameter_count()
    if count > MAX_PARAMETERS:
        raise SlimcompatError(f"{where}: {count:,} parameters, more than a description may have "
                              f"({MAX_PARAMETERS:,}); refusing")


def head_ops(features, num_classes, dropout, softmax):
    """Global average pool, then the classifier: the head every family here shares."""
    out = [ops.GlobalAvgPool(), ops.Endpoint("pooled")]
    if num_classes is not None:
        out += [ops.Dense("logits", features, num_classes), ops.Endpoint("logits")]
        if dropout:
            out.append(ops.Dropout(dropout))
        if softmax:
            out.append(ops.Softmax())
    return out


def conv_bn_act(layer, kernel, stride, in_channels, filters, *, epsilon, act, bias=False, groups=1,
                padding="same", bn=True):
    """[Conv, BatchNorm, Act] of one layer; padding only recorded where it matters (strided k > 1)."""
    padding = padding if (stride > 1 and kernel > 1) else "same"
    out = [ops.Conv(layer, kernel, stride, in_channels, filters, groups, bias, padding)]
    if bn:
        out.append(ops.BatchNorm(f"{layer}/bn", filters, epsilon))
    if act is not None:
        out.append(act)
    return out

