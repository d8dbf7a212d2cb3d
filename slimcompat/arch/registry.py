"""The families slimcompat knows, one line each, and the descriptions the names people type mean.

Each family's module (slimcompat.arch.families) parses its own names, in
each spelling with the conventions of the code that uses it:

- slim scopes: `resnet_v1_18`, `resnet_v2_34`, `resnext_50_32x4d`, `inception10`
  (tf_slim's conventions; ResNet-18/34 and ResNeXt in slim's idiom);
- torchvision names: `resnet18` ... `resnet152`, `resnext50_32x4d`,
  `wide_resnet50_2` (torchvision's conventions);
- keras.applications names: `ResNet50`, `ResNet101V2`, ...

`SOURCE:name` picks another source's conventions (`keras1:resnet_v1_50`), and
knobs may follow (`describe("resnet_v1_50", activation="elu")`, or on the
command line `--variant activation=elu,bn_epsilon=1e-3`). A description also
comes back from the JSON a canonical file records (`from_dict`). A name that
means nothing is refused with the closest known ones (`known_names`), without
any framework imported, so a command can check its names first.
"""

import dataclasses
import difflib
import functools
import json
import typing

from slimcompat.arch.conventions import SOURCES, source_preset
from slimcompat.arch.families import (inception10, inception_resnet_v2, inception_v1, inception_v2, inception_v3,
                                      inception_v4, mobilenet_v1, mobilenet_v2, resnet, vgg)
from slimcompat.errors import SlimcompatError

__all__ = ["describe", "from_dict", "from_json", "parse_knobs", "FAMILIES", "RECORDS", "all_descriptions",
           "scope_of", "slim_scopes",
           "EXAMPLES", "default_source", "variant_text", "known_names", "closest"]

# The families, one line each (slimcompat.arch.family says what a family module declares).
RECORDS = (
    resnet.FAMILY,
    inception10.FAMILY,
    inception_v1.FAMILY,
    inception_v2.FAMILY,
    inception_v3.FAMILY,
    inception_v4.FAMILY,
    inception_resnet_v2.FAMILY,
    vgg.FAMILY,
    mobilenet_v1.FAMILY,
    mobilenet_v2.FAMILY,
)
FAMILIES = {record.name: record.description for record in RECORDS}
EXAMPLES = "resnet_v1_18, resnet_v2_50, resnext_50_32x4d, inception10, resnet50, resnext50_32x4d, ResNet50V2"


def _parse(name):
    """(family record, knobs, default source) of an architecture name; None when it is not one."""
    for record in RECORDS:
        try:
            found = record.parse(name)
        except SlimcompatError as exc:
            raise SlimcompatError(f"{exc}; {closest(name, known_names())}".rstrip("; ")) from None
        if found is not None:
            return (record, *found)
    return None


@functools.lru_cache(maxsize=1)
def known_names():
    """Every architecture name `describe` takes as typed, in each spelling (for suggestions)."""
    return tuple(name for record in RECORDS for name in record.names if _describable(name))


def _describable(name):
    try:
        describe(name)
    except SlimcompatError:
        return False
    return True


def closest(text, names):
    """`did you mean X?` for the name nearest to `text` (case aside), or '' when none is near."""
    by_lower = {}
    for name in names:
        by_lower.setdefault(str(name).lower(), str(name))
    found = difflib.get_close_matches(str(text).lower(), list(by_lower), n=1, cutoff=0.6)
    return f"did you mean {by_lower[found[0]]}?" if found else ""


def default_source(name):
    """The source whose conventions a bare name implies ("slim", "torchvision", "keras"), or None."""
    try:
        parsed = _parse(str(name))
    except SlimcompatError:
        return None
    return None if parsed is None else parsed[2]


def variant_text(changes):
    """`key=value,...` as `--variant` takes it, for messages telling users how to say a description."""
    return ",".join(f"{k}={'x'.join(map(str, v)) if isinstance(v, tuple) else v}" for k, v in changes.items())


def describe(name, source=None, **knobs):
    """The description an architecture name means, with `source`'s conventions and then `knobs` applied.

    name may carry the source: `keras1:resnet_v1_50`. Raises SlimcompatError
    with the known spellings when the name means nothing here.
    """
    if isinstance(name, tuple(FAMILIES.values())):
        return name.replace(**knobs) if knobs else name
    text = str(name)
    if ":" in text:
        source, _, text = text.partition(":")
    if source is not None and source not in SOURCES:
        raise SlimcompatError(f"unknown source {source!r}; " + (closest(source, SOURCES) or
                                                                  f"known: {', '.join(SOURCES)}"))
    parsed = _parse(text)
    if parsed is None:
        raise SlimcompatError(f"unknown architecture {str(name)!r}; " + (closest(text, known_names()) or
                                                                         f"examples: {EXAMPLES}"))
    record, family_knobs, default_source = parsed
    source = source or default_source
    base = record.description(**family_knobs)
    return base.replace(**{**source_preset(source, base), **knobs})


def from_dict(spec):
    """The description a canonical file (or `to_dict`) records; SlimcompatError naming what is wrong."""
    if not isinstance(spec, dict) or spec.get("family") not in FAMILIES:
        family = spec.get("family") if isinstance(spec, dict) else spec
        raise SlimcompatError(f"description: unknown family {family!r}; known: {', '.join(FAMILIES)}")
    cls = FAMILIES[spec["family"]]
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(spec) - set(fields) - {"family"})
    if unknown:
        raise SlimcompatError(f"description: unknown {spec['family']} knob {', '.join(unknown)}")
    values = {}
    for key, value in spec.items():
        if key != "family":
            values[key] = tuple(value) if isinstance(value, list) else value
    return cls(**values)


def from_json(text):
    try:
        spec = json.loads(text)
    except ValueError as exc:
        raise SlimcompatError(f"description is not JSON ({exc})") from None
    return from_dict(spec)


def parse_knobs(text, family="resnet"):
    """{knob: value} from `key=value,key=value` (command lines), typed by the family's fields."""
    cls = FAMILIES.get(family, resnet.ResNet)
    hints = typing.get_type_hints(cls)
    out = {}
    for item in filter(None, (part.strip() for part in (text or "").split(","))):
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or key not in hints:
            known = ", ".join(f.name for f in dataclasses.fields(cls))
            raise SlimcompatError(f"--variant {item!r}: expected KNOB=VALUE with KNOB one of {known}")
        out[key] = _typed(key, raw.strip(), hints[key])
    return out


def _typed(key, raw, hint):
    base = typing.get_args(hint)[0] if typing.get_origin(hint) is typing.Union else hint
    if raw.lower() in ("none", "null") and typing.get_origin(hint) is typing.Union:
        return None
    try:
        if base is bool:
            if raw.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(raw)
            return raw.lower() in ("true", "1", "yes")
        if typing.get_origin(base) is tuple:
            return tuple(int(v) for v in raw.replace("x", " ").replace("/", " ").split())
        return base(raw)
    except ValueError:
        raise SlimcompatError(f"--variant {key}={raw}: not a valid {getattr(base, '__name__', base)}") from None


def scope_of(description):
    """The variable scope a slim checkpoint of `description` holds its variables in (`resnet_v2_50`,
    `InceptionV3`, `MobilenetV1`: the zoo's scopes carry no width or variant): the `{scope}` every slim
    rule starts with, read off the constants without binding the rules (tests/test_registry.py holds each
    family to it)."""
    return description.scheme_constants()["scope"]


@functools.lru_cache(maxsize=1)
def slim_scopes():
    """{slim variable scope: (descriptions whose checkpoints use it, in slim's conventions)} over every
    family's `detect` names: what a checkpoint that names no architecture may be."""
    out = {}
    for description in all_descriptions(source="slim"):
        out.setdefault(scope_of(description), []).append(description)
    return {scope: tuple(found) for scope, found in out.items()}


def all_descriptions(source=None):
    """Every named network of every family, in `source`'s conventions where it has them (for detection)."""
    out = []
    for name in (name for record in RECORDS for name in record.detect):
        try:
            out.append(describe(name, source=source))
        except SlimcompatError:
            continue
    return out
