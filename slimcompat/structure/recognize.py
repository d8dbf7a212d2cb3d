"""Which description a model is, with every knob, and which canonical tensor each of its variables is.

`recognize(model)` traces the model (slimcompat.structure.graph), reads its
forward pass as ops and merges (slimcompat.structure.sequence), and derives
the knobs of the family its merges imply: residual adds make a ResNet (v1 or
pre-activation, basic or bottleneck, groups, stem, where strides sit, which
units project their shortcut and how, activations, biases, epsilon, head),
four-branch concats an Inception10. Families that declare candidates
(`recognize` in their module: VGG, the MobileNets, the Inceptions) are
tried description by description instead. The description is then checked
the other way: its plan must match the model op for op, and that match names
the model variable behind every canonical tensor and the model tensor behind
every canonical endpoint. Nothing is read from layer names or creation order.

Where the trace does not fit, RecognitionError names the user's op (its name
shows the layer) and what a description would need there; nothing is guessed.
Knobs the forward pass cannot show are said: L2 is read from the layers'
regularizers, and a background class is never assumed.
"""

import dataclasses
import math
from typing import Dict, List

import numpy as np

from slimcompat.arch import RECORDS, Inception10, ResNet
from slimcompat.errors import SlimcompatError
from slimcompat.structure import graph, sequence
from slimcompat.structure.simplify import simplify
from slimcompat.structure.graph import RecognitionError, variable_name

__all__ = ["Recognition", "recognize", "RecognitionError", "PROJECTION_PREFERENCE"]

# When several projection rules give the same units, the first that does (they describe one network).
PROJECTION_PREFERENCE = ("channels", "first", "shape", "all")


@dataclasses.dataclass(repr=False)
class Recognition:
    """A recognised model: its description, tensors, endpoints, and what was noticed on the way."""

    description: object
    tensors: Dict[str, tuple]          # canonical tensor -> model variables (several: one per group)
    endpoints: Dict[str, object]       # canonical endpoint -> graph.Node
    traced: object
    notes: List[str]
    unused: List[str]                  # float model variables the forward pass never reads
    model: object = None

    @property
    def input_shape(self):
        return self.traced.input_shape

    def __repr__(self):
        return f"Recognition({self.description.name}, {len(self.tensors)} tensors)"

    def variable_names(self):
        """{canonical tensor: [the model's names for its variables]}."""
        return {name: [variable_name(v) for v in variables] for name, variables in self.tensors.items()}

    def grouped(self):
        """{canonical tensor: groups} for tensors the model holds as per-group variables."""
        return {name: len(vs) for name, vs in self.tensors.items() if len(vs) > 1}

    def summary(self):
        d = self.description
        lines = [f"{d.name}: {d.parameter_count():,} parameters in {len(self.tensors)} canonical tensors "
                 f"(model: {sum(len(v) for v in self.tensors.values())} variables), "
                 f"input {'x'.join(map(str, self.input_shape))}"]
        knobs = [(k, getattr(d, k)) for k, _, _ in d.knobs()]
        lines.append("  " + ", ".join(f"{k}={'x'.join(map(str, v)) if isinstance(v, tuple) else v}"
                                      for k, v in knobs))
        grouped = [n for n in self.grouped() if n.endswith("/kernel")]
        if grouped:
            lines.append(f"  {len(grouped)} grouped convs held as one Conv2D per group "
                         f"({self.grouped()[grouped[0]]} groups)")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def recognize(model, input_shape=None, keep_function=False):
    """The Recognition of a Keras 3 or tf-keras model (see module doc); RecognitionError if none fits."""
    traced = graph.trace(model, input_shape, keep_function=keep_function)
    simplify(traced)
    items = sequence.model_items(traced)
    try:
        description, notes = _derived(model, traced, items)
        matched = sequence.match(description.plan(), items, description.name)
    except RecognitionError:
        notes = list(traced.notes)
        description, matched, nearest = _candidate(traced, items, _shown_knobs(model, traced, notes))
        if description is None:
            if nearest is not None:
                raise nearest from None
            raise
    tensors = _tensors(description, matched)
    return Recognition(description, tensors, matched.endpoints, traced, notes, _unused(traced, tensors), model)


def _shown_knobs(model, traced, notes):
    """Training knobs a model shows though its structure does not: L2 from its regularizers, the dropout rate."""
    rates = [n.attrs["rate"] for n in traced.nodes if n.kind == "dropout"]
    return {**_regularization(model, traced, notes), "dropout": rates[-1] if rates else 0.0}


def _candidate(traced, items, shown):
    """(description, Matched, None) of the first declared candidate whose plan matches the model op for op, else
    (None, None, the first difference found from a candidate of the model's size, or None).

    A candidate takes the knobs the model shows (`shown`) where its family has
    them, must then have the model's parameter count (cheap); only then is its
    plan walked against the model's items.
    """
    nearest = None
    count = sum(int(np.prod(v.shape)) for v in traced.variables.values()
                if "float" in str(getattr(getattr(v, "dtype", None), "name", getattr(v, "dtype", ""))))
    classes, hw = _classes(traced), tuple(traced.input_shape[:2])
    for record in RECORDS:
        if record.recognize is None:
            continue
        # networks differing only in the size they were trained at: the one of the traced size first
        for description in sorted(record.recognize(classes, hw), key=lambda d: d.input_size != hw):
            if description.parameter_count() != count:
                continue
            description = description.replace(**{k: v for k, v in shown.items() if hasattr(description, k)})
            plan = sequence.as_dense_head(description.plan(), traced.input_shape[:2])
            try:
                return description, sequence.match(plan, items, description.name), None
            except RecognitionError as exc:
                nearest = nearest or exc
    return None, None, nearest


def _classes(traced):
    """Output channels of the last layer holding a kernel (the classifier's classes), None without one."""
    for node in reversed(traced.nodes):
        kernel = node.params.get("kernel")
        if kernel:
            return int(kernel[0].shape[-1])
    return None


def _derived(model, traced, items):
    """(description, notes) of the families whose knobs the structure gives (ResNet, Inception10)."""
    merges = {item.merge.kind for item in items if item.merge is not None}
    unknown = next((n for n in traced.nodes if n.kind in ("unknown", "affine", "pad", "reshape", "slice", "avgpool")),
                   None)
    if unknown is not None:
        raise RecognitionError(f"{unknown.where()}: {_unknown_text(unknown)}; no description has it")
    if merges == {"add"}:
        knobs = _ResNetKnobs(items).knobs()
        family = ResNet
    elif merges == {"concat"}:
        knobs = _inception_knobs(items)
        family = Inception10
    elif not merges:
        raise RecognitionError("the model has no residual adds or branch concats: a plain network, which no "
                               "described family is")
    else:
        raise RecognitionError(f"the model mixes {' and '.join(sorted(merges))} merges; no described family does")
    notes = list(traced.notes)
    knobs.update(_regularization(model, traced, notes))
    try:
        return family(**knobs), notes
    except SlimcompatError as exc:
        raise RecognitionError(f"the model's structure gives knobs no {family.family} description accepts: "
                               f"{exc}") from None


def _unknown_text(node):
    if node.kind == "affine":
        return "a per-channel scale or shift that is not a BatchNorm"
    if node.kind == "pad":
        return f"zero padding {node.attrs['pads']} that no conv or pool takes"
    if node.kind == "reshape":
        return f"a reshape from {_shape(node.inputs[0].shape)} to {_shape(node.shape)}"
    if node.kind == "slice":
        return "a channel slice that is not part of a grouped conv"
    if node.kind == "avgpool":
        return f"average pooling {node.attrs['size']}/{node.attrs['stride']} that is not global at this input size"
    return f"{node.op_type}, an op no family computes"


def _shape(shape):
    return "x".join(str(d) for d in shape[1:])


def _tensors(description, matched):
    """{canonical tensor: (model variables)} from the matched plan ops."""
    out = {}
    for plan_op, node in matched.pairs:
        for name, shape in (plan_op.tensors() if hasattr(plan_op, "tensors") else []):
            role = name.rsplit("/", 1)[-1]
            out[name] = tuple(node.params[role])
    expected = description.tensors()
    missing = [n for n in expected if n not in out]
    if missing:
        raise RecognitionError(f"{description.name}: no model variable for {', '.join(missing[:3])}")
    return {name: out[name] for name in expected}


def _unused(traced, tensors):
    used = {id(v) for vs in tensors.values() for v in vs}
    out = []
    for key, variable in traced.variables.items():
        dtype = getattr(getattr(variable, "dtype", None), "name", str(getattr(variable, "dtype", "")))
        if key not in used and "float" in str(dtype):
            out.append(variable_name(variable))
    return out


# ----------------------------------------------------------------- ResNet

@dataclasses.dataclass(repr=False)
class _Unit:
    merge: object
    input: object
    shortcut: list
    main: list
    pre: list
    post: list

    @property
    def convs(self):
        return [n for n in self.main if n.kind == "conv"]

    @property
    def stride(self):
        return math.prod(c.attrs["stride"][0] for c in self.convs)

    @property
    def in_channels(self):
        return self.input.channels

    @property
    def out_channels(self):
        return self.merge.channels

    @property
    def projection(self):
        return any(n.kind == "conv" for n in self.shortcut)


class _ResNetKnobs:
    """ResNet knobs read off the model's items, unit by unit."""

    def __init__(self, items):
        self.items = items
        merge_at = [i for i, item in enumerate(items) if item.merge is not None]
        _, first_main = self._roles(items[merge_at[0]])
        convs = [n for n in first_main if n.kind == "conv"]
        self.preact = not (convs and self._followed_by_bn(first_main, convs[-1]))
        self.stem, pending = self._stem([item.op for item in items[:merge_at[0]]])
        self.units = []
        value = self.stem[-1]
        for k, at in enumerate(merge_at):
            item = items[at]
            shortcut, main = self._roles(item)
            pre = pending
            if self.preact and not pre and [n.kind for n in main[:2]] == ["bn", "act"]:
                pre, main = main[:2], main[2:]
            unit = _Unit(item.merge, value, shortcut, main, pre, [])
            following = [i.op for i in items[at + 1:merge_at[k + 1]]] if k + 1 < len(merge_at) else []
            if following[:1] and following[0].kind == "act":
                unit.post, following = following[:1], following[1:]
            pending = following
            self.units.append(unit)
            value = unit.post[-1] if unit.post else item.merge
        self.head = self._head(items[merge_at[-1] + 1:])

    def _stem(self, leading):
        """(stem ops, the first unit's pre ops): a pre-activation net's first unit may start with bn, act."""
        if not leading or leading[0].kind != "conv":
            raise RecognitionError(f"{(leading[0] if leading else self.items[0].node).where()}: a ResNet starts "
                                   f"with a stem conv")
        if self.preact and len(leading) >= 3 and [n.kind for n in leading[-2:]] == ["bn", "act"]:
            return leading[:-2], leading[-2:]
        return leading, []

    def _roles(self, item):
        """(shortcut, main) of an add: main holds two or three convs, the shortcut at most one."""
        counts = [sum(n.kind == "conv" for n in b) for b in item.branches]
        if len(counts) != 2 or sorted(counts)[0] > 1 or max(counts) < 2:
            raise RecognitionError(f"{item.merge.where()}: an add of branches with {counts} convs; a residual unit "
                                   f"adds a branch of two or three convs to an identity or a one-conv shortcut")
        main = 0 if counts[0] >= 2 else 1
        return item.branches[1 - main], item.branches[main]

    def _head(self, after):
        ops = [item.op for item in after]
        if not ops:
            raise RecognitionError("the model ends at a residual add: a ResNet ends with global pooling")
        return ops

    # -- knobs
    def knobs(self):
        units = self.units
        first = units[0]
        preact = self.preact
        block = {2: "basic", 3: "bottleneck"}.get(len(first.convs))
        if block is None:
            raise RecognitionError(f"{first.merge.where()}: a residual branch of {len(first.convs)} convs; "
                                   f"ResNets have 2 (basic) or 3 (bottleneck)")
        stages = self._stages()
        counts = tuple(len(s) for s in stages)
        expansion = 1 if block == "basic" else 4
        planes = stages[0][0].out_channels // expansion
        stem_conv = self.stem[0]
        knobs = dict(preact=preact, block=block, units=counts,
                     depth=(2 if block == "basic" else 3) * sum(counts) + 2,
                     base_width=planes, stem_width=stem_conv.channels, stem_kernel=stem_conv.attrs["kernel"][0],
                     stem_stride=stem_conv.attrs["stride"][0], stem_pool=self._stem_pool())
        if block == "bottleneck":
            middle = first.convs[1]
            groups = middle.attrs["groups"]
            width = middle.channels
            wpg = width * 64 / (planes * groups)
            if wpg != int(wpg):
                raise RecognitionError(f"{middle.where()}: width {width} in {groups} groups is no whole width per "
                                       f"group for {planes} planes")
            knobs.update(groups=groups, width_per_group=int(wpg))
        knobs["stage_strides"] = tuple(math.prod(u.stride for u in stage) for stage in stages)
        knobs.update(self._placement(stages, block))
        knobs.update(self._padding())
        knobs.update(self._shortcuts(stages))
        knobs.update(self._acts(preact))
        knobs["conv_bias"] = "bias" in first.convs[0].params
        knobs["bn_epsilon"] = next(n.attrs["epsilon"] for u in units for n in u.main + u.pre if n.kind == "bn")
        knobs.update(_head_knobs(self.head, preact))
        knobs.setdefault("background_class", False)
        return knobs

    @staticmethod
    def _followed_by_bn(chain, conv):
        i = chain.index(conv)
        return i + 1 < len(chain) and chain[i + 1].kind == "bn"

    def _stages(self):
        stages = []
        for i, unit in enumerate(self.units):
            if i == 0 or unit.out_channels != self.units[i - 1].out_channels:
                stages.append([])
            stages[-1].append(unit)
        return stages

    def _stem_pool(self):
        pools = [n for n in self.stem if n.kind == "maxpool"]
        if not pools:
            return "none"
        pool = pools[0]
        if pool.attrs["size"] != (3, 3) or pool.attrs["stride"] != (2, 2):
            raise RecognitionError(f"{pool.where()}: a {pool.attrs['size']}/{pool.attrs['stride']} stem pool; "
                                   f"ResNet stems pool 3x3/2")
        return pool.attrs["padding"]

    def _placement(self, stages, block):
        """stride_placement: where each strided stage's stride sits, one answer for all of them."""
        possible = None
        for stage in stages:
            strided = [(i, u) for i, u in enumerate(stage) if u.stride > 1]
            if not strided:
                continue
            index, unit = strided[0]
            conv = next(k for k, c in enumerate(unit.convs) if c.attrs["stride"][0] > 1)
            here = set()
            if index == 0:
                here.add("first_unit_1x1" if (block == "bottleneck" and conv == 0) else
                         "first_unit_3x3" if (block == "bottleneck") == (conv == 1) else None)
            if index == len(stage) - 1 and (block == "bottleneck") == (conv == 1):
                here.add("last_unit_3x3")
            here.discard(None)
            possible = here if possible is None else possible & here
        if possible is None:
            return {}
        if not possible:
            raise RecognitionError("the stages stride in different places (first unit in one, last in another); "
                                   "a description has one stride placement")
        return {"stride_placement": "last_unit_3x3" if "last_unit_3x3" in possible else sorted(possible)[0]}

    def _padding(self):
        convs = [c for c in self.stem if c.kind == "conv"] + [c for u in self.units for c in u.convs + u.shortcut
                                                              if c.kind == "conv"]
        strided = {c.attrs["padding"] for c in convs if c.attrs["stride"][0] > 1 and c.attrs["kernel"][0] > 1}
        strided.discard(None)
        if len(strided) > 1:
            raise RecognitionError(f"strided convs pad in several ways ({', '.join(sorted(strided))}); a description "
                                   f"has one padding")
        return {"padding": strided.pop()} if strided and next(iter(strided)) in ("same", "explicit") else {}

    def _shortcuts(self, stages):
        projected = [u.projection for u in self.units]
        rows = [(u.in_channels, u.out_channels, u.stride, i == 0) for stage in stages for i, u in enumerate(stage)]
        rules = {"channels": [a != b for a, b, _, _ in rows], "shape": [a != b or s > 1 for a, b, s, _ in rows],
                 "first": [f or a != b for a, b, _, f in rows], "all": [True] * len(rows)}
        rule = next((r for r in PROJECTION_PREFERENCE if rules[r] == projected), None)
        if rule is None:
            shown = ", ".join(f"stage{s + 1}/unit{i + 1}" for s, stage in enumerate(stages)
                              for i, u in enumerate(stage) if u.projection)
            raise RecognitionError(f"projection shortcuts on {shown or 'no unit'}: no projection rule "
                                   f"({', '.join(PROJECTION_PREFERENCE)}) gives these units")
        out = {"projection": rule}
        shortcuts = [u.shortcut for u in self.units if u.projection]
        if shortcuts:
            out["shortcut_bn"] = any(n.kind == "bn" for n in shortcuts[0])
            out["shortcut_act"] = shortcuts[0][-1].kind == "act"
        return out

    def _acts(self, preact):
        acts = [n for n in self.stem + [n for u in self.units for n in u.pre + u.main + u.post + u.shortcut]
                if n.kind == "act"]
        out = {}
        if acts:
            out["activation"] = acts[0].attrs["kind"]
            if out["activation"] == "elu":
                out["elu_alpha"] = acts[0].attrs["alpha"]
        first = self.units[0]
        out["residual_act"] = bool(first.main) and first.main[-1].kind == "act"
        out["add_act"] = bool(first.post)
        return out


def _head_knobs(ops, preact):
    """num_classes, dropout, softmax from the ops after the last unit (post-norm first when pre-activation)."""
    rest = list(ops)
    if rest and rest[0].kind == "act" and not preact:
        rest = rest[1:]
    if preact and len(rest) >= 2 and rest[0].kind == "bn" and rest[1].kind == "act":
        rest = rest[2:]
    knobs = {"num_classes": None, "dropout": 0.0, "softmax": False}
    if not rest or rest[0].kind != "gap":
        node = rest[0] if rest else ops[-1]
        raise RecognitionError(f"{node.where()}: the head does not start with global average pooling")
    for node in rest[1:]:
        if node.kind == "dense" and knobs["num_classes"] is None:
            knobs["num_classes"] = node.attrs["kernel"][1]
        elif node.kind == "dropout":
            knobs["dropout"] = node.attrs["rate"]
        elif node.kind == "softmax":
            knobs["softmax"] = True
    return knobs


# ----------------------------------------------------------------- Inception10

def _inception_knobs(items):
    leading = []
    for item in items:
        if item.merge is not None:
            break
        leading.append(item.op)
    if [n.kind for n in leading] != ["conv", "bn", "act"]:
        raise RecognitionError(f"{(leading or [items[0].node])[0].where()}: an Inception10 starts with conv, "
                               f"BatchNorm, activation")
    conv, bn, act = leading
    merges = [item for item in items if item.merge is not None]
    widths = [m.merge.channels for m in merges]
    stages = []
    for i, w in enumerate(widths):
        if i == 0 or w != widths[i - 1]:
            stages.append(0)
        stages[-1] += 1
    if len(set(stages)) != 1:
        raise RecognitionError(f"Inception stages of {stages} units; an Inception10 has the same number in each")
    last = max(i for i, item in enumerate(items) if item.merge is not None)
    knobs = dict(num_blocks=len(stages), init_ch=conv.channels, units_per_block=stages[0],
                 conv_bias="bias" in conv.params, bn_epsilon=bn.attrs["epsilon"], activation=act.attrs["kind"])
    if act.attrs["kind"] == "elu":
        knobs["elu_alpha"] = act.attrs["alpha"]
    knobs.update(_head_knobs([item.op for item in items[last + 1:]], preact=False))
    return knobs


# ----------------------------------------------------------------- training-only knobs

def _regularization(model, traced, notes):
    """{"l2": c} when every conv kernel has the same L2 regularizer (c as Keras counts it: c * sum(w**2))."""
    coefficients = {}
    for layer in _leaf_layers(model):
        for attr in ("kernel_regularizer",):
            regularizer = getattr(layer, attr, None)
            kernel = getattr(layer, "kernel", None)
            if kernel is None:
                continue
            coefficients[id(kernel)] = (_l2_of(regularizer), layer)
    convs = [n.params["kernel"] for n in traced.nodes if n.kind == "conv"]
    values = {coefficients.get(id(v), (0.0, None))[0] for vs in convs for v in vs}
    dense = [n for n in traced.nodes if n.kind == "dense"]
    for node in dense:
        c = coefficients.get(id(node.params["kernel"][0]), (0.0, None))[0]
        if c:
            notes.append(f"{node.where()}: L2 {c:g} on the classifier kernel, which no knob describes (training "
                         f"only)")
    if len(values) == 1:
        return {"l2": values.pop()}
    notes.append(f"conv kernels carry several L2 coefficients ({', '.join(f'{v:g}' for v in sorted(values))}); "
                 f"recorded as none (training only)")
    return {"l2": 0.0}


def _leaf_layers(model):
    try:
        layers = list(model._flatten_layers(include_self=False))
    except (AttributeError, TypeError):
        return []
    return layers


def _l2_of(regularizer):
    if regularizer is None:
        return 0.0
    l2 = getattr(regularizer, "l2", None)
    l1 = getattr(regularizer, "l1", 0.0) or 0.0
    if l2 is None or float(l1):
        return 0.0
    return graph.float32(float(np.asarray(l2)))
