"""Forward passes as sequences of ops and merges, so that a model's trace and a description's plan compare.

Both sides are put in one form: a sequence of items, each either one op
(conv, bn, act, maxpool, gap, dense, dropout, softmax) or a merge (add,
concat) of branches that start at the same value, each branch a chain of ops.
A model's graph becomes that form through its cut nodes (values every path
from input to output passes through); a plan through its Residual and Concat
units. `match` then walks both, op against op, the two branches of an add in
either order, and returns which model node each plan op is, and which node
each canonical endpoint is; or raises RecognitionError at the first place
they differ, naming the model's op there and what the plan expects.
"""

import dataclasses
import itertools
from typing import List, Optional

import numpy as np

from slimcompat.arch import ops
from slimcompat.structure.graph import Node, RecognitionError

__all__ = ["Item", "model_items", "plan_items", "signature", "describe_op", "match", "Matched"]


@dataclasses.dataclass
class Item:
    """One op (`op`), one merge (`merge` with `branches`), or an endpoint marker (`endpoint`, plans only)."""

    op: object = None
    merge: object = None
    branches: List[list] = None
    endpoint: Optional[str] = None
    unit: Optional[str] = None

    @property
    def node(self):
        return self.merge if self.merge is not None else self.op


# ----------------------------------------------------------------- model side

def model_items(traced):
    """The traced graph as items, cut node by cut node (see module doc)."""
    nodes = traced.nodes
    index = {id(n): i for i, n in enumerate(nodes)}
    last_use = {}
    for i, node in enumerate(nodes):
        for source in node.inputs:
            last_use[id(source)] = max(last_use.get(id(source), -1), i)
    reach, cuts = -1, []
    for i, node in enumerate(nodes):
        if reach <= i:
            cuts.append(node)
        reach = max(reach, last_use.get(id(node), -1))
    if not cuts or cuts[0].kind != "input" or cuts[-1] is not traced.output:
        raise RecognitionError("the traced graph has no single path from input to output")
    items = []
    for before, cut in zip(cuts, cuts[1:]):
        region = {id(n) for n in nodes[index[id(before)] + 1:index[id(cut)]]}
        if not region and cut.inputs == [before]:
            items.append(Item(op=cut))
            continue
        if cut.kind not in ("add", "concat"):
            raise RecognitionError(f"{cut.where()}: {_kind(cut)} joins {len(cut.inputs)} paths; only add and "
                                   f"concat merge branches in the families described")
        branches, covered = [], set()
        for start in cut.inputs:
            chain, node = [], start
            while node is not before:
                if id(node) not in region or len(node.inputs) != 1:
                    raise RecognitionError(f"{cut.where()}: a branch of this {cut.kind} is not a chain of single "
                                           f"ops from {before.where()} (at {node.where()})")
                chain.append(node)
                covered.add(id(node))
                node = node.inputs[0]
            branches.append(chain[::-1])
        if covered != region:
            stray = next(n for n in nodes if id(n) in region - covered)
            raise RecognitionError(f"{stray.where()}: computed between {before.where()} and {cut.where()} but used "
                                   f"by neither branch")
        items.append(Item(merge=cut, branches=branches))
    return items


def _kind(node):
    return node.kind if node.kind != "unknown" else f"{node.op_type} (no family has it)"


# ----------------------------------------------------------------- plan side

def as_dense_head(plan, input_hw):
    """`plan` with its fully-connected layers held as convolutions (slim's VGG fc6..fc8, a 1x1 classifier) written
    as the Flatten + Dense a model traced at `input_hw` computes: a valid conv whose kernel covers the whole map,
    then 1x1 convs on the 1x1 map, are dense layers of the same tensors (held in another rank), and the squeeze
    after them does nothing. Only the top level is rewritten; the plan is returned unchanged where nothing fits."""
    from slimcompat.structure.cost import output_size
    out, hw, flat = [], tuple(input_hw), False
    for op in plan:
        if isinstance(op, ops.Conv) and op.groups == 1 and op.stride == 1 and (
                (op.padding == "valid" and op.size == hw) or (flat and op.size == (1, 1))):
            if not flat:
                out.append(ops.Flatten())
                flat = True
            out.append(ops.Dense(op.layer, op.size[0] * op.size[1] * op.in_channels, op.filters, op.bias))
            hw = (1, 1)
            continue
        if flat and isinstance(op, ops.Flatten):
            continue
        out.append(op)
        hw = output_size(op, hw)
    return tuple(out)


def plan_items(plan, unit=None):
    """A description's plan as items; endpoint markers kept; each item tagged with its unit."""
    items = []
    for op in plan:
        if isinstance(op, ops.Endpoint):
            items.append(Item(endpoint=op.name, unit=unit))
        elif isinstance(op, ops.Residual):
            pre, main, shortcut = list(op.pre), list(op.main), list(op.shortcut)
            if pre and op.shortcut_from == "pre":
                items += [Item(op=p, unit=op.unit) for p in pre]
                branches = [shortcut, main]
            else:
                branches = [shortcut, pre + main]
            items.append(Item(merge="add", branches=branches, unit=op.unit))
            items += [Item(op=p, unit=op.unit) for p in op.post]
        elif isinstance(op, ops.Concat):
            items.append(Item(merge="concat", branches=[list(b) for b in op.branches], unit=op.unit))
        elif isinstance(op, ops.Aux):
            continue    # a side head is off the path from input to output that a model's trace follows
        else:
            items.append(Item(op=op, unit=unit or _unit_of(op)))
    return items


def _unit_of(op):
    layer = getattr(op, "layer", "")
    return layer.split("/")[0] if layer else None


# ----------------------------------------------------------------- signatures

def _padding(kernel, stride, padding):
    """Padding only matters for a strided kernel above 1; VALID with a kernel above 1 always does."""
    if padding == "valid" and kernel > 1:
        return "valid"
    return padding if (stride > 1 and kernel > 1) else "same"


def _eps(value):
    return float(np.float32(value))


def signature(op):
    """A comparable tuple for a plan op or a model Node; ops of the same signature compute the same."""
    if isinstance(op, Node):
        a = op.attrs
        if op.kind in ("conv", "dwconv"):
            k, s = a["kernel"], a["stride"]
            if s[0] != s[1]:
                return (op.kind, k, s, a["padding"], a.get("pads"))
            size = k[0] if k[0] == k[1] else (k[0], k[1])
            padding = _padding(max(k[:2]), s[0], a["padding"] if a["padding"] != "pads" else f"pads {a['pads']}")
            if op.kind == "dwconv":
                return ("dwconv", size, s[0], k[2], k[3], "bias" in op.params, padding)
            return ("conv", size, s[0], k[2], k[3], a["groups"], "bias" in op.params, padding)
        if op.kind == "avgpool":
            size, stride = a["size"], a["stride"]
            return ("avgpool", size[0] if size[0] == size[1] else size, stride[0] if stride[0] == stride[1] else stride,
                    "same" if size == (1, 1) else a["padding"])
        if op.kind == "reshape" and len(op.inputs[0].shape) == 4 and len(op.shape) == 2:
            return ("flatten",)
        if op.kind == "bn":
            return ("bn", op.channels, _eps(a["epsilon"]))
        if op.kind == "act":
            return ("act", a["kind"], _eps(a["alpha"]) if a["kind"] == "elu" else 1.0)
        if op.kind == "maxpool":
            size, stride = a["size"], a["stride"]
            padding = "same" if size == (1, 1) else a["padding"]
            return ("maxpool", size[0] if size[0] == size[1] else size, stride[0] if stride[0] == stride[1] else stride,
                    padding)
        if op.kind == "dense":
            return ("dense", a["kernel"][0], a["kernel"][1], "bias" in op.params)
        if op.kind == "dropout":
            return ("dropout", _eps(a["rate"]))
        if op.kind in ("gap", "softmax"):
            return (op.kind,)
        return ("other", op.kind, op.op_type)
    if isinstance(op, ops.Conv):
        return ("conv", op.kernel, op.stride, op.in_channels // op.groups, op.filters, op.groups, op.bias,
                _padding(max(op.size), op.stride, op.padding))
    if isinstance(op, ops.DepthwiseConv):
        return ("dwconv", op.kernel, op.stride, op.channels, op.multiplier, op.bias,
                _padding(op.kernel, op.stride, op.padding))
    if isinstance(op, ops.BatchNorm):
        return ("bn", op.channels, _eps(op.epsilon))
    if isinstance(op, ops.Act):
        return ("act", op.kind, _eps(op.alpha) if op.kind == "elu" else 1.0)
    if isinstance(op, ops.MaxPool):
        return ("maxpool", op.size, op.stride, "same" if op.size == 1 else op.padding)
    if isinstance(op, ops.AvgPool):
        return ("avgpool", op.size, op.stride, "same" if op.size == 1 else op.padding)
    if isinstance(op, ops.Flatten):
        return ("flatten",)
    if isinstance(op, ops.Dense):
        return ("dense", op.in_features, op.units, op.bias)
    if isinstance(op, ops.Dropout):
        return ("dropout", _eps(op.rate))
    if isinstance(op, ops.GlobalAvgPool):
        return ("gap",)
    if isinstance(op, ops.Softmax):
        return ("softmax",)
    raise TypeError(f"no signature for {op!r}")


def describe_op(op):
    """A signature in words: `conv 3x3/2 64->128 +bias (same)`, `bn eps 0.001`, `act elu(0.5)`."""
    if op is None:
        return "nothing"
    sig = signature(op)
    head = sig[0]
    if head == "conv" and len(sig) == 8:
        _, k, s, cin, cout, groups, bias, padding = sig
        g = f" {groups} groups" if groups > 1 else ""
        pad = f" ({padding} padding)" if (_largest(k) > 1 and s > 1) or padding == "valid" else ""
        return f"conv {_size(k)}/{s} {cin * groups}->{cout}{g}{' +bias' if bias else ''}{pad}"
    if head == "bn":
        return f"BatchNorm eps {sig[2]:g}"
    if head == "act":
        return sig[1] if sig[1] != "elu" else f"elu(alpha {sig[2]:g})"
    if head == "maxpool":
        return f"max pool {sig[1]}x{sig[1]}/{sig[2]} ({sig[3]})" if isinstance(sig[1], int) else f"max pool {sig}"
    if head == "avgpool":
        return f"average pool {sig[1]}x{sig[1]}/{sig[2]} ({sig[3]})"
    if head == "dwconv":
        _, k, s, channels, multiplier, bias, padding = sig
        pad = f" ({padding} padding)" if (_largest(k) > 1 and s > 1) or padding == "valid" else ""
        return f"depthwise conv {_size(k)}/{s} {channels}x{multiplier}{' +bias' if bias else ''}{pad}"
    if head == "dense":
        return f"dense {sig[1]}->{sig[2]}{' +bias' if sig[3] else ''}"
    if head == "dropout":
        return f"dropout {sig[1]:g}"
    if head == "other":
        return f"{sig[2]} ({'no family has it' if sig[1] == 'unknown' else sig[1]})"
    return " ".join(map(str, sig))


def _largest(kernel):
    return max(kernel) if isinstance(kernel, tuple) else kernel


def _size(kernel):
    return "x".join(map(str, kernel)) if isinstance(kernel, tuple) else f"{kernel}x{kernel}"


# ----------------------------------------------------------------- matching

@dataclasses.dataclass
class Matched:
    """The result of a successful match: plan op -> model node, canonical endpoint -> model node."""

    pairs: list            # [(plan op, model Node)]
    endpoints: dict        # canonical endpoint -> model Node


def match(plan, items, name):
    """Match a description's `plan` (named `name`) against a model's items; RecognitionError at the first difference."""
    expected = plan_items(plan)
    pairs, endpoints = [], {}
    cursor, current = 0, None
    for item in expected:
        if item.endpoint is not None:
            endpoints[item.endpoint] = current
            continue
        found = items[cursor] if cursor < len(items) else None
        where = item.unit or "head"
        if item.merge is None:
            if found is None or found.op is None or signature(found.op) != signature(item.op):
                _differ(name, where, item.op, found)
            pairs.append((item.op, found.op))
        else:
            if found is None or found.merge is None or found.merge.kind != item.merge \
                    or len(found.branches) != len(item.branches):
                _differ(name, where, item, found)
            pairs += _branches(name, where, item, found)
        current = found.node
        cursor += 1
    if cursor < len(items):
        extra = items[cursor]
        raise RecognitionError(f"{extra.node.where()}: after the {name}'s last op the model computes "
                               f"{_item_text(extra)}")
    return Matched(pairs, endpoints)


def _branches(name, where, item, found):
    """Plan branches against the model's, op by op; an add's two branches in either order."""
    count = len(found.branches)
    orders = itertools.permutations(range(count)) if item.merge == "add" else [range(count)]
    first_error = None
    for order in orders:
        pairs = []
        try:
            for index, (plan_branch, k) in enumerate(zip(item.branches, order)):
                part = "shortcut" if item.merge == "add" and index == 0 else f"branch {index + 1}"
                model_branch = found.branches[k]
                for i in range(max(len(plan_branch), len(model_branch))):
                    p = plan_branch[i] if i < len(plan_branch) else None
                    m = model_branch[i] if i < len(model_branch) else None
                    if p is None or m is None or signature(p) != signature(m):
                        raise RecognitionError(_difference(name, f"{where} {part}", p, m, found.merge))
                    pairs.append((p, m))
            return pairs
        except RecognitionError as exc:
            first_error = first_error or exc
    raise first_error


def _chain(branch):
    return " -> ".join(describe_op(n) for n in branch) or "identity"


def _merge_text(kind, branches):
    return f"{kind} of {len(branches)} branches ({'; '.join(_chain(b) for b in branches)})"


def _item_text(item):
    return describe_op(item.op) if item.op is not None else _merge_text(item.merge.kind, item.branches)


def _differ(name, where, expected, found):
    text = _merge_text(expected.merge, expected.branches) if isinstance(expected, Item) else describe_op(expected)
    if found is None:
        raise RecognitionError(f"{name} expects {text} at {where}, but the model's forward pass ends there")
    raise RecognitionError(f"{found.node.where()}: the model computes {_item_text(found)} where {name} "
                           f"expects {text} ({where})")


def _difference(name, where, expected, found, merge):
    if found is None:
        return f"{merge.where()}: {name} expects {describe_op(expected)} in {where}, where the model's branch ends"
    return f"{found.where()}: the model computes {describe_op(found)} where {name} expects " \
           f"{describe_op(expected)} ({where})"
