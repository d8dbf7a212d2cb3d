"""Weights in and out of a SlimLayer by the TF1 names its variables carry.

Canonical files (and every format `slimcompat.weights.convert` reads) reach a
layer of a described network (`net_layer`) through the "slim" naming scheme;
any other slim layer loads
a TF1 checkpoint by exact variable names. Every load checks the whole mapping
(names and shapes, both ways) before the first assignment, so it either loads
everything or changes nothing. Writing uses TF1's own Saver, so the checkpoint
restores into the TF1 graph as if that graph had saved it.
"""

import warnings

import numpy as np

from slimcompat.arch import UnknownNameError, scheme
from slimcompat.arch.conventions import source_input
from slimcompat.arch.mapping import check_mapping
from slimcompat.errors import SlimcompatError, WeightsRefusal
from slimcompat.weights import canonical, fidelity
from slimcompat.weights.metadata import Metadata
from slimcompat.weights.slim_checkpoint import canonical_shape

__all__ = ["slim_variables", "to_weights", "load_weights", "load_checkpoint", "save_slim_checkpoint"]

def slim_variables(layer):
    """{TF1 variable name (no ':0'): variable} of `layer`; its variables must exist (call it once)."""
    if not layer.weights:
        raise SlimcompatError(f"layer {layer.name!r} has no variables yet: call it once (or build it) first")
    return {v.name[:-2] if v.name.endswith(":0") else v.name: v for v in layer.weights}


def _description(layer):
    description = getattr(layer, "description", None)
    if description is None:
        raise SlimcompatError(f"layer {layer.name!r} is not a layer of a described network (see net_layer); "
                              f"load a TF1 checkpoint by variable names with load_checkpoint")
    return description


def _canonical_variables(layer):
    """({canonical name: variable}, {canonical name, or the layer's name where none maps: canonical-layout shape})."""
    description = _description(layer)
    bound = scheme("slim", description)
    expected = description.tensors()
    known, shapes = {}, {}
    for name, variable in slim_variables(layer).items():
        try:
            canonical = bound.canonical_tensor(name)
        except UnknownNameError:
            shapes[name] = tuple(variable.shape)
            continue
        known[canonical] = variable
        shapes[canonical] = canonical_shape(canonical, variable.shape, expected.get(canonical))
    return known, shapes


def to_weights(layer):
    """canonical.Weights of a `net_layer` layer (save it with `slimcompat.weights.convert.save`)."""
    description = _description(layer)
    known, shapes = _canonical_variables(layer)
    check_mapping(description.tensors(), shapes, f"layer {layer.name!r}")
    tensors = {n: known[n].numpy().reshape(shape) for n, shape in description.tensors().items()}
    meta = Metadata(description, source_input("slim", description), source_kind="slimcompat-eager",
                    source_file=layer.name)
    return canonical.Weights(tensors, meta, {n: v.name for n, v in known.items()})


def load_weights(layer, source, use_ema=False):
    """Assign every weight of a `net_layer` layer from `source`, all or nothing; returns the layer.

    source: canonical.Weights, or the path of any file `convert.load` reads
    (canonical, slim checkpoint, Keras h5). Refused before any assignment:
    another architecture or class count (MappingError listing the tensors),
    and weights that stride elsewhere (Keras/Caffe ResNet50), which would load
    and compute something else. Other differences of the weights' description
    from the layer's (epsilon, stem pool, activation, ...) load with a warning:
    the layer computes with its own; build it with
    `net_layer(weights.meta.description)` to compute with theirs.
    """
    description = _description(layer)
    if not isinstance(source, canonical.Weights):
        from slimcompat.weights import convert
        source = convert.load(source, arch=description if _is_checkpoint(source) else None, use_ema=use_ema)
    where = source.meta.source_file or "weights"
    verdict = fidelity.judge(description, source.meta.description, "built")
    strides = [f"{d.label} {d.weights} (the layer: {d.target})" for d in verdict.refused]
    if strides:
        raise WeightsRefusal(where, f"{'; '.join(strides)}: same shapes, another network; refusing to load (build "
                                    f"the layer from the weights' own description: "
                                    f"net_layer(weights.meta.description))")
    if verdict.judged:
        warnings.warn(f"{where}: " + "; ".join(f"{d.label} {d.weights} differs from the layer's {d.target}"
                                               for d in verdict.judged)
                      + "; the layer computes with its own", stacklevel=2)
    known, shapes = _canonical_variables(layer)
    check_mapping(shapes, {n: np.shape(t) for n, t in source.tensors.items()}, f"{where} -> layer {layer.name!r}")
    for name, variable in known.items():
        variable.assign(np.asarray(source.tensors[name], dtype=variable.dtype.as_numpy_dtype)
                        .reshape(variable.shape))
    return layer


def _is_checkpoint(path):
    from slimcompat.weights import slim_checkpoint
    return slim_checkpoint.is_slim_checkpoint(path)


def load_checkpoint(layer, path):
    """Assign every variable of `layer` from the TF1 checkpoint at `path` by name, all or nothing.

    For any slim layer, ResNet or not. Checkpoint variables the layer does not
    have (global_step, optimizer slots, other models) are ignored; a layer
    variable missing from the checkpoint or shaped otherwise is an error before
    any assignment.
    """
    from slimcompat.weights.slim_checkpoint import get_tensor, open_reader
    variables = slim_variables(layer)
    reader, shapes = open_reader(path)
    check_mapping({n: tuple(v.shape) for n, v in variables.items()},
                  {n: shapes[n] for n in variables if n in shapes}, f"{path} -> layer {layer.name!r}")
    for name, variable in variables.items():
        variable.assign(get_tensor(reader, name, str(path)))
    return layer


def save_slim_checkpoint(layer, path, overwrite=False, version="V2"):
    """Write `layer`'s variables under their TF1 names with TF1's Saver; returns the prefix.

    The checkpoint restores with `tf.compat.v1.train.Saver` into the TF1 graph
    the model function builds. Written as `slimcompat convert` writes one: a
    failure leaves nothing, and an existing checkpoint at `path` is refused
    unless overwrite=True.
    """
    import tensorflow as tf
    from slimcompat.weights import slim_checkpoint
    v1 = tf.compat.v1
    variables = slim_variables(layer)
    with slim_checkpoint.atomic_checkpoint(path, overwrite, version) as prefix:
        saver = v1.train.Saver(variables, sharded=False, max_to_keep=None,
                               write_version=getattr(v1.train.SaverDef, version))
        saver.save(None, str(prefix), write_meta_graph=False, write_state=False)
    return path
