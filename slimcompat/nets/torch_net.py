"""PyTorch modules built from an architecture description, computing what TensorFlow computes.

`build` interprets the description's plan (slimcompat.arch.ops) as keras_net
and slim_net do: each Conv, DepthwiseConv (a grouped `nn.Conv2d`, one group
per input channel), BatchNorm and Dense becomes an `nn.Conv2d`,
`nn.BatchNorm2d` (with the description's epsilon) or `nn.Linear` at the
module path the `torchvision` naming scheme gives it (`layer1.0.conv2`,
`layer1.0.downsample.0`, `fc`), so state_dict keys are torchvision's wherever
torchvision has the layer; the forward pass walks the plan. Nothing here knows
a depth, a family or a variant.

Where PyTorch's habits differ from TensorFlow's, TensorFlow's are kept:

- SAME padding of a strided conv is asymmetric (the extra row and column go
  after, for even inputs); `nn.Conv2d(padding=)` is symmetric, so such convs
  get an explicit `F.pad` sized from the input. Explicit (slim `conv2d_same`,
  Keras ZeroPadding2D) and stride-1 padding are symmetric for odd kernels and
  stay inside the conv.
- SAME max pooling never takes padding for a maximum: it pads with -inf.
  `pad1` (Keras' ZeroPadding2D, then VALID) pads with zeros, which differs
  where every value in a window is negative (after an ELU).
- SAME average pooling divides by the pixels inside the image, also where
  the padding is asymmetric (sums over the padded input divided by counts
  over a padded mask); `pad1` (zeros, then VALID) counts the zeros.
- A BatchNorm without scale has no `weight` in its state_dict: a constant
  ones buffer takes its place, as the canonical has no gamma.
- Flatten takes TensorFlow's H, W, C order (NCHW is permuted first), so a
  canonical dense kernel after it needs no reordering.
- BatchNorm epsilon, ELU alpha and grouped convs come from the plan.

Layout is PyTorch's: NCHW in; endpoints NCHW, [N, C] for pooled and logits.

    net = torch_net.from_weights(convert.load("resnet_v2_50.safetensors"))
    logits = net(images_nchw)
    logits, endpoints = net.endpoints(images_nchw)
"""

import numpy as np

from slimcompat.arch import layout, ops, scheme
from slimcompat.arch.mapping import check_mapping
from slimcompat.errors import SlimcompatError
from slimcompat.optional import require

torch = require("torch", "the PyTorch module")
F = torch.nn.functional

__all__ = ["Net", "build", "from_weights", "load_weights", "load_tensors", "canonical_weights"]


class Net(torch.nn.Module):
    """A faithful PyTorch module of one description; `endpoints(x)` also returns every canonical endpoint."""

    def __init__(self, description):
        super().__init__()
        self.description = description
        self._plan = description.plan()
        names = scheme(layout.TORCH_NAMING, description)
        self._layers = {}   # canonical layer -> module, registered at its scheme path
        for op in description.layers():
            module = _module(op)
            _attach(self, names.layer(op.layer), module)
            self._layers[op.layer] = module

    def forward(self, x):
        return self._sequence(x, self._plan, None)

    def endpoints(self, x):
        """(output, {canonical endpoint: tensor}) from one forward pass."""
        points = {}
        return self._sequence(x, self._plan, points), points

    def _sequence(self, x, plan, points):
        for op in plan:
            x = getattr(self, "_" + type(op).__name__.lower())(x, op, points)
        return x

    def _conv(self, x, op, points):
        pads = _conv_pads(op, x.shape[2], x.shape[3])
        return self._layers[op.layer](F.pad(x, pads) if pads else x)

    _depthwiseconv = _conv

    def _batchnorm(self, x, op, points):
        return self._layers[op.layer](x)

    def _dense(self, x, op, points):
        return self._layers[op.layer](x)

    def _act(self, x, op, points):
        if op.kind == "elu":
            return F.elu(x, op.alpha)
        return F.relu6(x) if op.kind == "relu6" else F.relu(x)

    def _maxpool(self, x, op, points):
        if op.padding == "same":
            pads = _same(x.shape[3], op.size, op.stride) + _same(x.shape[2], op.size, op.stride)
            if any(pads):
                x = F.pad(x, pads, value=float("-inf"))
        elif op.padding == "pad1":
            x = F.pad(x, (1, 1, 1, 1))
        return F.max_pool2d(x, op.size, op.stride)

    def _avgpool(self, x, op, points):
        if op.padding == "pad1":
            return F.avg_pool2d(F.pad(x, (1, 1, 1, 1)), op.size, op.stride)
        if op.padding == "valid":
            return F.avg_pool2d(x, op.size, op.stride)
        pads = _same(x.shape[3], op.size, op.stride) + _same(x.shape[2], op.size, op.stride)
        if not any(pads):
            return F.avg_pool2d(x, op.size, op.stride)
        inside = F.pad(torch.ones_like(x[:1, :1]), pads)
        sums = F.avg_pool2d(F.pad(x, pads), op.size, op.stride, divisor_override=1)
        return sums / F.avg_pool2d(inside, op.size, op.stride, divisor_override=1)

    def _flatten(self, x, op, points):
        return x.permute(0, 2, 3, 1).flatten(1)

    def _globalavgpool(self, x, op, points):
        return x.mean(dim=(2, 3))

    def _dropout(self, x, op, points):
        return F.dropout(x, op.rate, self.training)

    def _softmax(self, x, op, points):
        return F.softmax(x, dim=-1)

    def _endpoint(self, x, op, points):
        if points is not None:
            points[op.name] = x
        return x

    def _residual(self, x, op, points):
        inner = self._sequence(x, op.pre, points)
        shortcut = self._sequence(inner if op.shortcut_from == "pre" else x, op.shortcut, points)
        main = self._sequence(inner, op.main, points)
        return self._sequence(shortcut + (main if op.scale == 1.0 else op.scale * main), op.post, points)

    def _aux(self, x, op, points):
        self._sequence(x, op.ops, points)
        return x

    def _concat(self, x, op, points):
        return torch.cat([self._sequence(x, branch, points) for branch in op.branches], dim=1)


def _symmetric(op):
    """The padding nn.Conv2d can do itself for `op` (same on both sides, input-independent), else None."""
    if op.padding == "valid":
        return 0
    if op.padding == "same" and op.stride > 1 and max(op.size) > 1:
        return None
    befores = tuple((k - 1) // 2 for k in op.size)
    return befores if all(k - 1 - b == b for k, b in zip(op.size, befores)) else None


def _same(size, kernel, stride):
    """(before, after) TensorFlow SAME padding of one spatial dimension."""
    total = max((-(-size // stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _conv_pads(op, height, width):
    """F.pad's (left, right, top, bottom) that `op` needs before its conv, or None."""
    if _symmetric(op) is not None:
        return None
    if op.padding == "same":
        return _same(width, op.size[1], op.stride) + _same(height, op.size[0], op.stride)
    (kh, kw) = op.size
    return ((kw - 1) // 2, kw - 1 - (kw - 1) // 2, (kh - 1) // 2, kh - 1 - (kh - 1) // 2)


def _module(op):
    if isinstance(op, ops.Conv):
        return torch.nn.Conv2d(op.in_channels, op.filters, op.size, op.stride, padding=_symmetric(op) or 0,
                               groups=op.groups, bias=op.bias)
    if isinstance(op, ops.DepthwiseConv):
        return torch.nn.Conv2d(op.channels, op.filters, op.kernel, op.stride, padding=_symmetric(op) or 0,
                               groups=op.channels, bias=op.bias)
    if isinstance(op, ops.BatchNorm):
        module = torch.nn.BatchNorm2d(op.channels, eps=op.epsilon)
        if not op.scale:
            del module.weight
            module.register_buffer("weight", torch.ones(op.channels), persistent=False)
        return module
    return torch.nn.Linear(op.in_features, op.units, bias=op.bias)


def _attach(root, path, module):
    """Register `module` at dotted `path` under `root`, creating plain containers on the way."""
    *parents, leaf = path.split(".")
    node = root
    for part in parents:
        child = node._modules.get(part)
        if child is None:
            child = torch.nn.Module()
            node.add_module(part, child)
        node = child
    if leaf in node._modules:
        raise SlimcompatError(f"two layers of {root.description.name} are both named {path!r}")
    node.add_module(leaf, module)


def build(description):
    """The faithful module of `description` (a description object), in eval mode, weights uninitialised."""
    return Net(description).eval()


def load_weights(net, weights):
    """Assign canonical Weights to `net`; nothing is assigned unless every name and shape fits."""
    return load_tensors(net, weights.tensors)


def load_tensors(net, canonical_tensors):
    """Assign {canonical name: array} to `net`, all or nothing (see load_weights)."""
    tensors = layout.state_dict(canonical_tensors, net.description)
    expected = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    check_mapping(expected, {k: np.shape(v) for k, v in tensors.items()},
                  f"PyTorch module of {net.description.name}")
    with torch.no_grad():
        net.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in tensors.items()}, strict=True)
    return net


def from_weights(weights):
    """The faithful module of `weights`' description, holding them, in eval mode."""
    return load_weights(build(weights.meta.description), weights)


def canonical_weights(net):
    """{canonical tensor name: float32 array} of `net`'s parameters and BatchNorm statistics."""
    values = {k: v.detach().to("cpu", torch.float32).numpy() for k, v in net.state_dict().items()
              if not k.endswith("num_batches_tracked")}
    tensors, _ = layout.canonical_tensors(values, net.description, f"PyTorch module of {net.description.name}")
    return tensors
