"""What slim's Inception v1, v2 and v3 share: a net is a table of layers, read here into a plan and names.

Each net's module holds its table (stem layers, `Mixed` blocks of branches,
with slim's own scope for every conv, quirks included: v3's `Conv_1_0c_5x5`,
the 3x3 convs called `Conv2d_1a_1x1`); the small rules here turn a table
into the ops of the forward pass (conv without bias, BatchNorm without gamma
by default, ReLU, as slim's Inception arg scopes make them) and into the rules
of every naming scheme, so a scope is written once.

Canonical layers: `stem/conv{i}` (the convs before the first block),
`mixed_5b/branch{b}/conv{j}` (b as slim's Branch_b, j counting the branch's
convs from 1), each with `/bn`; `stem/conv1/depthwise` (Inception v2's
separable first conv), `aux/conv{j}`, `aux/logits`, `logits`. Endpoints are
slim's end_points keys in lower case (`conv2d_1a_3x3`, `maxpool_3a_3x3`,
`mixed_5b`), then `aux_logits`, `pooled` (slim's PreLogits) and `logits`.
"""

import dataclasses
from typing import Optional, Tuple, Union

from slimcompat.arch import ops

__all__ = ["C", "Sep", "Pool", "Split", "Mixed", "Aux", "Context", "build", "head", "Names", "name_rules",
           "keras_ordinal_rules", "keras_ordinal_endpoints"]


@dataclasses.dataclass(frozen=True)
class C:
    """One conv (+ BatchNorm + ReLU): slim's scope, filters, kernel (int or (h, w)), stride, padding."""

    scope: str
    filters: int
    kernel: Union[int, Tuple[int, int]] = 1
    stride: int = 1
    padding: str = "same"
    torch: str = ""              # torchvision's module name where torchvision has the net


@dataclasses.dataclass(frozen=True)
class Sep:
    """slim's separable_conv2d with num_outputs: depthwise (multiplier), 1x1 pointwise with biases, ReLU.

    No BatchNorm: slim's Inception arg scopes give one to conv2d alone, so
    this conv keeps its biases (`Conv2d_1a_7x7/biases` in the checkpoints).
    """

    scope: str
    filters: int
    kernel: int
    multiplier: int
    stride: int = 1
    padding: str = "same"


@dataclasses.dataclass(frozen=True)
class Pool:
    kind: str                    # "avg" or "max"
    size: int
    stride: int
    padding: str
    scope: str = ""              # slim's end point name where the pool is one (stem pools)


@dataclasses.dataclass(frozen=True)
class Split:
    """Convs on the same input, concatenated (the last step of some v3 branches)."""

    convs: Tuple[C, ...]


@dataclasses.dataclass(frozen=True)
class Mixed:
    scope: str                   # slim's, e.g. Mixed_5b
    branches: Tuple[Tuple, ...]  # each a sequence of C, Pool, Split


@dataclasses.dataclass(frozen=True)
class Aux:
    """v3's auxiliary head after a block: pool, convs (slim scopes), then a 1x1 conv with biases to the classes."""

    pool: Pool
    convs: Tuple[C, ...]
    logits_scope: str
    torch: Tuple[str, ...] = ()  # torchvision's names of the convs, then of the classifier


@dataclasses.dataclass(frozen=True)
class Context:
    """The knobs a table is read with."""

    epsilon: float
    scale: bool = False
    padding: str = "same"        # SAME strided convs: "same" (TensorFlow) or "explicit" (symmetric)
    count_include_pad: bool = False
    num_classes: Optional[int] = None
    aux: bool = False


@dataclasses.dataclass
class Names:
    """Per canonical layer: slim's scope (below the net's), torchvision's module, slim's params where not usual."""

    slim: list = dataclasses.field(default_factory=list)       # (canonical, slim layer path[, params])
    torch: list = dataclasses.field(default_factory=list)      # (canonical, torch module)
    endpoints: list = dataclasses.field(default_factory=list)  # (canonical endpoint, slim end point key)


def _conv(layer, spec, c_in, ctx, names, path, torch):
    kernel = spec.kernel if isinstance(spec.kernel, int) else tuple(spec.kernel)
    padding = spec.padding
    if kernel in (1, (1, 1)):
        padding = "same"
    elif spec.stride > 1 and padding == "same":
        padding = ctx.padding
    names.slim += [(layer, path), (f"{layer}/bn", f"{path}/BatchNorm")]
    names.torch += [(layer, f"{torch}.conv"), (f"{layer}/bn", f"{torch}.bn")]
    return [ops.Conv(layer, kernel, spec.stride, c_in, spec.filters, padding=padding),
            ops.BatchNorm(f"{layer}/bn", spec.filters, ctx.epsilon, ctx.scale), ops.Act("relu")]


def _pool(spec, ctx):
    if spec.kind == "max":
        return ops.MaxPool(spec.size, spec.stride, spec.padding)
    padding = "pad1" if (ctx.count_include_pad and spec.padding == "same" and spec.size == 3) else spec.padding
    return ops.AvgPool(spec.size, spec.stride, padding)


def _branch(unit, b, steps, c_in, ctx, names, torch_unit):
    out, j, channels = [], 0, c_in
    for step in steps:
        if isinstance(step, Pool):
            out.append(_pool(step, ctx))
            continue
        parts = []
        for conv in (step.convs if isinstance(step, Split) else (step,)):
            j += 1
            layer = f"{unit}/branch{b}/conv{j}"
            torch = f"{torch_unit}.{conv.torch}" if conv.torch else f"{torch_unit}.Branch_{b}.{conv.scope}"
            parts.append(tuple(_conv(layer, conv, channels, ctx, names, f"{torch_unit}/Branch_{b}/{conv.scope}",
                                     torch)))
        if isinstance(step, Split):
            out.append(ops.Concat(f"{unit}/branch{b}/split", tuple(parts)))
            channels = sum(c.filters for c in step.convs)
        else:
            out += parts[0]
            channels = step.filters
    return tuple(out), channels


def build(table, ctx, names):
    """(ops, channels out) of a table of stem layers, Mixed blocks and an Aux head, on an RGB input."""
    out, channels, i = [], 3, 0
    for item in table:
        if isinstance(item, Aux):
            if ctx.aux and ctx.num_classes:
                out.append(_aux(item, channels, ctx, names))
            continue
        if isinstance(item, Mixed):
            unit = item.scope.lower()
            branches = [_branch(unit, b, steps, channels, ctx, names, item.scope)
                        for b, steps in enumerate(item.branches)]
            out.append(ops.Concat(unit, tuple(ops_ for ops_, _ in branches)))
            channels = sum(c for _, c in branches)
            endpoint = item.scope
        elif isinstance(item, Pool):
            out.append(_pool(item, ctx))
            endpoint = item.scope
        elif isinstance(item, Sep):
            i += 1
            layer = f"stem/conv{i}"
            depthwise = ops.DepthwiseConv(f"{layer}/depthwise", item.kernel, item.stride, channels, item.multiplier,
                                          padding=ctx.padding if item.stride > 1 else "same")
            out += [depthwise, ops.Conv(layer, 1, 1, depthwise.filters, item.filters, bias=True), ops.Act("relu")]
            names.slim += [(f"{layer}/depthwise", item.scope), (layer, item.scope, {"kernel": "pointwise_weights"})]
            names.torch += [(f"{layer}/depthwise", f"{item.scope}.depthwise"), (layer, f"{item.scope}.pointwise")]
            channels, endpoint = item.filters, item.scope
        else:
            i += 1
            out += _conv(f"stem/conv{i}", item, channels, ctx, names, item.scope, item.torch or item.scope)
            channels, endpoint = item.filters, item.scope
        out.append(ops.Endpoint(endpoint.lower()))
        names.endpoints.append((endpoint.lower(), endpoint))
    return out, channels


def _aux(spec, channels, ctx, names):
    ops_ = [_pool(spec.pool, ctx)]
    for j, conv in enumerate(spec.convs, start=1):
        torch = f"AuxLogits.{spec.torch[j - 1]}" if spec.torch else f"AuxLogits.{conv.scope}"
        ops_ += _conv(f"aux/conv{j}", conv, channels, ctx, names, f"AuxLogits/{conv.scope}", torch)
        channels = conv.filters
    names.slim.append(("aux/logits", f"AuxLogits/{spec.logits_scope}"))
    names.torch.append(("aux/logits", f"AuxLogits.{spec.torch[-1]}" if spec.torch else "AuxLogits.fc"))
    names.endpoints.append(("aux_logits", "AuxLogits"))
    ops_ += [ops.Flatten(), ops.Dense("aux/logits", channels, ctx.num_classes), ops.Endpoint("aux_logits")]
    return ops.Aux("aux", tuple(ops_))


def head(features, num_classes, dropout, softmax, names, logits_scope):
    """slim's: average pool over the whole map, dropout, a 1x1 conv with biases to the classes, squeeze."""
    out = [ops.GlobalAvgPool()] + ([ops.Dropout(dropout)] if dropout else []) + [ops.Endpoint("pooled")]
    names.endpoints.append(("pooled", "PreLogits"))
    if num_classes is not None:
        out += [ops.Dense("logits", features, num_classes), ops.Endpoint("logits")]
        out += [ops.Softmax()] if softmax else []
        names.slim.append(("logits", f"Logits/{logits_scope}"))
        names.torch.append(("logits", "fc"))
        names.endpoints.append(("logits", "Logits"))
    return out


def name_rules(names):
    """{scheme: layer rules} and {endpoint scheme: rules} of a net, from its names (readable Keras names)."""
    slim = tuple((c, "{scope}/" + s, *rest) for c, s, *rest in names.slim)
    keras = tuple((c, {"logits": "predictions"}.get(c, c.replace("/", "_"))) for c, *_ in names.slim)
    torch = tuple(names.torch)
    endpoints = {"slim": tuple(names.endpoints),
                 "keras.applications": tuple((c, {"pooled": "avg_pool", "logits": "predictions"}.get(c, c))
                                             for c, _ in names.endpoints)}
    return {"slim": slim, "keras": keras, "torchvision": torch}, endpoints


def keras_ordinal_rules(plan):
    """keras.applications' auto-numbered names (conv2d, conv2d_1, ...; batch_normalization_n with its conv).

    Keras numbers a layer by how many of its kind were made before it, which
    no template can say; this table, computed from the plan's forward order
    (the order keras.applications makes them), says it for each canonical
    layer. Layers Keras lacks (the auxiliary head) get names of their own.
    """
    rules, n = [], 0
    for op in _main_path(plan):
        if isinstance(op, ops.Conv):
            rules.append((op.layer, "conv2d" if n == 0 else f"conv2d_{n}"))
            rules.append((f"{op.layer}/bn", "batch_normalization" if n == 0 else f"batch_normalization_{n}"))
            n += 1
    rules.append(("logits", "predictions"))
    for op in ops.parametric(plan):
        if op.layer.startswith("aux/"):
            rules.append((op.layer, "aux_logits" if op.layer == "aux/logits" else
                          op.layer.replace("aux/", "aux_logits_").replace("/", "_")))
    return tuple(rules)


def keras_ordinal_endpoints(plan):
    """keras.applications' names of the endpoints: activation_n after conv n, max_pooling2d_n, mixed0...mixed10."""
    out, convs, pools, mixed, last = [], 0, 0, 0, None
    for op in _main_path(plan):
        if isinstance(op, ops.Conv):
            last, convs = convs, convs + 1
        elif isinstance(op, ops.MaxPool):
            last, pools = ("pool", pools), pools + 1
        elif isinstance(op, ops.Endpoint):
            if op.name.startswith("mixed_"):
                out.append((op.name, f"mixed{mixed}"))
                mixed += 1
            elif isinstance(last, tuple):
                out.append((op.name, "max_pooling2d" + (f"_{last[1]}" if last[1] else "")))
            elif op.name.startswith("conv2d_"):
                out.append((op.name, "activation" + (f"_{last}" if last else "")))
    return tuple(out) + (("aux_logits", "aux_logits"), ("pooled", "avg_pool"), ("logits", "predictions"))


def _main_path(plan):
    """walk() without Aux heads, Endpoints kept, Concat branches in order."""
    for op in plan:
        if isinstance(op, ops.Aux):
            continue
        if isinstance(op, ops.Concat):
            for branch in op.branches:
                yield from _main_path(branch)
        else:
            yield op
