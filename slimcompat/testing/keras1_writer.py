"""The Keras-1 ResNet50 weight file of 2016, written with h5py.

`resnet50_weights_tf_dim_ordering_tf_kernels.h5` and its `_notop` twin
(fchollet/deep-learning-models, release v0.2) were saved by Keras 1
`Container.save_weights`; no tool alive writes that layout, so this module
reproduces it from what the sources say:

- Root attribute `layer_names` only: the UTF-8 names of `model.layers`, as a
  fixed-length bytes array. No `keras_version`, no `backend` (Keras 2.0's
  `save_weights_to_hdf5_group` added those two; their absence is how readers
  tell a Keras-1 file). Sources: Keras 1 `Container.save_weights`, as copied in
  Maluuba/mctest-model `save_model.py`; Keras 2.0 in tensorflow/tensorflow
  `tensorflow/contrib/keras/python/keras/engine/topology.py`.
- One group per layer, weightless layers included (input_1, zeropadding2d_1,
  activation_N, maxpooling2d_1, merge_N, avg_pool, flatten_1), each with the
  attribute `weight_names` (bytes; empty for weightless layers, which h5py
  stores as an empty float64 array, as Keras's `attrs['weight_names'] = []`
  did), and one dataset per weight named exactly as its TensorFlow variable,
  directly in the group: `conv1/conv1_W:0`, `conv1/conv1_b:0`. Weight order is
  trainable then non-trainable: W, b; gamma, beta, running_mean, running_std.
  Variable names `<layer>_W`, `<layer>_gamma`, `<layer>_running_std`: Keras 1
  `Convolution2D`/`Dense`/`BatchNormalization.build` (Keras 1.x
  `keras/layers/normalization.py`, as vendored in forks). `running_std` holds
  the variance: the legacy loader (tf-keras `src/saving/legacy/hdf5_format.py`,
  `preprocess_weights_for_loading`, "original_keras_version == '1'") passes
  Keras-1 BatchNorm weights through unchanged as moving_variance, and Keras 2's
  ResNet50 loaded this very file by plain `load_weights` (apache/tvm
  `tutorials/frontend/from_keras.py`).
- Kernels in TensorFlow layout: conv HWIO, dense [2048, 1000] (`tf_kernels`).
- Layer names: the model of fchollet/deep-learning-models `resnet50.py`
  (commit 134615aa): conv1, bn_conv1, res2a_branch2a, bn2a_branch2a, ...,
  res2a_branch1, ..., avg_pool, fc1000 (named by the `keras1` naming scheme
  here); unnamed layers get Keras 1's `<classname lowercased>_<counter>`,
  counted in creation order. The notop model stops at `avg_pool` (no
  flatten_1, no fc1000).
- Layer order is `Container.layers`: layers sorted by decreasing depth (longest
  path to the output), ties by the order a depth-first walk from the output
  meets them (`keras/engine/topology.py` of Keras 1 and 2, e.g. the
  tensorflow/tensorflow contrib copy above: layers_by_depth sorted by
  layer_indices; Keras 3 `keras/src/ops/function.py` still does this). In a
  conv_block the shortcut conv shares its depth with branch2c and is met
  after it, as is bn_branch1 with bn_branch2c, so the file reads ... res2a_branch2c, res2a_branch1,
  bn2a_branch2c, bn2a_branch1, merge_1, activation_4 ... This is the order
  printed by Keras 2 `model.summary()` of the same model in many public
  notebooks, and it must be: Keras 2 loaded this file by topological order,
  which pairs weighted layers by position and would have failed on the first
  conv/BatchNorm mismatch otherwise.
"""

import h5py
import numpy as np

from fixtures.weights import random_tensors

from slimcompat.arch import describe, scheme
from slimcompat.arch.mapping import check_mapping

__all__ = ["ARCH", "write_keras1_resnet50", "keras1_layers", "container_order"]

ARCH = describe("keras1:resnet_v1_50")
_NAMES = scheme("keras1", ARCH)


class _Graph:
    """Layers in creation order: name -> (input names, canonical layer or None); Keras-1 auto names."""

    def __init__(self):
        self.inputs = {}
        self.canonical = {}
        self._counts = {}

    def add(self, inputs, canonical=None, kind=None, name=None):
        """Add a layer named by its canonical layer, an explicit name, or Keras 1's counter for `kind`."""
        if canonical is not None:
            name = _NAMES.layer(canonical)
        elif name is None:
            self._counts[kind] = self._counts.get(kind, 0) + 1
            name = f"{kind}_{self._counts[kind]}"
        self.inputs[name] = list(inputs)
        self.canonical[name] = canonical
        return name


def keras1_layers(include_top=True):
    """(graph, output layer name) of the Keras-1 ResNet50, layers created as resnet50.py does."""
    g = _Graph()
    x = g.add([], kind="input")
    x = g.add([x], kind="zeropadding2d")
    x = g.add([x], "stem/conv")
    x = g.add([x], "stem/conv/bn")
    x = g.add([x], kind="activation")
    x = g.add([x], kind="maxpooling2d")
    for unit in ARCH.unit_list():
        x = _block(g, x, unit.name, shortcut=unit.projection)
    x = g.add([x], name="avg_pool")
    if include_top:
        x = g.add([x], kind="flatten")
        x = g.add([x], "logits")
    return g, x


def _block(g, x, unit, shortcut):
    """identity_block / conv_block: main path, then the shortcut, then merge([main, shortcut])."""
    r = x
    for k in (1, 2, 3):
        r = g.add([r], f"{unit}/conv{k}")
        r = g.add([r], f"{unit}/conv{k}/bn")
        if k < 3:
            r = g.add([r], kind="activation")
    s = x
    if shortcut:
        s = g.add([g.add([x], f"{unit}/shortcut")], f"{unit}/shortcut/bn")
    m = g.add([r, s], kind="merge")
    return g.add([m], kind="activation")


def container_order(inputs, output):
    """Keras `Container.layers` order: decreasing depth, ties by depth-first discovery from the output."""
    index = {}

    def visit(name):
        if name in index:
            return
        index[name] = len(index)
        for parent in inputs[name]:
            visit(parent)

    visit(output)
    depth = {output: 0}
    for name in _reverse_topological(inputs, output):
        for parent in inputs[name]:
            depth[parent] = max(depth.get(parent, 0), depth[name] + 1)
    return sorted(index, key=lambda n: (-depth[n], index[n]))


def _reverse_topological(inputs, output):
    """Layers ordered so each comes before all of its inputs (consumers first)."""
    consumers = {n: 0 for n in inputs}
    for name in inputs:
        for parent in inputs[name]:
            consumers[parent] += 1
    ready, out = [output], []
    while ready:
        name = ready.pop()
        out.append(name)
        for parent in inputs[name]:
            consumers[parent] -= 1
            if consumers[parent] == 0:
                ready.append(parent)
    return out


def write_keras1_resnet50(path, tensors_by_canonical_name=None, include_top=True, seed=0):
    """Write the Keras-1 ResNet50 file (notop when include_top is False); return {canonical name: array}.

    Tensors are random (seeded) unless given; given ones must be exactly the
    canonical set of the Keras-1 resnet_v1_50 with or without logits.
    """
    expected = ARCH.replace(num_classes=1000 if include_top else None).tensors()
    if tensors_by_canonical_name is None:
        tensors = random_tensors(expected, seed)
    else:
        check_mapping(expected, {n: np.shape(t) for n, t in tensors_by_canonical_name.items()}, str(path))
        tensors = {n: np.asarray(tensors_by_canonical_name[n]) for n in expected}
    graph, output = keras1_layers(include_top)
    order = container_order(graph.inputs, output)
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = _bytes_array(order)
        for name in order:
            group = f.create_group(name)
            canonical = graph.canonical[name]
            weights = [] if canonical is None else [t for t, _ in _layer_tensors(canonical)]
            group.attrs["weight_names"] = _bytes_array([_NAMES.tensor(t) for t in weights])
            for t in weights:
                group.create_dataset(_NAMES.tensor(t), data=tensors[t])
    return tensors


def _bytes_array(names):
    """What h5py 2 stored for Keras 1's list of UTF-8 bytes: fixed-length strings; [] -> empty float64."""
    return np.array([n.encode("utf8") for n in names]) if names else np.zeros((0,), np.float64)


def _layer_tensors(canonical):
    return next(layer.tensors() for layer in ARCH.layers() if layer.layer == canonical)
