"""Folding what frameworks spell in several ops into the one op a description means.

Applied to a traced graph (slimcompat.structure.graph), in place:

- BatchNorm in arithmetic: Keras 3 computes inference BatchNorm as
  x * (gamma * rsqrt(variance + eps)) + (beta - mean * ...); any per-channel
  x * scale + shift over four variables is tried as a BatchNorm by evaluating
  both expressions on random values for each assignment of the variables to
  the four roles (epsilon is the constant of the expression it matches);
- a reshape between [N, 1, 1, C] and [N, C] (Flatten after pooling,
  tf-keras' Tensordot around a Dense) is nothing, and a bias added after it
  is the Dense layer's;
- split -> one conv per slice -> concat, in order and all alike, is one
  grouped conv (seed 002's ResNeXt);
- ZeroPadding2D + VALID conv is a conv with explicit padding, + VALID 3x3
  max pool a `pad1` pool;
- an average pool whose window covers its whole input is global average
  pooling at this input size (noted, since at another size it is not).
"""

import dataclasses
import itertools
import math

import numpy as np

from slimcompat.arch.ops import BN_PARAMS
from slimcompat.structure.graph import PARAM_BINARY, PARAM_UNARY, Node, Param, float32, plain_variable, reachable

__all__ = ["simplify"]


def simplify(traced):
    """Fold framework spellings into description ops (see module doc), in place."""
    _batchnorms(traced)
    _rewire(traced, _transparent_reshape)
    _rewire(traced, _fold_bias)
    _grouped_convs(traced)
    _rewire(traced, _fold_pad)
    _global_pools(traced)
    traced.nodes = reachable(traced.output)


def _rewire(traced, rule):
    """Replace nodes by rule(node, users) -> replacement or None; users follow."""
    users = _users(traced.nodes)
    replaced = {}
    for node in traced.nodes:
        node.inputs = [replaced.get(id(i), i) for i in node.inputs]
        new = rule(node, users)
        if new is not None and new is not node:
            replaced[id(node)] = new
    traced.output = replaced.get(id(traced.output), traced.output)
    traced.nodes = reachable(traced.output)


def _users(nodes):
    users = {}
    for node in nodes:
        for i in node.inputs:
            users.setdefault(id(i), []).append(node)
    return users


def _transparent_reshape(node, users):
    """A reshape between [N, 1, 1, C] and [N, C] (Flatten after pooling, Tensordot) changes nothing."""
    if node.kind != "reshape" or not node.inputs:
        return None
    source = node.inputs[0]
    if _features(source.shape) is not None and _features(source.shape) == _features(node.shape):
        return source
    return None


def _features(shape):
    """C of a [N, 1, ..., 1, C] shape, else None."""
    if len(shape) < 2 or any(d != 1 for d in shape[1:-1]):
        return None
    return shape[-1]


def _fold_bias(node, users):
    """A bias added after a reshape (tf-keras Dense on a [N, 1, 1, C] map: Tensordot, then BiasAdd)."""
    if node.kind != "affine" or node.attrs["scale"] is not None or not node.inputs:
        return None
    source, variable = node.inputs[0], plain_variable(Param(node.attrs["shift"]))
    if (variable is None or source.kind not in ("conv", "dwconv", "dense") or "bias" in source.params
            or len(users.get(id(source), [])) != 1 or tuple(variable.shape) != (source.channels,)):
        return None
    folded = dataclasses.replace(source, inputs=list(source.inputs), attrs=dict(source.attrs),
                                 params={k: list(v) for k, v in source.params.items()}, shape=node.shape,
                                 tensor=node.tensor)
    return folded.holding("bias", variable)


def _fold_pad(node, users):
    """ZeroPadding2D + VALID conv/max pool -> one op with its padding named."""
    if node.kind not in ("conv", "dwconv", "maxpool") or not node.inputs or node.inputs[0].kind != "pad":
        return None
    pad = node.inputs[0]
    if len(users.get(id(pad), [])) != 1 or node.attrs.get("padding") != "valid":
        return None
    top, bottom, left, right = pad.attrs["pads"]
    size = node.attrs["kernel"][:2] if node.kind in ("conv", "dwconv") else node.attrs["size"]
    folded = dataclasses.replace(node, inputs=list(pad.inputs), attrs=dict(node.attrs))
    if node.kind == "maxpool" and (top, bottom, left, right) == (1, 1, 1, 1):
        folded.attrs["padding"] = "pad1"
    elif node.kind in ("conv", "dwconv") and all((a, b) == ((k - 1) // 2, k - 1 - (k - 1) // 2)
                                     for (a, b), k in (((top, bottom), size[0]), ((left, right), size[1]))):
        folded.attrs["padding"] = "explicit"
    else:
        folded.attrs["padding"], folded.attrs["pads"] = "pads", (top, bottom, left, right)
    folded.attrs["pad_op"] = pad.op
    return folded


def _grouped_convs(traced):
    """split -> one conv per slice -> concat (in order, equal convs) is one grouped conv."""
    users = _users(traced.nodes)

    def rule(node, _):
        if node.kind != "concat" or len(node.inputs) < 2:
            return None
        convs = node.inputs
        if not all(c.kind == "conv" and len(users.get(id(c), [])) == 1 and c.inputs and c.inputs[0].kind == "slice"
                   and len(users.get(id(c.inputs[0]), [])) == 1 for c in convs):
            return None
        slices = [c.inputs[0] for c in convs]
        source = slices[0].inputs[0]
        width = slices[0].attrs["stop"] - slices[0].attrs["start"]
        same = {(c.attrs["kernel"], c.attrs["stride"], c.attrs["padding"], c.attrs.get("pads"), "bias" in c.params)
                for c in convs}
        if len(same) != 1 or any(s.inputs[0] is not source for s in slices) or source.channels != width * len(convs):
            return None
        if [(s.attrs["start"], s.attrs["stop"]) for s in slices] != [(i * width, (i + 1) * width)
                                                                    for i in range(len(convs))]:
            return None
        first = convs[0]
        kernel = first.attrs["kernel"]
        grouped = Node("conv", [source], {**first.attrs, "kernel": (*kernel[:3], kernel[3] * len(convs)),
                                          "groups": len(convs), "split_op": slices[0].op},
                       {role: [v for c in convs for v in c.params[role]] for role in first.params},
                       node.op, node.op_type, node.shape, node.tensor)
        return grouped
    _rewire(traced, rule)


def _global_pools(traced):
    """An average pool whose window covers its whole input (VALID) is global average pooling at this size."""
    def rule(node, _):
        if node.kind != "avgpool" or node.attrs["padding"] != "valid" or not node.inputs:
            return None
        h, w = node.inputs[0].shape[1:3]
        if tuple(node.attrs["size"]) != (h, w):
            return None
        traced.notes.append(f"{node.where()}: a {h}x{w} average pool over a {h}x{w} map is global average pooling "
                            f"at this input size")
        return dataclasses.replace(node, kind="gap", attrs={})
    _rewire(traced, rule)


# ----------------------------------------------------------------- BatchNorm in arithmetic

def _batchnorms(traced):
    for node in traced.nodes:
        if node.kind == "affine":
            found = _as_batchnorm(node.attrs["scale"], node.attrs["shift"])
            if found is not None:
                roles, epsilon = found
                node.kind, node.attrs = "bn", {"epsilon": epsilon}
                for role in BN_PARAMS:
                    node.holding(role, roles[role])




def _as_batchnorm(scale, shift):
    """({role: variable}, epsilon) if x * scale + shift is an inference BatchNorm, else None.

    Decided by evaluating both expressions on random positive values for every
    assignment of the four variables to the four roles: scale must be
    gamma / sqrt(variance + eps) with one eps for every channel, and shift
    beta - mean * scale. eps is the constant of the expression it matches.
    """
    if scale is None or shift is None:
        return None
    variables = {}
    for expr in (scale, shift):
        for v in _variables_in(expr):
            variables[id(v)] = v
    if len(variables) != 4 or len({tuple(v.shape) for v in variables.values()}) != 1:
        return None
    channels = int(np.prod(next(iter(variables.values())).shape))
    rng = np.random.default_rng(0)
    draws = [{k: rng.uniform(0.5, 2.0, channels) for k in variables} for _ in range(2)]
    constants = [float(c) for c in _constants_in(scale)]
    for perm in itertools.permutations(variables):
        roles = dict(zip(BN_PARAMS, perm))
        epsilon = None
        for values in draws:
            s = np.ravel(_evaluate(scale, values, channels))
            t = np.ravel(_evaluate(shift, values, channels))
            g, b, m, var = (values[roles[r]] for r in BN_PARAMS)
            with np.errstate(all="ignore"):
                eps = (g / s) ** 2 - var
            if not np.all(np.isfinite(eps)) or np.ptp(eps) > 1e-6 * max(1.0, abs(eps.mean())) or eps.mean() <= 0:
                break
            if epsilon is None:
                epsilon = float(eps.mean())
            if not np.allclose(t, b - m * s, rtol=1e-9, atol=1e-12):
                break
        else:
            near = [c for c in constants if math.isclose(c, epsilon, rel_tol=1e-4)]
            return {r: variables[roles[r]] for r in BN_PARAMS}, float32(near[0] if near else epsilon)
    return None


def _variables_in(expr):
    if expr[0] == "var":
        yield expr[1]
    elif expr[0] != "const":
        for arg in expr[1:]:
            yield from _variables_in(arg)


def _constants_in(expr):
    if expr[0] == "const":
        value = np.asarray(expr[1])
        if value.size == 1:
            yield value.reshape(-1)[0]
    elif expr[0] != "var":
        for arg in expr[1:]:
            yield from _constants_in(arg)


def _evaluate(expr, values, channels):
    head = expr[0]
    if head == "var":
        return values[id(expr[1])]
    if head == "const":
        value = np.asarray(expr[1], np.float64)
        return value.reshape(-1) if value.size == channels else value.reshape(-1)[0] if value.size == 1 else value
    if head == "reshape":
        return _evaluate(expr[1], values, channels)
    if head in PARAM_UNARY:
        return PARAM_UNARY[head](_evaluate(expr[1], values, channels))
    return PARAM_BINARY[head](_evaluate(expr[1], values, channels), _evaluate(expr[2], values, channels))
