"""Records read from files (JSON objects), checked against a declarative spec before any field is used.

A record written by another machine, or crafted, may hold anything: a list
where an object belongs, a missing key, text where a number belongs. Readers
declare what they use as data and check it once, so the first problem is one
line naming the field, rather than a KeyError deep in the code that uses it.

A spec is:

- a type (`str`, `int`, `float`, `bool`, `dict`, `list`): an instance of it
  (an int is never a bool; a float may be an int);
- `{"key": spec, ...}`: an object with at least these keys, each matching;
- `{str: spec}`: an object whose every key is text and every value matches;
- `[spec]`: a list whose every item matches;
- `(spec, spec, ...)`: a list of exactly these items, in order;
- `Nullable(spec)`: null, or a match of spec;
- `Where(spec, test, words)`: a match of spec for which `test(value)` is true;
  `words` says what is expected ("a non-empty list of text").
"""

import dataclasses
from typing import Any, Callable

__all__ = ["Nullable", "Where", "problem"]

_WORDS = {str: "text", int: "an integer", float: "a number", bool: "true or false", dict: "an object", list: "a list"}


@dataclasses.dataclass(frozen=True)
class Nullable:
    spec: Any


@dataclasses.dataclass(frozen=True)
class Where:
    spec: Any
    test: Callable[[Any], bool]
    words: str


def _found(value, limit=40):
    kind = {dict: "an object", list: "a list", str: "text", bool: "a boolean", type(None): "null"}.get(type(value))
    text = repr(value)
    shown = text if len(text) <= limit else text[:limit] + "..."
    return kind if kind in ("an object", "a list") else (f"{kind} {shown}" if kind else shown)


def _is(value, kind):
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, kind)


def _expected(spec):
    if isinstance(spec, Where):
        return spec.words
    if isinstance(spec, Nullable):
        return f"{_expected(spec.spec)} or null"
    if isinstance(spec, type):
        return _WORDS.get(spec, spec.__name__)
    if isinstance(spec, dict):
        return "an object"
    if isinstance(spec, tuple):
        return f"a list of {len(spec)} items"
    return "a list"


def problem(value, spec, at="record"):
    """None when `value` matches `spec`, else one line: `at`'s path to the field, expected, found."""
    if isinstance(spec, Nullable):
        return None if value is None else problem(value, spec.spec, at)
    if isinstance(spec, Where):
        return problem(value, spec.spec, at) or \
            (None if spec.test(value) else f"{at}: expected {spec.words}, found {_found(value)}")
    shape_ok = (isinstance(spec, type) and _is(value, spec)) or (isinstance(spec, dict) and _is(value, dict)) or \
        (isinstance(spec, tuple) and _is(value, list) and len(value) == len(spec)) or \
        (isinstance(spec, list) and _is(value, list))
    if not shape_ok:
        return f"{at}: expected {_expected(spec)}, found {_found(value)}"
    if isinstance(spec, dict) and str in spec:
        for key, item in value.items():
            if (found := problem(item, spec[str], f"{at}[{key!r}]")) is not None:
                return found
        return None
    if isinstance(spec, dict):
        for key, item_spec in spec.items():
            if key not in value:
                return f"{at}: no {key!r}"
            if (found := problem(value[key], item_spec, f"{at}.{key}")) is not None:
                return found
    elif isinstance(spec, (tuple, list)):
        specs = spec if isinstance(spec, tuple) else spec * len(value)
        for i, (item, item_spec) in enumerate(zip(value, specs)):
            if (found := problem(item, item_spec, f"{at}[{i}]")) is not None:
                return found
    return None
