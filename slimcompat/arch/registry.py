"""Architecture names people type, and the descriptions they mean.

Three spellings are understood, each with the conventions of the code that
uses it:

- slim scopes: `resnet_v1_18`, `resnet_v2_34`, `resnext_50_32x4d`, `inception10`
  (tf_slim's conventions; ResNet-18/34 and ResNeXt in slim's idiom);
- torchvision names: `resnet18` ... `resnet152`, `resnext50_32x4d`,
  `resnext101_32x8d` (torchvision's conventions);
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
import re
import typing

from slimcompat.arch.conventions import SOURCES, source_preset
from slimcompat.arch.inception import Inception10
from slimcompat.arch.resnet import DEPTHS, ResNet
from slimcompat.errors import SlimcompatError

__all__ = ["describe", "from_dict", "from_json", "parse_knobs", "FAMILIES", "all_descriptions", "EXAMPLES",
           "default_source", "variant_text", "known_names", "closest"]

FAMILIES = {"resnet": ResNet, "inception10": Inception10}
EXAMPLES = "resnet_v1_18, resnet_v2_50, resnext_50_32x4d, inception10, resnet50, resnext50_32x4d, ResNet50V2"

# Numbers in names have at most 6 digits (int() of thousands of digits is slow, then refused).
_SLIM = re.compile(r"resnet_v([12])_(\d{1,6})\Z")
_SLIM_RESNEXT = re.compile(r"resnext(_v2)?_(\d{1,6})_(\d{1,6})x(\d{1,6})d\Z")
_TORCH = re.compile(r"resnet(\d{1,6})\Z")
_TORCH_RESNEXT = re.compile(r"resnext(\d{1,6})_(\d{1,6})x(\d{1,6})d\Z")
_KERAS = re.compile(r"ResNet(\d{1,6})(V2)?\Z")


def _parse(name):
    """(family knobs, default source) of an architecture name; None when it is not one."""
    if name == "inception10":
        return {"family": "inception10"}, "slim"
    if m := _SLIM.match(name):
        return {"depth": int(m.group(2)), "preact": m.group(1) == "2"}, "slim"
    if m := _SLIM_RESNEXT.match(name):
        return {"depth": int(m.group(2)), "preact": bool(m.group(1)), "groups": int(m.group(3)),
                "width_per_group": int(m.group(4))}, "slim"
    if m := _TORCH.match(name):
        return {"depth": int(m.group(1))}, "torchvision"
    if m := _TORCH_RESNEXT.match(name):
        return {"depth": int(m.group(1)), "groups": int(m.group(2)), "width_per_group": int(m.group(3))}, \
            "torchvision"
    if m := _KERAS.match(name):
        return {"depth": int(m.group(1)), "preact": bool(m.group(2))}, "keras"
    return None


@functools.lru_cache(maxsize=1)
def known_names():
    """Every architecture name `describe` takes as typed, in each spelling (for suggestions)."""
    names = ["inception10", "resnext_50_32x4d", "resnext_101_32x8d", "resnext_v2_50_32x4d", "resnext50_32x4d",
             "resnext101_32x8d"]
    for depth in DEPTHS:
        names += [f"resnet_v1_{depth}", f"resnet_v2_{depth}", f"resnet{depth}", f"ResNet{depth}", f"ResNet{depth}V2"]
    return tuple(name for name in names if _describable(name))


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
    parsed = _parse(str(name))
    return None if parsed is None else parsed[1]


def variant_text(changes):
    """`key=value,...` as `--variant` takes it, for messages telling users how to say a description."""
    return ",".join(f"{k}={'x'.join(map(str, v)) if isinstance(v, tuple) else v}" for k, v in changes.items())


def describe(name, source=None, **knobs):
    """The description an architecture name means, with `source`'s conventions and then `knobs` applied.

    name may carry the source: `keras1:resnet_v1_50`. Raises SlimcompatError
    with the known spellings when the name means nothing here.
    """
    if isinstance(name, (ResNet, Inception10)):
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
    family_knobs, default_source = parsed
    family = FAMILIES[family_knobs.pop("family", "resnet")]
    if family is ResNet and family_knobs["depth"] not in DEPTHS:
        raise SlimcompatError(f"unknown ResNet depth {family_knobs['depth']} in {text!r}; known: "
                              f"{', '.join(map(str, DEPTHS))}; {closest(text, known_names())}".rstrip("; "))
    source = source or default_source
    base = family(**family_knobs)
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
    cls = FAMILIES.get(family, ResNet)
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


def all_descriptions(source=None):
    """Every named network of every family, in `source`'s conventions where it has them (for detection)."""
    names = [f"resnet_v{v}_{d}" for v in (1, 2) for d in DEPTHS]
    names += ["resnext_50_32x4d", "resnext_101_32x8d", "inception10"]
    out = []
    for name in names:
        try:
            out.append(describe(name, source=source))
        except SlimcompatError:
            continue
    return out
