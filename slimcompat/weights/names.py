"""Naming schemes: canonical tensor names <-> each implementation's names.

A scheme is data: layer-name rules (a canonical template beside the scheme's
template) and a parameter-name table. One small engine reads each rule both
ways, so `to_scheme(to_canonical(x)) == x` holds by construction and is
checked over every tensor of every architecture in the tests.

Template fields: `{s}`, `{u}`, `{k}` are integers (stage, unit, conv index);
on the scheme side `{s+1}` adds an offset and `{u@}` writes 1, 2, 3 as a, b, c
(Caffe's unit letters). `{scope}` and `{v}` are constants of the architecture
(`resnet_v2_50`, `2`).
"""

import dataclasses
import re
import string
from typing import Dict, List, Tuple

from slimcompat.errors import SlimcompatError

__all__ = ["Scheme", "SCHEMES", "scheme", "UnknownNameError"]


class UnknownNameError(SlimcompatError):
    """A name no rule of the scheme accounts for."""


_FIELD = re.compile(r"\{(\w+)([+-]\d+|@)?\}")


class _Template:
    """A name pattern with integer fields, readable in both directions."""

    def __init__(self, text):
        self.text = text
        self.fields = []
        pattern, pos = "", 0
        for m in _FIELD.finditer(text):
            pattern += re.escape(text[pos:m.start()])
            name, transform = m.group(1), m.group(2) or ""
            self.fields.append((name, transform))
            group = f"(?P<{name}>[a-z])" if transform == "@" else f"(?P<{name}>\\d+)"
            if name in (f for f, _ in self.fields[:-1]):
                group = f"(?P={name})"
            pattern += group
            pos = m.end()
        pattern += re.escape(text[pos:])
        self.regex = re.compile(pattern + r"\Z")

    def format(self, values):
        def sub(m):
            value, transform = values[m.group(1)], m.group(2) or ""
            if transform == "@":
                return string.ascii_lowercase[value - 1]
            return str(value + int(transform or 0))
        return _FIELD.sub(sub, self.text)

    def parse(self, name):
        m = self.regex.match(name)
        if m is None:
            return None
        values = {}
        for field, transform in self.fields:
            raw = m.group(field)
            if transform == "@":
                values[field] = string.ascii_lowercase.index(raw) + 1
            else:
                values[field] = int(raw) - int(transform or 0)
        if self.format(values) != name:  # e.g. leading zeros: not ours
            return None
        return values


@dataclasses.dataclass(frozen=True)
class Scheme:
    """A naming scheme (see module doc). `join` glues layer and parameter names."""

    name: str
    layers: Tuple[Tuple[str, str], ...]       # (canonical layer template, scheme layer template)
    params: Dict[str, str]                    # canonical param -> scheme param
    join: str = "/"
    suffix: str = ""

    def bind(self, arch):
        """This scheme's names for one architecture (fills `{scope}`, `{v}`)."""
        return _BoundScheme(self, arch)


class _BoundScheme:
    def __init__(self, scheme, arch):
        self.scheme = scheme
        self.arch = arch
        constants = {"scope": arch.name, "v": arch.family[-1]}
        self._rules = [(_Template(c), _Template(_fill(s, constants))) for c, s in scheme.layers]
        self._params_back = {v: k for k, v in scheme.params.items()}

    def _translate(self, name, source, target, failure):
        """Rewrite `name` by the first rule whose `source` side (0 canonical, 1 scheme) matches it."""
        for rule in self._rules:
            values = rule[source].parse(name)
            if values is not None:
                return rule[target].format(values)
        raise UnknownNameError(failure)

    def layer(self, canonical_layer):
        """Scheme layer name of a canonical layer name."""
        return self._translate(canonical_layer, 0, 1,
                               f"{self.scheme.name}: no name for canonical layer {canonical_layer!r}")

    def canonical_layer(self, layer):
        """Canonical layer name of a scheme layer name."""
        return self._translate(layer, 1, 0, f"{self.scheme.name}: {layer!r} is not a {self.arch.name} layer name")

    def tensor(self, canonical_tensor):
        """Scheme tensor name of a canonical tensor name."""
        layer, _, param = canonical_tensor.rpartition("/")
        return f"{self.layer(layer)}{self.scheme.join}{self.scheme.params[param]}{self.scheme.suffix}"

    def canonical_tensor(self, tensor):
        """Canonical tensor name of a scheme tensor name."""
        body = tensor[:-len(self.scheme.suffix)] if self.scheme.suffix and tensor.endswith(self.scheme.suffix) else tensor
        for param, theirs in sorted(self._params_back.items(), key=lambda kv: -len(kv[0])):
            tail = self.scheme.join + param
            if body.endswith(tail):
                try:
                    return f"{self.canonical_layer(body[:-len(tail)])}/{theirs}"
                except UnknownNameError:
                    continue
        raise UnknownNameError(f"{self.scheme.name}: {tensor!r} is not a {self.arch.name} tensor name")

    def split(self, tensor):
        """(scheme layer, scheme param) of a scheme tensor name."""
        canonical = self.canonical_tensor(tensor)
        layer, _, param = canonical.rpartition("/")
        return self.layer(layer), self.scheme.params[param]


def _fill(template, constants):
    for key, value in constants.items():
        template = template.replace("{" + key + "}", value)
    return template


_UNIT = "stage{s}/unit{u}"
_IDENTITY_PARAMS = {p: p for p in ("kernel", "bias", "gamma", "beta", "moving_mean", "moving_variance")}

SCHEMES = {
    "slim": Scheme(
        name="slim",
        layers=(
            ("stem/conv", "{scope}/conv1"),
            ("stem/conv/bn", "{scope}/conv1/BatchNorm"),
            (f"{_UNIT}/preact", "{scope}/block{s}/unit_{u}/bottleneck_v{v}/preact"),
            (f"{_UNIT}/shortcut", "{scope}/block{s}/unit_{u}/bottleneck_v{v}/shortcut"),
            (f"{_UNIT}/shortcut/bn", "{scope}/block{s}/unit_{u}/bottleneck_v{v}/shortcut/BatchNorm"),
            (f"{_UNIT}/conv{{k}}", "{scope}/block{s}/unit_{u}/bottleneck_v{v}/conv{k}"),
            (f"{_UNIT}/conv{{k}}/bn", "{scope}/block{s}/unit_{u}/bottleneck_v{v}/conv{k}/BatchNorm"),
            ("postnorm", "{scope}/postnorm"),
            ("logits", "{scope}/logits"),
        ),
        params={**_IDENTITY_PARAMS, "kernel": "weights", "bias": "biases"},
    ),
    "keras": Scheme(
        name="keras",
        layers=(
            ("stem/conv", "conv1_conv"),
            ("stem/conv/bn", "conv1_bn"),
            (f"{_UNIT}/preact", "conv{s+1}_block{u}_preact_bn"),
            (f"{_UNIT}/shortcut", "conv{s+1}_block{u}_0_conv"),
            (f"{_UNIT}/shortcut/bn", "conv{s+1}_block{u}_0_bn"),
            (f"{_UNIT}/conv{{k}}", "conv{s+1}_block{u}_{k}_conv"),
            (f"{_UNIT}/conv{{k}}/bn", "conv{s+1}_block{u}_{k}_bn"),
            ("postnorm", "post_bn"),
            ("logits", "predictions"),
        ),
        params=_IDENTITY_PARAMS,
    ),
    # The Keras-1 ResNet50 of 2016 (Caffe names): res2a_branch2a, bn2a_branch2a,
    # datasets `<layer>_W:0`; `running_std` holds the variance.
    "keras1": Scheme(
        name="keras1",
        layers=(
            ("stem/conv", "conv1"),
            ("stem/conv/bn", "bn_conv1"),
            (f"{_UNIT}/shortcut", "res{s+1}{u@}_branch1"),
            (f"{_UNIT}/shortcut/bn", "bn{s+1}{u@}_branch1"),
            (f"{_UNIT}/conv{{k}}", "res{s+1}{u@}_branch2{k@}"),
            (f"{_UNIT}/conv{{k}}/bn", "bn{s+1}{u@}_branch2{k@}"),
            ("logits", "fc1000"),
        ),
        params={**_IDENTITY_PARAMS, "kernel": "W", "bias": "b",
                "moving_mean": "running_mean", "moving_variance": "running_std"},
        join="_", suffix=":0",
    ),
}


def scheme(name, arch):
    """The scheme called `name`, bound to architecture `arch`."""
    try:
        return SCHEMES[name].bind(arch)
    except KeyError:
        raise SlimcompatError(f"unknown naming scheme {name!r}; known: {', '.join(SCHEMES)}") from None


def round_trip_failures(scheme_name, arch, num_classes=1000) -> List[str]:
    """Canonical tensors of `arch` whose scheme name does not map back to them."""
    bound = scheme(scheme_name, arch)
    bad = []
    for name in arch.tensors(num_classes):
        try:
            if bound.canonical_tensor(bound.tensor(name)) != name:
                bad.append(name)
        except UnknownNameError:
            bad.append(name)
    return bad
