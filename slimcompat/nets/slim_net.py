"""Slim model functions for every description, written in tf_slim's own idiom.

A TF1 user gets `resnet_v1_18`, `resnet_v2_34`, `resnext_50_32x4d`, `inception10`
and any variant as slim nets: `Block`s of unit dicts stacked by tf_slim's
`resnet_utils.stack_blocks_dense`, defaults carried by `arg_scope`
(`arg_scope_for`), outputs collected into `end_points`, variables named as
tf_slim names them (`resnet_v1_50/block1/unit_1/bottleneck_v1/conv1/weights`),
so released slim checkpoints restore into them. For tf_slim's own
resnet_v1/v2_50..200 the graph is op for op the one tf_slim.nets builds
(tested bit for bit).

What each unit computes comes from the description's plan
(slimcompat.arch.ops); the unit function interprets it with slim layers, and
every variable scope is the slim naming scheme's name for the canonical layer,
so names are declared once. A plan whose units are not ResNet-style stages
(`stage{s}/unit{u}`) -- a plain sequence (VGG, MobileNet v1), Inception
modules, Inception-ResNet's scaled residuals around branches, auxiliary
heads -- is interpreted op by op in the same idiom, each layer under its
slim name within the net's scope: `slim.conv2d`, `slim.separable_conv2d`
without pointwise outputs for a depthwise conv (variable `depthwise_weights`),
`slim.max_pool2d` / `slim.avg_pool2d`, `slim.batch_norm` (scale=False where
the plan has no gamma), a dense layer as a 1x1 `slim.conv2d` on [N, 1, 1, C]
(a flatten reshapes to that), every endpoint collected under its slim name. Grouped convolutions (ResNeXt) are one `weights`
variable [k, k, in/groups, out] and TensorFlow's native grouped conv, or, where
this machine's TensorFlow cannot run it fused with the BatchNorm and ReLU that
follow (grappler fuses them; TensorFlow's CPU kernels without oneDNN refuse
groups: "Fused conv implementation does not support grouped convolutions"),
per-group convs on slices of that same variable, concatenated: exact, and the
same checkpoint either way (slimcompat.nets.grouped).

    import tf_slim as slim
    from slimcompat.nets import slim_net
    with slim.arg_scope(slim_net.arg_scope_for("resnet_v1_18")):
        logits, end_points = slim_net.resnet_v1_18(images, 1000, is_training=False)
"""

import functools
import re

import slimcompat.runtime  # noqa: F401  (the package import activated its tf_slim repairs; said here)
import tensorflow as tf
import tf_slim as slim
from tf_slim.nets import resnet_utils

from slimcompat.arch import describe, endpoint_scheme, ops, scheme
from slimcompat.arch.description import Description
from slimcompat.errors import SlimcompatError
from slimcompat.nets import grouped

__all__ = ["net_fn", "arg_scope_for", "grouped_conv2d"]


def arg_scope_for(description, weight_decay=None, batch_norm_decay=0.997, is_training=None):
    """The arg_scope a description's slim net runs under: L2, initializer, BatchNorm epsilon/decay.

    weight_decay: default the description's `l2`, else tf_slim's 1e-4.
    """
    description = described(description)
    decay = weight_decay if weight_decay is not None else (description.l2 or 1e-4)
    bn = {"decay": batch_norm_decay, "epsilon": description.bn_epsilon, "scale": True,
          "updates_collections": tf.compat.v1.GraphKeys.UPDATE_OPS}
    if is_training is not None:
        bn["is_training"] = is_training
    with slim.arg_scope([slim.conv2d, slim.separable_conv2d, grouped_conv2d], weights_regularizer=slim.l2_regularizer(decay),
                        weights_initializer=slim.variance_scaling_initializer()):
        with slim.arg_scope([slim.batch_norm], **bn):
            with slim.arg_scope([slim.max_pool2d, slim.avg_pool2d], padding="SAME") as scope:
                return scope


@slim.add_arg_scope
def grouped_conv2d(inputs, num_outputs, kernel_size, groups, stride=1, padding="SAME", use_bias=False,
                   weights_initializer=None, weights_regularizer=None, scope=None):
    """A conv whose input channels split into `groups`: one `weights` [kh, kw, in/groups, out] variable
    (kernel_size k or [kh, kw], as slim.conv2d takes it)."""
    channels = inputs.shape[-1]
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    with tf.compat.v1.variable_scope(scope, "Conv", [inputs]):
        weights = slim.model_variable("weights", [kh, kw, channels // groups, num_outputs],
                                      initializer=weights_initializer, regularizer=weights_regularizer)
        net = grouped.conv2d(inputs, weights, groups, [1, stride, stride, 1], padding)
        if use_bias:
            biases = slim.model_variable("biases", [num_outputs], initializer=tf.compat.v1.zeros_initializer())
            net = tf.nn.bias_add(net, biases)
        return net


def net_fn(description):
    """A slim model function `fn(inputs, num_classes=..., is_training=True, global_pool=True, reuse=None,
    scope=None) -> (net, end_points)` computing `description` (a name or a description)."""
    description = described(description)
    return functools.partial(_network, description=description)


def described(description):
    """A description as given, or the one a name means (a family outside the registry is used as it is)."""
    return description if isinstance(description, Description) else describe(description)


def _network(inputs, num_classes="default", is_training=True, global_pool=True, reuse=None, scope=None, *,
             description):
    if num_classes != "default" and num_classes != description.num_classes:
        description = description.replace(num_classes=num_classes,
                                          background_class=description.background_class and bool(num_classes))
    interpreter = _Interpreter(description, is_training)
    with tf.compat.v1.variable_scope(scope or interpreter.scope, values=[inputs], reuse=reuse) as sc:
        interpreter.collection = sc.original_name_scope + "_end_points"
        with slim.arg_scope([slim.batch_norm, slim.dropout], is_training=is_training):
            plan = description.plan()
            stages = _stages(plan, description)
            if stages is None:
                net = interpreter.head(inputs, plan, global_pool)
            else:
                first, last = stages
                units = [op for op in plan[first:last + 1] if isinstance(op, (ops.Residual, ops.Concat))]
                net = interpreter.sequence(inputs, plan[:first], prefix="")
                net = resnet_utils.stack_blocks_dense(net, interpreter.blocks(units),
                                                      outputs_collections=interpreter.collection)
                net = interpreter.head(net, plan[last + 1:], global_pool)
        end_points = slim.utils.convert_collection_to_dict(interpreter.collection)
        if description.classifier:  # as tf_slim's nets: logits returned, their softmax an end point
            end_points["predictions"] = slim.softmax(net, scope="predictions")
        return net, end_points


class _Interpreter:
    """Turns plan ops into slim layers under the variable scopes the slim scheme names."""

    def __init__(self, description, is_training):
        self.description = description
        self.scope = description.scheme_constants().get("scope", description.name)
        self.names = scheme("slim", description)
        self.unit_names = endpoint_scheme("slim", description) if "slim" in description.record.endpoints else None
        self.is_training = is_training
        self.collection = None

    def _relative(self, canonical, prefix):
        full = self.names.layer(canonical)
        head = f"{self.scope}/{prefix}"
        if not full.startswith(head):
            raise SlimcompatError(f"internal: slim name {full} outside {head}")
        return full[len(head):]

    def blocks(self, units):
        """resnet_utils.Block per stage, one unit dict each (the unit's plan op rides along)."""
        stages = {}
        for op in units:
            stage = int(op.unit.split("/")[0][len("stage"):])
            stages.setdefault(stage, []).append({"op": op, "stride": _unit_stride(op)})
        return [resnet_utils.Block(f"block{s}", self._unit_fn, args) for s, args in sorted(stages.items())]

    def _unit_fn(self, inputs, op, stride, rate=1):
        default = self.description.scheme_constants()["unit"]
        with tf.compat.v1.variable_scope(None, default, [inputs]) as sc:
            prefix = self.unit_names.layer(op.unit)[len(self.scope) + 1:] + "/"
            net = self._unit(inputs, op, prefix)
            return slim.utils.collect_named_outputs(self.collection, sc.name, net)

    def _unit(self, inputs, op, prefix):
        """A Residual (out = post(scale * main + shortcut)) or Concat unit; its layers' scopes relative to prefix."""
        if isinstance(op, ops.Residual):
            inner = self.sequence(inputs, op.pre, prefix)
            shortcut = self.sequence(inner if op.shortcut_from == "pre" else inputs, op.shortcut, prefix)
            residual = self.sequence(inner, op.main, prefix)
            if op.scale != 1.0:
                residual = op.scale * residual
            return self.sequence(shortcut + residual, op.post, prefix)
        return tf.concat([self.sequence(inputs, branch, prefix) for branch in op.branches], axis=3)

    def head(self, net, plan, global_pool):
        for op in self._separable(plan, ""):
            if isinstance(op, ops.GlobalAvgPool):
                if not global_pool:
                    return net
                net = tf.reduce_mean(net, [1, 2], name="pool5", keepdims=True)
            elif isinstance(op, ops.Endpoint):
                self._collect(op, net)
            elif isinstance(op, ops.Softmax):
                continue
            else:
                net = self.sequence(net, (op,), prefix="")
        return net

    def _collect(self, op, net):
        """Every endpoint the plan marks, under its slim name (a stacked ResNet unit's is collected by tf_slim)."""
        name = self.unit_names.layer(op.name) if self.unit_names is not None else f"{self.scope}/{op.name}"
        slim.utils.collect_named_outputs(self.collection, name, net)

    def sequence(self, net, plan, prefix):
        """Slim layers for `plan`; each conv's output after its BatchNorm and activation is collected under the
        conv's scope, as tf_slim's conv2d collects it (its normalizer and activation fused)."""
        conv, plan = None, self._separable(plan, prefix)
        for op in plan:
            if conv is not None and not isinstance(op, (ops.BatchNorm, ops.Act)):
                slim.utils.collect_named_outputs(self.collection, conv, net)
                conv = None
            if isinstance(op, _Separable):
                net = self._separable_conv(net, op, prefix)
                conv = f"{tf.compat.v1.get_variable_scope().name}/{self._relative(op.pointwise.layer, prefix)}"
            elif isinstance(op, (ops.Conv, ops.DepthwiseConv)):
                net = self._conv(net, op, prefix)
                conv = f"{tf.compat.v1.get_variable_scope().name}/{self._relative(op.layer, prefix)}"
            elif isinstance(op, ops.BatchNorm):
                net = slim.batch_norm(net, activation_fn=None, scale=op.scale,
                                      scope=self._relative(op.layer, prefix))
            elif isinstance(op, ops.Act):
                net = _activation(op)(net)
            elif isinstance(op, ops.MaxPool):
                net = self._pool(net, op)
            elif isinstance(op, ops.AvgPool):
                net = self._avg_pool(net, op)
            elif isinstance(op, ops.GlobalAvgPool):
                net = tf.reduce_mean(net, [1, 2], name="pool5", keepdims=True)
            elif isinstance(op, ops.Flatten):
                net = tf.reshape(net, [-1, 1, 1, net.shape[1:].num_elements()], name="flatten")  # H, W, C order
            elif isinstance(op, (ops.Residual, ops.Concat)):
                net = self._unit(net, op, prefix)
            elif isinstance(op, ops.Aux):
                self.sequence(net, op.ops, prefix)
            elif isinstance(op, ops.Softmax):
                continue
            elif isinstance(op, ops.Dense):
                net = slim.conv2d(net, op.units, [1, 1], activation_fn=None, normalizer_fn=None,
                                  biases_initializer=tf.compat.v1.zeros_initializer() if op.bias else None,
                                  scope=self._relative(op.layer, prefix))
            elif isinstance(op, ops.Dropout):
                net = slim.dropout(net, keep_prob=1.0 - op.rate, scope="dropout")
            elif isinstance(op, ops.Endpoint):
                self._collect(op, net)
            else:
                raise SlimcompatError(f"internal: slim nets cannot place {type(op).__name__} here")
        if conv is not None:
            slim.utils.collect_named_outputs(self.collection, conv, net)
        return net

    def _separable(self, plan, prefix):
        """`plan` with each depthwise conv that a 1x1 conv of the same slim scope follows made one _Separable:
        tf_slim's separable_conv2d with outputs (`depthwise_weights`, `pointwise_weights`, `biases` in one scope,
        Inception v2's first conv)."""
        out = []
        for op in plan:
            previous = out[-1] if out else None
            if isinstance(op, ops.Conv) and isinstance(previous, ops.DepthwiseConv) and op.size == (1, 1) \
                    and op.groups == 1 and not previous.bias \
                    and self._relative(op.layer, prefix) == self._relative(previous.layer, prefix):
                out[-1] = _Separable(previous, op)
            else:
                out.append(op)
        return tuple(out)

    def _separable_conv(self, net, op, prefix):
        depthwise, pointwise = op.depthwise, op.pointwise
        if depthwise.padding == "explicit" and depthwise.stride > 1:
            raise SlimcompatError(f"internal: slim nets have no explicit padding for separable conv "
                                  f"{depthwise.layer}")
        return slim.separable_conv2d(net, pointwise.filters, list(depthwise.size),
                                     depth_multiplier=depthwise.multiplier, stride=depthwise.stride,
                                     padding="VALID" if depthwise.padding == "valid" else "SAME",
                                     activation_fn=None, normalizer_fn=None,
                                     biases_initializer=tf.compat.v1.zeros_initializer() if pointwise.bias else None,
                                     scope=self._relative(pointwise.layer, prefix))

    def _conv(self, net, op, prefix):
        scope = self._relative(op.layer, prefix)
        padding = "VALID" if op.padding == "valid" else "SAME"
        if op.padding == "explicit" and op.stride > 1 and max(op.size) > 1:
            net = tf.pad(net, [[0, 0], *([(k - 1) // 2, k - 1 - (k - 1) // 2] for k in op.size), [0, 0]])
            padding = "VALID"
        if isinstance(op, ops.DepthwiseConv):   # tf_slim's depthwise conv: no pointwise outputs
            return slim.separable_conv2d(net, None, [op.kernel, op.kernel], depth_multiplier=op.multiplier,
                                         stride=op.stride, padding=padding, activation_fn=None, normalizer_fn=None,
                                         biases_initializer=tf.compat.v1.zeros_initializer() if op.bias else None,
                                         scope=scope)
        if op.groups > 1:
            return grouped_conv2d(net, op.filters, list(op.size), op.groups, stride=op.stride, padding=padding,
                                  use_bias=op.bias, scope=scope)
        return slim.conv2d(net, op.filters, list(op.size), stride=op.stride, padding=padding,
                           activation_fn=None, normalizer_fn=None,
                           biases_initializer=tf.compat.v1.zeros_initializer() if op.bias else None, scope=scope)

    def _pool(self, net, op):
        if op.size == 1:
            return resnet_utils.subsample(net, op.stride, "shortcut")
        padding = op.padding
        if padding == "pad1":
            net = tf.pad(net, [[0, 0], [1, 1], [1, 1], [0, 0]])
            padding = "valid"
        return slim.max_pool2d(net, [op.size, op.size], stride=op.stride, padding=padding.upper(),
                               scope="pool1" if op.stride > 1 else "pool")

    def _avg_pool(self, net, op):
        """TensorFlow's average pool: SAME divides by the pixels inside the image; pad1 counts its zeros."""
        padding = op.padding
        if padding == "pad1":
            net = tf.pad(net, [[0, 0], [1, 1], [1, 1], [0, 0]])
            padding = "valid"
        return slim.avg_pool2d(net, [op.size, op.size], stride=op.stride, padding=padding.upper(),
                               scope="AvgPool")


class _Separable:
    """A depthwise conv and the 1x1 conv after it, in one slim scope (see _Interpreter._separable)."""

    def __init__(self, depthwise, pointwise):
        self.depthwise, self.pointwise = depthwise, pointwise


_STAGE_UNIT = re.compile(r"stage\d+/unit\d+\Z")


def _stages(plan, description):
    """(first, last) index of the plan's ResNet-style stages, stacked as tf_slim stacks Blocks; None where the
    plan has none, or its units are named otherwise or have other ops between them."""
    units = [i for i, op in enumerate(plan) if isinstance(op, (ops.Residual, ops.Concat))]
    if not units or "unit" not in description.scheme_constants() or "slim" not in description.record.endpoints:
        return None
    for op in plan[units[0]:units[-1] + 1]:
        name = op.unit if isinstance(op, (ops.Residual, ops.Concat)) else getattr(op, "name", None)
        if not isinstance(op, (ops.Residual, ops.Concat, ops.Endpoint)) or not _STAGE_UNIT.match(name):
            return None
    return units[0], units[-1]


def _unit_stride(op):
    strides = [o.stride for o in ops.walk((op,)) if isinstance(o, (ops.Conv, ops.MaxPool)) and o.stride > 1]
    return max(strides, default=1)


def _activation(op):
    """ReLU, ReLU6, or ELU written out: Grappler fuses a `tf.nn.elu` into the preceding conv in a Session graph
    and in a tf.function differently (1e-7 apart), a written-out ELU in neither, so the graph and the eager
    layer stay bit-identical."""
    if op.kind == "relu":
        return tf.nn.relu
    if op.kind == "relu6":
        return tf.nn.relu6
    return lambda x: tf.where(x > 0, x, op.alpha * tf.math.expm1(x))


def __getattr__(name):
    """`resnet_v1_18`, `resnext_50_32x4d`, `inception10`, ...: the slim net of that name (PEP 562)."""
    if name.startswith("_"):
        raise AttributeError(name)
    try:
        description = describe(name)
    except SlimcompatError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    return net_fn(description)
