"""Every structural difference between two descriptions, with its cost and its effect on outputs.

Two networks of one family are aligned unit by unit through the canonical
names (`stage2/unit3/shortcut/kernel` is the same place in both). Each knob
that differs is one row, and every canonical tensor that is only on one side
or shaped otherwise is charged to exactly one row, by what creates it:

- a unit only on one side: `depth`; the classifier: `num_classes`;
  pre-activation BatchNorms: `preact`;
- a shortcut conv: `projection`; its BatchNorm: `shortcut_bn` (else
  `projection`); a conv bias: `conv_bias` (else `shortcut_bn`, whose absence
  gives a shortcut its bias, else `projection`);
- a shape that differs: the width knob that differs (groups, width per group,
  base width, stem width, stem kernel, block).

Multiply-adds are charged the same way per conv and dense layer; what a layer
computes more or less because its resolution differs (stem stride, stem
pooling, stage strides, stride placement) is charged to those knobs in that
order, each by the change it makes with the earlier ones already applied. So
the parameter column sums exactly to A minus B, counted as Keras counts (all
weights) and as PyTorch counts (trainable only), and so does the
multiply-add column.

A row's effect on outputs: none for training-only knobs (L2, dropout), else
the first canonical endpoint whose value changes when only that knob changes.
Knobs that differ in value but not in what the network computes (two
projection rules that pick the same units) are no difference: the first
description takes the second's value before comparing, and a knob whose
other value alone changes nothing given the others is left out.
"""

import dataclasses
from typing import List

from slimcompat.arch import ops
from slimcompat.errors import SlimcompatError
from slimcompat.structure import cost

__all__ = ["Row", "Diff", "diff", "harmonize", "first_endpoint", "GEOMETRY"]

GEOMETRY = ("stem_stride", "stem_pool", "stage_strides", "stride_placement")
_WIDTHS = ("block", "groups", "width_per_group", "base_width", "stem_width", "stem_kernel", "init_ch")
_UNIT_COUNT = ("depth", "units", "num_blocks", "units_per_block")


@dataclasses.dataclass
class Row:
    """One knob that differs: its values, what it costs A relative to B, where outputs start to differ."""

    knob: str
    label: str
    effect: str
    a: object
    b: object
    params: int = 0
    trainable: int = 0
    macs: int = 0
    outputs: str = ""
    units: List[str] = dataclasses.field(default_factory=list)

    def to_dict(self):
        out = dataclasses.asdict(self)
        out["a"], out["b"] = _jsonable(self.a), _jsonable(self.b)
        return out


@dataclasses.dataclass
class Diff:
    """The whole comparison; `rows` explain params_a - params_b, trainable_a - trainable_b and macs_a - macs_b."""

    a: object
    b: object
    a_label: str
    b_label: str
    input_hw: tuple
    rows: List[Row]
    params_a: int
    params_b: int
    trainable_a: int
    trainable_b: int
    macs_a: int
    macs_b: int
    units_a: List[str]
    units_b: List[str]
    notes: List[str] = dataclasses.field(default_factory=list)

    @property
    def same(self):
        return not self.rows

    def to_dict(self):
        return {"schema": "slimcompat-diff/1", "a": {"label": self.a_label, "description": self.a.to_dict(),
                                                     "name": self.a.name},
                "b": {"label": self.b_label, "description": self.b.to_dict(), "name": self.b.name},
                "input": list(self.input_hw), "same": self.same,
                "parameters": {"a": self.params_a, "b": self.params_b, "difference": self.params_a - self.params_b},
                "trainable": {"a": self.trainable_a, "b": self.trainable_b,
                              "difference": self.trainable_a - self.trainable_b},
                "macs": {"a": self.macs_a, "b": self.macs_b, "difference": self.macs_a - self.macs_b},
                "units": {"a": self.units_a, "b": self.units_b},
                "rows": [r.to_dict() for r in self.rows], "notes": list(self.notes)}


def _jsonable(value):
    return list(value) if isinstance(value, tuple) else value


def harmonize(description, toward):
    """`description` with each knob that differs from `toward` but computes the same taking `toward`'s value."""
    if type(description) is not type(toward):
        return description
    plan = description.plan()
    for knob, _, effect, _, theirs in description.differences(toward):
        if effect not in ("shape", "output"):
            continue
        try:
            candidate = description.replace(**{knob: theirs})
        except (SlimcompatError, TypeError):
            continue
        if candidate.plan() == plan:
            description = candidate
    return description


def diff(a, b, a_label=None, b_label=None, input_hw=(224, 224)):
    """The Diff of description `a` against `b` (see module doc)."""
    a = harmonize(a, b)
    sizes_a, sizes_b = cost.tensor_sizes(a), cost.tensor_sizes(b)
    layers_a, layers_b = cost.layer_costs(a, input_hw), cost.layer_costs(b, input_hw)
    result = Diff(a, b, a_label or a.name, b_label or b.name, tuple(input_hw), [], sum(sizes_a.values()),
                  sum(sizes_b.values()), _trainable(sizes_a), _trainable(sizes_b), _total(layers_a),
                  _total(layers_b), _units(a), _units(b))
    if type(a) is not type(b):
        row = Row("family", "network family", "shape", a.family, b.family, result.params_a - result.params_b,
                  result.trainable_a - result.trainable_b, result.macs_a - result.macs_b,
                  "from stem (every endpoint)", ["all"])
        result.rows = [row]
        return result
    differing = a.differences(b)
    rows = {knob: Row(knob, label, effect, va, vb) for knob, label, effect, va, vb in differing}
    knobs = list(rows)
    cause = _Causes(a, b, knobs)
    tensors_a, tensors_b = a.tensors(), b.tensors()
    for name in sorted(set(sizes_a) | set(sizes_b), key=_order(sizes_a, sizes_b)):
        size_a, size_b = sizes_a.get(name, 0), sizes_b.get(name, 0)
        if tensors_a.get(name) == tensors_b.get(name):
            continue
        row = rows[cause(name)]
        row.params += size_a - size_b
        if not name.endswith(cost.STATISTICS):
            row.trainable += size_a - size_b
        _touch(row, name)
    _charge_macs(a, b, layers_a, layers_b, rows, knobs, input_hw, cause)
    for row in rows.values():
        row.outputs = _outputs(row, a, b)
    result.rows = [rows[k] for k in knobs if not _inert(rows[k])]
    _check(result)
    return result


def _inert(row):
    """A knob whose other value changes nothing given the other knobs (two rules picking the same shortcuts)."""
    return not (row.params or row.trainable or row.macs) and row.outputs == "none"


def _trainable(sizes):
    return sum(n for name, n in sizes.items() if not name.endswith(cost.STATISTICS))


def _total(layers):
    return sum(c for c, _, _ in layers.values())


def _units(description):
    return [e for e in description.endpoint_names() if e.startswith("stage")]


def _order(sizes_a, sizes_b):
    names = list(sizes_a) + [n for n in sizes_b if n not in sizes_a]
    rank = {n: i for i, n in enumerate(names)}
    return lambda n: rank[n]


def _unit(name):
    parts = name.split("/")
    return "/".join(parts[:2]) if parts[0].startswith("stage") else parts[0]


def _touch(row, name):
    unit = _unit(name)
    if unit not in row.units:
        row.units.append(unit)


def _first(knobs, *candidates):
    return next((k for k in candidates if k in knobs), None)


def _replaced(description, other, knob, knobs):
    """`description` with `other`'s value of `knob` (unit-count knobs move together); None if invalid."""
    group = [k for k in _UNIT_COUNT if k in knobs] if knob in _UNIT_COUNT else [knob]
    try:
        return description.replace(**{k: getattr(other, k) for k in group})
    except (SlimcompatError, TypeError):
        return None


class _Causes:
    """The knob charged with a canonical tensor that is on one side only or shaped otherwise.

    First the knob that alone accounts for it: B with A's value of that knob has
    the tensor as A has it (or A with B's value has it as B has it). Where no
    single knob does, the rules of the module doc decide.
    """

    def __init__(self, a, b, knobs):
        self.a, self.b, self.knobs = a, b, knobs
        self.tensors_a, self.tensors_b = a.tensors(), b.tensors()
        self.b_with_a, self.a_with_b = {}, {}
        for knob in knobs:
            for base, other, table in ((b, a, self.b_with_a), (a, b, self.a_with_b)):
                changed = _replaced(base, other, knob, knobs)
                table[knob] = changed.tensors() if changed is not None else None

    def __call__(self, name):
        mine, theirs = self.tensors_a.get(name), self.tensors_b.get(name)
        sufficient = []
        for knob in self.knobs:
            toward_a, toward_b = self.b_with_a[knob], self.a_with_b[knob]
            creates_a = mine is not None and toward_a is not None and toward_a.get(name) == mine
            creates_b = theirs is not None and toward_b is not None and toward_b.get(name) == theirs
            if creates_a or creates_b:
                sufficient.append(knob)
        if not sufficient and (mine is None) != (theirs is None):
            # on one side only, in a shape no knob alone gives (aux logits of other classes): the knob adding it
            other = self.b_with_a if mine is not None else self.a_with_b
            sufficient = [knob for knob in self.knobs if name in (other[knob] or {})]
        preferred = self._preferred(name)
        return (next((k for k in preferred if k in sufficient), None) or (sufficient[0] if sufficient else None)
                or self._presence(name, mine, theirs)
                or next((k for k in preferred if k in self.knobs), None)
                or _first(self.knobs, *_UNIT_COUNT, *_WIDTHS) or self.knobs[0])

    def _presence(self, name, mine, theirs):
        """The knob that alone puts a one-sided tensor on its side, whatever its shape there (an auxiliary
        head's classifier, also sized by the classes), or None."""
        for knob in self.knobs:
            toward_a, toward_b = self.b_with_a[knob], self.a_with_b[knob]
            if theirs is None and toward_a is not None and name in toward_a:
                return knob
            if mine is None and toward_b is not None and name in toward_b:
                return knob
        return None

    def _preferred(self, name):
        """Knobs that usually put such a tensor on one side, most specific first (the module doc's rules)."""
        layer, _, param = name.rpartition("/")
        unit = _unit(name)
        if unit.startswith("stage") and (unit in _units(self.a)) != (unit in _units(self.b)):
            return _UNIT_COUNT
        if layer == "logits":
            return ("num_classes",) + _WIDTHS
        if "/preact" in f"/{layer}" or layer == "postnorm":
            return ("preact",)
        if layer.endswith("/shortcut") and param == "kernel":
            return ("projection", "preact") + GEOMETRY
        if "/shortcut/bn" in layer:
            return ("shortcut_bn", "projection", "preact")
        if param == "bias":
            return ("conv_bias", "shortcut_bn", "projection", "preact")
        if param in ("gamma", "beta") + cost.STATISTICS:
            return ("preact",) + _WIDTHS
        return _WIDTHS + ("num_classes",)


def _charge_macs(a, b, layers_a, layers_b, rows, knobs, input_hw, cause):
    """Multiply-adds per layer: kernel changes to the tensor's knob, resolution changes to the geometry knobs."""
    geometry = [k for k in knobs if k in GEOMETRY]
    steps = _geometry_steps(b, a, geometry, input_hw)
    for layer in list(layers_a) + [n for n in layers_b if n not in layers_a]:
        if layer not in layers_b or layer not in layers_a:
            total, _, _ = layers_a.get(layer) or layers_b.get(layer)
            sign = 1 if layer in layers_a else -1
            kernel = f"{layer}/kernel"
            row = rows[cause(kernel)]
            row.macs += sign * total
            _touch(row, kernel)
            continue
        _, per_a, hw_a = layers_a[layer]
        _, per_b, hw_b = layers_b[layer]
        if per_a != per_b:
            row = rows[cause(f"{layer}/kernel")]
            row.macs += (per_a - per_b) * hw_a[0] * hw_a[1]
            _touch(row, f"{layer}/kernel")
        if hw_a != hw_b:
            previous = hw_b[0] * hw_b[1]
            for knob, sizes in steps:
                current = sizes.get(layer, hw_b)
                current = current[0] * current[1]
                if current != previous:
                    rows[knob].macs += per_b * (current - previous)
                    _touch(rows[knob], layer)
                    previous = current
            final = hw_a[0] * hw_a[1]
            if final != previous:
                knob = geometry[-1] if geometry else _first(knobs, *_UNIT_COUNT) or knobs[0]
                rows[knob].macs += per_b * (final - previous)
                _touch(rows[knob], layer)


def _geometry_steps(b, a, geometry, input_hw):
    """[(knob, {layer: output H x W})]: B with A's geometry knobs applied one at a time."""
    steps, current = [], b
    for knob in geometry:
        try:
            current = current.replace(**{knob: getattr(a, knob)})
        except SlimcompatError:
            continue
        steps.append((knob, {layer: hw for layer, (_, _, hw) in cost.layer_costs(current, input_hw).items()}))
    return steps


def first_endpoint(plan_a, plan_b):
    """The first canonical endpoint at or after the first op where two plans differ; None if they do not."""
    walked_a, walked_b = list(_walk_with_endpoints(plan_a)), list(_walk_with_endpoints(plan_b))
    ends_a, ends_b = ([op.name for op in _leaves(p) if isinstance(op, ops.Endpoint)] for p in (plan_a, plan_b))
    # the plan with more endpoints first: the endpoints of a side head on one side only keep their place
    order = max(ends_a, ends_b, key=len)
    order += [e for e in min(ends_a, ends_b, key=len) if e not in order]

    def earlier(*ends):
        known = [e for e in ends if e is not None]
        return min(known, key=order.index) if known else "model output (after logits)"
    for (op_a, end_a), (op_b, end_b) in zip(walked_a, walked_b):
        if op_a != op_b:
            return earlier(end_a, end_b)
    if len(walked_a) != len(walked_b):
        longer = walked_a if len(walked_a) > len(walked_b) else walked_b
        return earlier(longer[min(len(walked_a), len(walked_b))][1])
    return None


def _walk_with_endpoints(plan):
    """(leaf op, the endpoint that follows it) in forward order."""
    pending = []
    for op in _leaves(plan):
        if isinstance(op, ops.Endpoint):
            for leaf in pending:
                yield leaf, op.name
            pending = []
        else:
            pending.append(op)
    for leaf in pending:
        yield leaf, None


def _leaves(plan):
    for op in plan:
        if isinstance(op, ops.Residual):
            yield from _leaves(op.pre)
            yield ("shortcut",)
            yield from _leaves(op.shortcut)
            yield ("main",)
            yield from _leaves(op.main)
            yield ("add",) if op.scale == 1.0 else ("add", op.scale)
            yield from _leaves(op.post)
        elif isinstance(op, ops.Concat):
            for branch in op.branches:
                yield ("branch",)
                yield from _leaves(branch)
            yield ("concat",)
        elif isinstance(op, ops.Aux):
            yield ("aux",)
            yield from _leaves(op.ops)
            yield ("aux end",)
        else:
            yield op


def _outputs(row, a, b):
    if row.effect == "training":
        return "none (training only)"
    knobs = [k for k, *_ in a.differences(b)]
    for base, other in ((b, a), (a, b)):
        changed = _replaced(base, other, row.knob, knobs)
        if changed is None:
            continue
        where = first_endpoint(base.plan(), changed.plan())
        if where is None:
            return "none"
        return where if where.startswith("model output") else f"from {where}"
    where = first_endpoint(a.plan(), b.plan())
    return f"from {where} (with other knobs)" if where else "none"


def _check(result):
    """The rows must explain the totals exactly; a shortfall is a bug here, never a rounding."""
    for field, total in (("params", result.params_a - result.params_b),
                         ("trainable", result.trainable_a - result.trainable_b),
                         ("macs", result.macs_a - result.macs_b)):
        explained = sum(getattr(r, field) for r in result.rows)
        if explained != total:
            raise AssertionError(f"diff: rows explain {explained} {field}, the totals differ by {total}")
