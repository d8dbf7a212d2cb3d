"""What every architecture description offers, whatever its family.

A description is a frozen dataclass whose fields are the knobs of its family
(depth, activation, where strides sit, BatchNorm epsilon, ...). Each field
carries metadata: a label for people, and its `effect`, which says what
changing it does:

- "shape": the set or shapes of the canonical tensors change (depth, groups,
  conv biases, which units project their shortcut, classes);
- "output": same tensors, other outputs (epsilon, activation, stem pooling,
  stride placement, padding);
- "training": nothing at inference (L2, dropout);
- "head": what follows the logits (softmax).

Everything else is derived from `plan()` (slimcompat.arch.ops): the canonical
layers and tensors, parameter counts, endpoints. So a variant is one field,
and every builder, converter and report sees it.
"""

import dataclasses
import json
import math

from slimcompat.arch import ops
from slimcompat.errors import SlimcompatError

__all__ = ["Description", "knob", "common", "check_common", "EFFECTS", "head_ops", "conv_bn_act", "check_choice",
           "check_positive_int", "check_float", "check_bool"]

EFFECTS = ("shape", "output", "training", "head")


def knob(default, label, effect, **kwargs):
    """A description field: its default, a label for reports, and its effect (see module doc)."""
    assert effect in EFFECTS
    return dataclasses.field(default=default, metadata={"label": label, "effect": effect}, **kwargs)


class Description:
    """Mixin for family dataclasses: subclasses set `family` and implement plan(), name and endpoint_names()."""

    family = ""

    # -- to be provided by the family
    def plan(self):
        raise NotImplementedError

    @property
    def name(self):
        raise NotImplementedError

    def scheme_constants(self):
        """Constants the naming schemes fill in for this description ({scope}, {unit}, ...)."""
        return {"scope": self.name}

    # -- derived from the plan
    def layers(self):
        """Canonical parametric ops (Conv, BatchNorm, Dense) in forward order."""
        return ops.parametric(self.plan())

    def tensors(self):
        """{canonical tensor name: shape} in forward order."""
        return dict(t for op in self.layers() for t in op.tensors())

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

    # -- knobs
    @classmethod
    def knobs(cls):
        """[(field name, label, effect)] of this family."""
        return [(f.name, f.metadata["label"], f.metadata["effect"]) for f in dataclasses.fields(cls)
                if "effect" in f.metadata]

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


# Knobs every family has, declared once: label, effect, and the rule a value must meet. A family
# declares each with `common(name, default)`; `check_common` validates them all.
_COMMON = {
    "padding": ("padding of strided convs", "output", ("choice", ops.CONV_PADDINGS)),
    "activation": ("activation", "output", ("choice", ops.ACTIVATIONS)),
    "elu_alpha": ("ELU alpha", "output", ("float", 0.0, 1e3)),
    "conv_bias": ("conv biases before BatchNorm", "shape", ("bool",)),
    "bn_epsilon": ("BatchNorm epsilon", "output", ("float", 1e-12, 1.0)),
    "l2": ("L2 weight decay", "training", ("float", 0.0, 1.0)),
    "num_classes": ("classes", "shape", ("classes",)),
    "background_class": ("background class at index 0", "output", ("bool",)),
    "dropout": ("dropout on the logits", "training", ("float", 0.0, 1.0)),
    "softmax": ("softmax after the logits", "head", ("bool",)),
}


def common(name, default):
    """The dataclass field of common knob `name` with a family's own default."""
    label, effect, _ = _COMMON[name]
    return knob(default, label, effect)


def check_common(where, description):
    """Validate every common knob of `description` by its declared rule."""
    for name, (_, _, rule) in _COMMON.items():
        value = getattr(description, name)
        if rule[0] == "choice":
            check_choice(where, name, value, rule[1])
        elif rule[0] == "float":
            check_float(where, name, value, rule[1], rule[2])
        elif rule[0] == "bool":
            check_bool(where, name, value)
        else:
            check_positive_int(where, name, value, allow_none=True)
    if description.background_class and not description.num_classes:
        raise SlimcompatError(f"{where}: background_class needs a classifier (num_classes)")


def check_choice(description, field, value, choices):
    if value not in choices:
        raise SlimcompatError(f"{description}: {field} must be one of {', '.join(map(str, choices))}, found {value!r}")


def check_positive_int(description, field, value, allow_none=False):
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SlimcompatError(f"{description}: {field} must be a positive integer, found {value!r}")


def check_float(description, field, value, low, high):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not low <= value < high:
        raise SlimcompatError(f"{description}: {field} must be a number in [{low}, {high}), found {value!r}")


def check_bool(description, field, value):
    if not isinstance(value, bool):
        raise SlimcompatError(f"{description}: {field} must be true or false, found {value!r}")


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

