"""A model's forward pass as a small graph of layer-level nodes, read from TensorFlow's own trace.

The model (Keras 3 or tf-keras; functional, Sequential or subclassed; any
names) is called once inside a `tf.function` in inference mode and the
resulting graph is read op by op, together with the variables each op reads
(resolved through the function's captures, never through names). What comes
out is one `Node` per layer-level computation:

    conv (Conv2D, + BiasAdd), dwconv (DepthwiseConv2dNative, + BiasAdd), bn
    (FusedBatchNorm, or the unfused arithmetic Keras 3 emits, recognised by
    evaluating it), act (relu, relu6; elu and its alpha),
    add, concat, slice (Split, SplitV, a last-axis StridedSlice), pad,
    maxpool, avgpool, gap (mean over height and width), dense (MatMul or
    Tensordot, + BiasAdd), softmax, dropout, reshape, input, and `unknown`
    for anything else that touches the activations.

Then slimcompat.structure.simplify folds what frameworks spell in several
ops into what a description means by one (padding, per-group convs, BatchNorm
arithmetic, global pooling, flattening reshapes).

Dropout is an identity in inference mode and leaves no op; each Dropout layer
is therefore wrapped for the trace so that its place shows as a marked
identity, and its rate is read from the layer.
"""

import dataclasses

import numpy as np

from slimcompat.arch.ops import BN_PARAMS
from slimcompat.errors import Refusal, SlimcompatError

__all__ = ["Node", "Traced", "trace", "input_shape_of", "model_variables", "variable_name", "reachable",
           "plain_variable", "float32", "Param", "PARAM_UNARY", "PARAM_BINARY", "RecognitionError"]


class RecognitionError(Refusal):
    """A model, or a part of it, that no description accounts for (a refusal: exit 3)."""


@dataclasses.dataclass(eq=False, repr=False)
class Node:
    """One layer-level computation of the traced forward pass (its repr names it, not the graph behind it)."""

    kind: str
    inputs: list
    attrs: dict = dataclasses.field(default_factory=dict)
    params: dict = dataclasses.field(default_factory=dict)   # role -> [variable, ...] (several: per group)
    op: str = ""                                               # the TF op that produced it
    op_type: str = ""
    shape: tuple = ()
    tensor: object = None

    @property
    def channels(self):
        return self.shape[-1] if self.shape else None

    def __repr__(self):
        return f"Node({self.kind} {self.op!r})"

    def holding(self, role, variable):
        """This node, reading `variable` as its `role` (kernel, bias, gamma, ...); several for per-group kernels."""
        self.params.setdefault(role, []).append(variable)
        return self

    def where(self):
        """`Conv2D` op `resnext/conv_1/conv2d/convolution`: how reports point at the user's layer."""
        return f"{self.op_type} op {self.op!r}"


@dataclasses.dataclass(repr=False)
class Traced:
    """The traced forward pass: its output node, every node, the input shape, and what the trace read."""

    output: Node
    nodes: list
    input_shape: tuple
    variables: dict          # id(variable) -> variable, every model variable
    read: set                # ids of variables the forward pass reads
    graph: object = None
    function: object = None
    notes: list = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class Param:
    """A value computed from variables and constants only: ('var', v) | ('const', a) | (op, *args)."""

    expr: tuple


@dataclasses.dataclass(frozen=True)
class _Pred:
    """x > 0 of an activation value (the first half of ELU with alpha != 1)."""

    node: Node


_PASS = {"Identity", "Snapshot", "StopGradient", "PreventGradient", "EnsureShape", "CheckNumerics", "Cast"}
_RESHAPE = {"Reshape", "Squeeze", "ExpandDims"}
_BIASED = ("conv", "dwconv", "dense")      # node kinds a BiasAdd right after belongs to
PARAM_UNARY = {"Rsqrt": lambda a: 1.0 / np.sqrt(a), "Sqrt": np.sqrt, "Reciprocal": lambda a: 1.0 / a,
                "Neg": np.negative, "Square": np.square}
PARAM_BINARY = {"AddV2": np.add, "Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "RealDiv": np.divide,
                 "Div": np.divide}
_BN_OPS = {"FusedBatchNorm", "FusedBatchNormV2", "FusedBatchNormV3"}
_DROPOUT_MARK = "slimcompat_dropout"
_DROPOUT_CLASSES = ("Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D")
DEFAULT_INPUT = (224, 224, 3)


# ----------------------------------------------------------------- the model side

def variable_name(variable):
    """How the user's framework names a variable: Keras 3 `conv2d_17/kernel`, tf-keras `conv2d_17/kernel:0`."""
    return getattr(variable, "path", None) or variable.name


def _handle(variable):
    value = getattr(variable, "value", None)
    handle = getattr(value, "handle", None) if value is not None and not callable(value) else None
    return handle if handle is not None else getattr(variable, "handle", None)


def model_variables(model):
    """The model's weights (built ones), deduplicated, in the model's order."""
    try:
        weights = list(model.weights)
    except ValueError:     # tf-keras: an unbuilt Sequential refuses to list its weights
        return []
    seen, out = set(), []
    for v in weights:
        if id(v) not in seen:
            seen.add(id(v))
            out.append(v)
    return out


def input_shape_of(model, input_shape=None):
    """(input shape without batch, note or None): given, else the model's own, else 224x224x3 (said)."""
    if input_shape is not None:
        shape = tuple(int(d) for d in input_shape)
        if len(shape) != 3 or min(shape) < 1:
            raise SlimcompatError(f"input shape must be H, W, C, found {input_shape!r}")
        return shape, None
    for shape in _declared_shapes(model):
        if shape is not None and len(shape) == 4 and all(d is not None for d in shape[1:]):
            return tuple(int(d) for d in shape[1:]), None
    return DEFAULT_INPUT, (f"the model declares no input size: traced at {'x'.join(map(str, DEFAULT_INPUT))} "
                           f"(give another input shape if it was built for one)")


def _declared_shapes(model):
    for attr in ("inputs",):
        try:
            inputs = getattr(model, attr, None)
        except Exception:
            inputs = None
        if inputs:
            yield tuple(getattr(inputs[0], "shape", ()) or ())
    for attr in ("_build_input_shape",):
        shape = getattr(model, attr, None)
        if shape is not None:
            yield tuple(shape) if not hasattr(shape, "as_list") else tuple(shape.as_list())
    shapes = getattr(model, "_build_shapes_dict", None)
    if isinstance(shapes, dict) and len(shapes) == 1:
        yield tuple(next(iter(shapes.values())))


def _dropout_layers(model):
    try:
        layers = list(model._flatten_layers(include_self=False))
    except (AttributeError, TypeError):
        layers = []
    return [layer for layer in layers if any(c.__name__ in _DROPOUT_CLASSES for c in type(layer).__mro__)]


class _MarkDropout:
    """For the trace only: each Dropout layer returns a marked identity, so its place shows in the graph."""

    def __init__(self, model):
        self.layers = _dropout_layers(model)
        self.rates = {}

    def __enter__(self):
        import tensorflow as tf
        for layer in self.layers:
            def call(inputs, *args, _layer=layer, **kwargs):
                out = tf.identity(inputs, name=_DROPOUT_MARK)
                self.rates[out.op.name] = float(_layer.rate)
                return out
            layer.call = call
        return self

    def __exit__(self, *exc):
        for layer in self.layers:
            layer.__dict__.pop("call", None)


def trace(model, input_shape=None, keep_function=False):
    """The model's forward pass in inference mode as a `Traced` graph of Nodes (see module doc).

    input_shape: (H, W, C); default the model's own, else 224x224x3.
    keep_function: also keep a function that can be pruned to any node's tensor (for endpoints).
    """
    import tensorflow as tf
    shape, note = input_shape_of(model, input_shape)
    if not model_variables(model):
        model(np.zeros((1, *shape), np.float32), training=False)
    variables = {id(v): v for v in model_variables(model)}
    by_handle = {}
    for v in variables.values():
        handle = _handle(v)
        if handle is not None:
            by_handle[id(handle)] = v
    spec = tf.TensorSpec((1, *shape), tf.float32)
    with _MarkDropout(model) as marks:
        try:
            if keep_function:
                function = tf.compat.v1.wrap_function(lambda x: model(x, training=False), [spec])
            else:
                function = tf.function(lambda x: model(x, training=False), autograph=False) \
                    .get_concrete_function(spec)
        except (ValueError, TypeError) as exc:
            lines = [line.strip() for line in str(exc).splitlines() if line.strip() and not
                     line.strip().startswith(("Exception encountered", "Call arguments", "\u2022", "in user code",
                                              "File "))]
            raise RecognitionError(f"the model does not run on a {'x'.join(map(str, shape))} input: "
                                   f"{lines[0] if lines else type(exc).__name__}") from None
    graph, inputs, outputs = function.graph, function.inputs, function.outputs
    captured = {internal.op.name: by_handle.get(id(external)) for external, internal in graph.captures}
    reader = _Reader(inputs[0].op.name, captured, marks.rates)
    for op in graph.get_operations():
        reader.read(op)
    output = reader.output(outputs[0])
    return Traced(output, reachable(output), shape, variables, reader.read_ids, graph,
                  function if keep_function else None, [note] if note else [])


# ----------------------------------------------------------------- reading ops

class _Reader:
    def __init__(self, input_name, captured, dropout_rates):
        self.input_name, self.captured, self.dropout = input_name, captured, dropout_rates
        self.values = {}
        self.read_ids = set()

    def output(self, tensor):
        value = self.values.get(tensor.name)
        if not isinstance(value, Node):
            raise RecognitionError(f"the model's output {tensor.name} does not depend on its input")
        return value

    def read(self, op):
        inputs = [self.values.get(t.name) for t in op.inputs]
        result = self._dispatch(op, inputs)
        if result is None:
            return
        outputs = result if isinstance(result, list) else [result]
        for tensor, value in zip(op.outputs, outputs):
            if value is None:
                continue
            if isinstance(value, Node) and value.tensor is None:
                value.tensor, value.op, value.op_type = tensor, value.op or op.name, value.op_type or op.type
                value.shape = _static(tensor)
            self.values[tensor.name] = value

    def _node(self, node_kind, inputs, op, **attrs):
        return Node(node_kind, list(inputs), attrs, {}, op.name, op.type)

    def _dispatch(self, op, inputs):
        kind = op.type
        nodes = [v for v in inputs if isinstance(v, Node)]
        if kind == "Placeholder":
            if op.name == self.input_name:
                return self._node("input", [], op)
            variable = self.captured.get(op.name)
            return ("resource", variable) if variable is not None else None
        if kind == "ReadVariableOp":
            if inputs and isinstance(inputs[0], tuple) and inputs[0][0] == "resource":
                self.read_ids.add(id(inputs[0][1]))
                return Param(("var", inputs[0][1]))
            return None
        if kind == "Const":
            from tensorflow.python.framework import tensor_util
            return Param(("const", tensor_util.MakeNdarray(op.get_attr("value"))))
        if kind in _PASS or (kind == "Identity" and op.name.split("/")[-1].startswith(_DROPOUT_MARK)):
            if op.name in self.dropout and nodes:
                return self._node("dropout", nodes[:1], op, rate=self.dropout[op.name])
            return inputs[0] if inputs else None
        if not nodes:
            return self._param(op, inputs)
        handler = getattr(self, "_op_" + kind, None)
        result = handler(op, inputs, nodes) if handler else None
        return result if result is not None else self._unknown(op, nodes)

    def _unknown(self, op, nodes):
        return [self._node("unknown", nodes, op) for _ in op.outputs] if len(op.outputs) > 1 else \
            self._node("unknown", nodes, op)

    def _param(self, op, inputs):
        """Arithmetic on variables and constants: kept as an expression (BatchNorm's factors)."""
        if any(not isinstance(v, Param) for v in inputs) or not inputs:
            return None
        exprs = [v.expr for v in inputs]
        if op.type in PARAM_UNARY:
            return Param((op.type, exprs[0]))
        if op.type in PARAM_BINARY and len(exprs) == 2:
            return Param((op.type, *exprs))
        if op.type in _RESHAPE:
            return Param(("reshape", exprs[0]))
        return None

    # -- functions called from the trace (Keras 3 runs a grouped conv as an XLA-compiled function)
    def _op_StatefulPartitionedCall(self, op, inputs, nodes):
        function = op.graph._get_function(op.get_attr("f").name)
        inner = getattr(function, "graph", None)
        if inner is None or len(inner.inputs) != len(inputs):
            return None
        reader = _Reader(None, {}, self.dropout)
        reader.read_ids = self.read_ids
        reader.values = {t.name: v for t, v in zip(inner.inputs, inputs) if v is not None}
        given = {t.name for t in inner.inputs}
        for inner_op in inner.get_operations():
            if not all(t.name in given for t in inner_op.outputs) or not inner_op.outputs:
                reader.read(inner_op)
        out = []
        for outer, tensor in zip(op.outputs, inner.outputs):
            value = reader.values.get(tensor.name)
            if isinstance(value, Node):
                value = dataclasses.replace(value, tensor=outer, shape=_static(outer), op=f"{op.name}/{value.op}")
            out.append(value)
        return out

    _op_PartitionedCall = _op_StatefulPartitionedCall

    # -- convolutions and dense layers
    def _op_Conv2D(self, op, inputs, nodes):
        x, w = inputs
        variable = plain_variable(w)
        if not isinstance(x, Node) or variable is None or op.get_attr("data_format") != b"NHWC":
            return None
        kernel = tuple(variable.shape)
        if any(d != 1 for d in op.get_attr("dilations")) or not x.channels or x.channels % kernel[2]:
            return None
        attrs = dict(_window(op, kernel), groups=x.channels // kernel[2])
        return self._node("conv", [x], op, **attrs).holding("kernel", variable)

    def _op_DepthwiseConv2dNative(self, op, inputs, nodes):
        x, w = inputs
        variable = plain_variable(w)
        if not isinstance(x, Node) or variable is None or op.get_attr("data_format") != b"NHWC":
            return None
        kernel = tuple(variable.shape)
        if any(d != 1 for d in op.get_attr("dilations")) or x.channels != kernel[2]:
            return None
        return self._node("dwconv", [x], op, **_window(op, kernel)).holding("depthwise_kernel", variable)

    def _op_MatMul(self, op, inputs, nodes):
        x, w = inputs
        variable = plain_variable(w)
        if not isinstance(x, Node) or variable is None or op.get_attr("transpose_a") or op.get_attr("transpose_b"):
            return None
        return self._node("dense", [x], op, kernel=tuple(variable.shape)).holding("kernel", variable)

    def _op_BatchMatMulV2(self, op, inputs, nodes):
        x, w = inputs
        variable = plain_variable(w)
        if not isinstance(x, Node) or variable is None or op.get_attr("adj_x") or op.get_attr("adj_y") \
                or len(variable.shape) != 2:
            return None
        return self._node("dense", [x], op, kernel=tuple(variable.shape)).holding("kernel", variable)

    _op_BatchMatMulV3 = _op_BatchMatMulV2

    def _op_BiasAdd(self, op, inputs, nodes):
        return self._add_param(op, inputs[0], inputs[1])

    def _add_param(self, op, x, p):
        """x + p: a conv's or dense layer's bias when x has none yet and nothing else reads x, else an affine."""
        if not isinstance(x, Node) or not isinstance(p, Param):
            return None
        variable = plain_variable(p)
        if (variable is not None and x.kind in _BIASED and "bias" not in x.params and len(variable.shape) == 1
                and len(x.tensor.consumers()) == 1):
            out = dataclasses.replace(x, inputs=list(x.inputs), attrs=dict(x.attrs),
                                      params={k: list(v) for k, v in x.params.items()}, tensor=None)
            return out.holding("bias", variable)
        return self._affine(op, x, shift=p.expr)

    # -- elementwise
    def _op_AddV2(self, op, inputs, nodes):
        a, b = inputs
        if isinstance(a, Node) and isinstance(b, Node):
            return self._node("add", [a, b], op)
        x, p = (a, b) if isinstance(a, Node) else (b, a)
        return self._add_param(op, x, p)

    _op_Add = _op_AddV2

    def _op_Sub(self, op, inputs, nodes):
        a, b = inputs
        if isinstance(a, Node) and isinstance(b, Param):
            return self._affine(op, a, shift=("Neg", b.expr))
        return None

    def _op_Mul(self, op, inputs, nodes):
        a, b = inputs
        if isinstance(a, Node) and isinstance(b, Node):
            return None
        x, p = (a, b) if isinstance(a, Node) else (b, a)
        return self._affine(op, x, scale=p.expr) if isinstance(p, Param) else None

    def _op_RealDiv(self, op, inputs, nodes):
        a, b = inputs
        if isinstance(a, Node) and isinstance(b, Param):
            return self._affine(op, a, scale=("Reciprocal", b.expr))
        return None

    def _affine(self, op, x, scale=None, shift=None):
        """x * scale + shift, folded into the affine x already is when nothing else reads it."""
        if x.kind == "affine" and len(x.tensor.consumers()) == 1:
            s0, t0, source = x.attrs["scale"], x.attrs["shift"], x.inputs[0]
        else:
            s0, t0, source = None, None, x
        if scale is not None:
            s0 = scale if s0 is None else ("Mul", s0, scale)
            t0 = None if t0 is None else ("Mul", t0, scale)
        if shift is not None:
            t0 = shift if t0 is None else ("AddV2", t0, shift)
        return self._node("affine", [source], op, scale=s0, shift=t0)

    def _op_FusedBatchNormV3(self, op, inputs, nodes):
        x, *rest = inputs
        if op.get_attr("is_training") or op.get_attr("data_format") != b"NHWC":
            return None
        variables = [plain_variable(v) for v in rest[:4]]
        if any(v is None for v in variables):
            return None
        node = self._node("bn", [x], op, epsilon=float32(op.get_attr("epsilon")))
        for role, variable in zip(BN_PARAMS, variables):
            node.holding(role, variable)
        return [node] + [None] * (len(op.outputs) - 1)

    _op_FusedBatchNorm = _op_FusedBatchNormV2 = _op_FusedBatchNormV3

    # -- activations
    def _op_Relu(self, op, inputs, nodes):
        return self._node("act", nodes[:1], op, kind="relu", alpha=1.0)

    def _op_Relu6(self, op, inputs, nodes):
        return self._node("act", nodes[:1], op, kind="relu6", alpha=1.0)

    def _op_Elu(self, op, inputs, nodes):
        return self._node("act", nodes[:1], op, kind="elu", alpha=1.0)

    def _op_Greater(self, op, inputs, nodes):
        x, zero = inputs
        if isinstance(x, Node) and isinstance(zero, Param) and zero.expr[0] == "const" and not np.any(zero.expr[1]):
            return _Pred(x)
        return None

    def _op_SelectV2(self, op, inputs, nodes):
        """where(x > 0, elu(x), alpha * elu(x)): ELU with alpha != 1 (Keras 3 and tf-keras)."""
        pred, positive, negative = inputs
        if (isinstance(pred, _Pred) and isinstance(positive, Node) and positive.kind == "act"
                and positive.attrs["kind"] == "elu" and positive.inputs[0] is pred.node
                and isinstance(negative, Node) and negative.kind == "affine" and negative.inputs[0] is positive
                and negative.attrs["shift"] is None and negative.attrs["scale"][0] == "const"):
            alpha = np.asarray(negative.attrs["scale"][1])
            if alpha.size == 1:
                return self._node("act", [pred.node], op, kind="elu", alpha=float32(float(alpha.reshape(-1)[0])))
        return None

    _op_Select = _op_SelectV2

    # -- pooling, padding, shapes
    def _op_MaxPool(self, op, inputs, nodes):
        return self._pool("maxpool", op, nodes[0])

    def _op_AvgPool(self, op, inputs, nodes):
        return self._pool("avgpool", op, nodes[0])

    def _pool(self, kind, op, x):
        if op.get_attr("data_format") != b"NHWC":
            return None
        k, s = op.get_attr("ksize"), op.get_attr("strides")
        return self._node(kind, [x], op, size=(k[1], k[2]), stride=(s[1], s[2]),
                          padding=op.get_attr("padding").decode().lower())

    def _op_Mean(self, op, inputs, nodes):
        x, axes = inputs
        if isinstance(axes, Param) and axes.expr[0] == "const" and isinstance(x, Node) and len(x.shape) == 4:
            if sorted(int(a) % 4 for a in np.ravel(axes.expr[1])) == [1, 2]:
                return self._node("gap", [x], op)
        return None

    def _op_Pad(self, op, inputs, nodes):
        x, pads = inputs[0], inputs[1]
        if not (isinstance(pads, Param) and pads.expr[0] == "const"):
            return None
        if len(inputs) > 2 and not (isinstance(inputs[2], Param) and inputs[2].expr[0] == "const"
                                    and not np.any(inputs[2].expr[1])):
            return None
        p = np.asarray(pads.expr[1]).reshape(-1, 2)
        if len(p) != 4 or p[0].any() or p[3].any():
            return None
        return self._node("pad", [x], op, pads=(int(p[1][0]), int(p[1][1]), int(p[2][0]), int(p[2][1])))

    _op_PadV2 = _op_Pad

    def _op_Reshape(self, op, inputs, nodes):
        return self._node("reshape", nodes[:1], op)

    _op_Squeeze = _op_ExpandDims = _op_Reshape

    def _op_ConcatV2(self, op, inputs, nodes):
        *values, axis = inputs
        if not (isinstance(axis, Param) and axis.expr[0] == "const") or not all(isinstance(v, Node) for v in values):
            return None
        if int(np.ravel(axis.expr[1])[0]) not in (-1, 3):
            return None
        return self._node("concat", values, op)

    def _op_Split(self, op, inputs, nodes):
        axis, x = inputs
        if not (isinstance(axis, Param) and axis.expr[0] == "const") or int(np.ravel(axis.expr[1])[0]) not in (-1, 3):
            return None
        n = op.get_attr("num_split")
        width = _static(op.inputs[1])[-1] // n
        return [self._node("slice", [x], op, start=i * width, stop=(i + 1) * width) for i in range(n)]

    def _op_SplitV(self, op, inputs, nodes):
        x, sizes, axis = inputs
        if not all(isinstance(v, Param) and v.expr[0] == "const" for v in (sizes, axis)):
            return None
        if int(np.ravel(axis.expr[1])[0]) not in (-1, 3):
            return None
        bounds = np.concatenate([[0], np.cumsum(np.ravel(sizes.expr[1]))]).astype(int)
        return [self._node("slice", [x], op, start=int(a), stop=int(b)) for a, b in zip(bounds[:-1], bounds[1:])]

    def _op_StridedSlice(self, op, inputs, nodes):
        x, begin, end, strides = inputs
        if not all(isinstance(v, Param) and v.expr[0] == "const" for v in (begin, end, strides)):
            return None
        begin, end, strides = (np.ravel(v.expr[1]).astype(int) for v in (begin, end, strides))
        ellipsis = op.get_attr("ellipsis_mask")
        if (ellipsis != 1 or len(begin) != 2 or strides[-1] != 1 or op.get_attr("new_axis_mask")
                or op.get_attr("shrink_axis_mask")):
            return None
        channels = _static(op.inputs[0])[-1]
        start = 0 if op.get_attr("begin_mask") & 2 else int(begin[-1])
        stop = channels if op.get_attr("end_mask") & 2 else int(end[-1])
        return self._node("slice", [x], op, start=start, stop=min(stop, channels))

    def _op_Softmax(self, op, inputs, nodes):
        return self._node("softmax", nodes[:1], op)


def _window(op, kernel):
    """kernel, stride and padding of a Conv2D or DepthwiseConv2dNative op (explicit pads as `pads`)."""
    strides, padding = op.get_attr("strides"), op.get_attr("padding").decode()
    attrs = dict(kernel=kernel, stride=(strides[1], strides[2]), padding=padding.lower())
    if padding == "EXPLICIT":
        pads = list(op.get_attr("explicit_paddings"))
        attrs.update(padding="pads", pads=(pads[2], pads[3], pads[4], pads[5]))
    return attrs


def plain_variable(value):
    """The variable a parameter value reads unchanged (reshapes and casts aside), or None."""
    if not isinstance(value, Param):
        return None
    expr = value.expr
    while expr[0] == "reshape":
        expr = expr[1]
    return expr[1] if expr[0] == "var" else None


def _static(tensor):
    shape = tensor.shape
    return tuple(d if d is not None else -1 for d in shape.as_list()) if shape.rank is not None else ()


def float32(value):
    """The shortest decimal that is this float32 (epsilon 1e-3 stored as float32 reads back as 0.001)."""
    return float(repr(np.float32(value)).rstrip("f").replace("np.float32(", "").rstrip(")"))


def reachable(output):
    """Nodes the output depends on, inputs before users (a topological order)."""
    order, seen, stack = [], set(), [(output, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        stack.extend((i, False) for i in reversed(node.inputs) if id(i) not in seen)
    return order
