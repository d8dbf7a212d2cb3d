"""Two-way name templates: the engine every naming scheme and endpoint scheme runs on.

A scheme is data: rules pairing a canonical template with the scheme's
template, and a parameter-name table. One small engine reads each rule both
ways, so `to_scheme(to_canonical(x)) == x` holds by construction and is
checked over every tensor of every architecture in the tests.

Template fields: `{s}`, `{u}`, `{k}`, `{j}` are integers (stage, unit, conv or
branch index); on the scheme side `{s+1}` adds an offset and `{u@}` writes
1, 2, 3 as a, b, c (Caffe's unit letters). Constants of the architecture
(`{scope}`: `resnet_v2_50`, `{unit}`: `bottleneck_v2`) are filled in when a
scheme is bound to a description (`description.scheme_constants()`).

Parameter names usually depend on the parameter alone (`kernel` -> `weights`).
Where they depend on the kind of layer too (PyTorch calls a conv kernel and a
BatchNorm scale both `weight`), `kind_params` gives a vocabulary per kind of
plan op (`conv`, `batchnorm`, `dense`), and the bound description says which
kind each canonical layer is. A rule may carry a third item, {canonical param:
scheme param} for that layer alone (slim's separable conv holds its 1x1
kernel as `pointwise_weights` under the same scope as its `depthwise_weights`).
"""

import dataclasses
import re
import string
from typing import Dict, Tuple

from slimcompat.errors import SlimcompatError

__all__ = ["Scheme", "BoundScheme", "UnknownNameError"]


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
                if not 1 <= value <= len(string.ascii_lowercase):
                    raise UnknownNameError(f"{self.text}: no letter for {m.group(1)} = {value}")
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
    layers: Tuple[Tuple, ...]                 # (canonical layer template, scheme layer template[, params])
    params: Dict[str, str]                    # canonical param -> scheme param
    join: str = "/"
    suffix: str = ""
    kind_params: Dict[str, Dict[str, str]] = dataclasses.field(default_factory=dict)  # plan op kind -> params

    def bind(self, description):
        """This scheme's names for one architecture description (fills its constants)."""
        return BoundScheme(self, description)


class BoundScheme:
    """A scheme with the constants of one description filled in; translates names both ways."""

    def __init__(self, scheme, description):
        self.scheme = scheme
        self.arch = description
        constants = description.scheme_constants()
        self._rules = [(_Template(c), _Template(_fill(s, constants)), dict(*extra)) for c, s, *extra in scheme.layers]
        self._own = [(rule[0], rule[2]) for rule in self._rules if rule[2]]
        vocabularies = [scheme.params, *scheme.kind_params.values(), *(rule[2] for rule in self._rules)]
        self._params_back = sorted({(theirs, ours) for v in vocabularies for ours, theirs in v.items()},
                                   key=lambda pair: (-len(pair[0]), pair))
        self._kinds = {op.layer: type(op).__name__.lower() for op in description.layers()} \
            if scheme.kind_params else {}

    def _translate(self, name, source, target, failure):
        """Rewrite `name` by the first rule whose `source` side (0 canonical, 1 scheme) matches it."""
        for rule in self._rules:
            values = rule[source].parse(name)
            if values is not None:
                try:
                    return rule[target].format(values)
                except UnknownNameError:
                    continue        # values the other side cannot write (no letter for 0): another rule's name
        raise UnknownNameError(failure)

    def layer(self, canonical_layer):
        """Scheme layer name of a canonical layer name."""
        return self._translate(canonical_layer, 0, 1,
                               f"{self.scheme.name}: no name for canonical layer {canonical_layer!r}")

    def canonical_layer(self, layer):
        """Canonical layer name of a scheme layer name."""
        return self._translate(layer, 1, 0, f"{self.scheme.name}: {layer!r} is not a {self.arch.name} layer name")

    def _tensors(self):
        if "_known" not in self.__dict__:
            self._known = set(self.arch.tensors())
        return self._known

    def _canonical_layers(self, layer):
        """Every canonical layer a scheme layer name can be, by the rules in order."""
        for rule in self._rules:
            values = rule[1].parse(layer)
            if values is not None:
                try:
                    yield rule[0].format(values)
                except UnknownNameError:
                    continue

    def params(self, canonical_layer):
        """{canonical param: scheme param} for `canonical_layer` (by its kind where the scheme says so)."""
        own = next((params for template, params in self._own if template.parse(canonical_layer) is not None), {})
        if not self.scheme.kind_params:
            return {**self.scheme.params, **own} if own else self.scheme.params
        kind = self._kinds.get(canonical_layer)
        if kind is None:
            raise UnknownNameError(f"{self.scheme.name}: {canonical_layer!r} is not a layer of {self.arch.name}")
        return {**self.scheme.kind_params.get(kind, self.scheme.params), **own}

    def tensor(self, canonical_tensor):
        """Scheme tensor name of a canonical tensor name."""
        layer, _, param = canonical_tensor.rpartition("/")
        return f"{self.layer(layer)}{self.scheme.join}{self.params(layer)[param]}{self.scheme.suffix}"

    def canonical_tensor(self, tensor):
        """Canonical tensor name of a scheme tensor name."""
        body = tensor[:-len(self.scheme.suffix)] if self.scheme.suffix and tensor.endswith(self.scheme.suffix) else tensor
        for param, theirs in self._params_back:
            tail = self.scheme.join + param
            if body.endswith(tail):
                layers = list(self._canonical_layers(body[:-len(tail)]))
                for layer in layers:
                    if len(layers) > 1 and f"{layer}/{theirs}" not in self._tensors():   # layers sharing a scope
                        continue
                    try:
                        if self.params(layer).get(theirs) == param:
                            return f"{layer}/{theirs}"
                    except UnknownNameError:
                        continue
        raise UnknownNameError(f"{self.scheme.name}: {tensor!r} is not a {self.arch.name} tensor name")

    def split(self, tensor):
        """(scheme layer, scheme param) of a scheme tensor name."""
        canonical = self.canonical_tensor(tensor)
        layer, _, param = canonical.rpartition("/")
        return self.layer(layer), self.params(layer)[param]


def _fill(template, constants):
    for key, value in constants.items():
        template = template.replace("{" + key + "}", str(value))
    return template

