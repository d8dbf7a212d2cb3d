"""Canonical Weights <-> Keras weight files and Keras models.

Reading needs no framework: keras_files gives (layer, param) tensors, the
naming scheme turns them into canonical names, and the architecture is the
one whose scheme names cover the file's tensors exactly (tried over every
described ResNet, so no per-model code). Writing and model building import
Keras.

A Keras model is built faithful to the weights' metadata (epsilon, stem
pooling, stride placement) unless the stock keras.applications model is asked
for; that one loads with a warning naming every difference, and weights whose
stride placement differs from it are refused outright: same shapes, other
network.
"""

import json
import pathlib
import warnings

import numpy as np

from slimcompat.errors import MappingError, SlimcompatError, WeightsError
from slimcompat.nets.arch import FAMILIES, UNITS, ResNet
from slimcompat.weights import canonical, keras_files
from slimcompat.weights.atomic import atomic_output
from slimcompat.weights.metadata import SOURCE_CONVENTIONS, Metadata
from slimcompat.weights.names import UnknownNameError, scheme
from slimcompat.weights.progress import announce

__all__ = ["read", "write", "to_keras_model", "stock_differences", "STOCK_MODELS"]

_META_ATTR = "slimcompat_metadata"
_SOURCE_KINDS = {"keras1": "keras1-h5", "keras2": "keras2-h5", "keras3": "keras3-weights-h5"}
STOCK_MODELS = {("resnet_v1", 50): "ResNet50", ("resnet_v1", 101): "ResNet101", ("resnet_v1", 152): "ResNet152",
                ("resnet_v2", 50): "ResNet50V2", ("resnet_v2", 101): "ResNet101V2", ("resnet_v2", 152): "ResNet152V2"}


# Keras-1 parameter names; Keras 2 kept the Caffe layer names for a while
# (keras.applications ResNet50 before 2019: res2a_branch2a/kernel:0), so the
# layer scheme and the parameter vocabulary are matched independently.
_PARAM_ALIASES = {"W": "kernel", "b": "bias", "running_mean": "moving_mean", "running_std": "moving_variance"}
_LAYER_SCHEMES = ("keras", "keras1")
_SOURCE_NAMES = {"keras1": "{0}_{1}:0", "keras2": "{0}/{1}:0", "keras3": "{0}/{1}"}


def _candidates(kind, arch):
    if arch is not None:
        family, _, depth = arch.rpartition("_")
        return [ResNet(family, int(depth), conv_bias=family == "resnet_v1")]
    families = ("resnet_v1",) if kind == "keras1" else FAMILIES
    return [ResNet(f, d, conv_bias=f == "resnet_v1") for f in families for d in UNITS]


def _canonical_names(bound, found):
    """{canonical name: (layer, param)} of a file's tensors under one scheme, or None."""
    out = {}
    for layer, param in found:
        try:
            name = f"{bound.canonical_layer(layer)}/{_PARAM_ALIASES.get(param, param)}"
        except UnknownNameError:
            return None
        out[name] = (layer, param)
    return out


def _identify(path, kind, found, arch=None):
    """(ResNet, num_classes, {canonical: (layer, param)}, layer scheme) covering `found` exactly."""
    best = None
    for scheme_name in _LAYER_SCHEMES:
        for candidate in _candidates(kind, arch):
            names = _canonical_names(scheme(scheme_name, candidate), found)
            if names is None:
                continue
            logits = found.get(names.get("logits/kernel"))
            classes = None if logits is None else int(logits.shape[-1])
            expected = candidate.tensors(classes)
            missing = [n for n in expected if n not in names]
            unexpected = [n for n in names if n not in expected]
            mismatched = [(n, s, found[names[n]].shape) for n, s in expected.items()
                          if n in names and tuple(found[names[n]].shape) != tuple(s)]
            if not (missing or unexpected or mismatched):
                return candidate, classes, names, scheme_name
            score = len(missing) + len(unexpected) + len(mismatched)
            if best is None or score < best[0]:
                best = (score, candidate, missing, unexpected, mismatched)
    if best is None:
        layers = sorted({layer for layer, _ in found})
        raise WeightsError(path, f"not a ResNet weight file: layer names such as {', '.join(layers[:3])} "
                                 f"follow neither keras.applications nor Keras-1 ResNet naming")
    _, candidate, missing, unexpected, mismatched = best
    raise MappingError(f"{path} (closest: {candidate.name})", missing, unexpected, mismatched)


def _stored_metadata(path):
    import h5py
    try:
        with h5py.File(path, "r") as f:
            raw = f.attrs.get(_META_ATTR)
    except OSError:
        return None
    return None if raw is None else json.loads(raw.decode() if isinstance(raw, bytes) else raw)


def read(path, arch=None, progress=None):
    """Canonical Weights from a Keras-1, Keras-2 or Keras 3 weight file."""
    path = pathlib.Path(path)
    with keras_files.open_weights(path) as (kind, _, found):
        resnet, classes, keys, layer_scheme = _identify(path, kind, found, arch)
        names = list(resnet.tensors(classes))
        announce(progress, sum(found[keys[n]].nbytes for n in names))
        with canonical.sha256_later(path) as digest:
            values = keras_files.values(found, path, [keys[n] for n in names], progress)
            sha256 = digest()
    tensors = {n: values[keys[n]] for n in names}
    stored = _stored_metadata(path) if kind == "keras2" else None
    if stored:
        meta = Metadata.from_attrs(stored)
    else:
        convention = SOURCE_CONVENTIONS[f"{layer_scheme}:{resnet.family}"]
        meta = Metadata(resnet.name, **{**convention, "num_classes": classes, "background_class": False})
    source_kind = "keras3-keras" if path.suffix == ".keras" else _SOURCE_KINDS[kind]
    meta = meta.replace(source_kind=source_kind, source_file=path.name, source_sha256=sha256)
    source = _SOURCE_NAMES[kind]
    return canonical.Weights(tensors, meta, {n: source.format(*keys[n]) for n in tensors}).validate(str(path))


def stock_differences(meta: Metadata):
    """How the stock keras.applications model would compute differently from `meta`."""
    stock = SOURCE_CONVENTIONS[f"keras:{meta.arch.family}"]
    out = []
    if meta.stride_placement != stock["stride_placement"]:
        out.append(f"stride placement {meta.stride_placement} (stock: {stock['stride_placement']})")
    if meta.bn_epsilon != stock["bn_epsilon"]:
        out.append(f"BatchNorm epsilon {meta.bn_epsilon:g} (stock: {stock['bn_epsilon']:g})")
    if meta.stem_pool != stock["stem_pool"]:
        out.append(f"stem pool {meta.stem_pool} (stock: {stock['stem_pool']})")
    return out


def _refuse_stride(meta, target):
    stock = SOURCE_CONVENTIONS[f"keras:{meta.arch.family}"]["stride_placement"]
    if meta.stride_placement != stock:
        raise SlimcompatError(
            f"{meta.architecture} weights stride at {meta.stride_placement}, {target} at {stock}: the shapes "
            f"match but the networks differ, so the weights would load and compute something else. Keep a "
            f"canonical file, or write a .keras model (it carries the faithful architecture)")


def to_keras_model(weights, faithful=True, input_shape=(224, 224, 3), classifier_activation=None):
    """A Keras model holding `weights`.

    faithful: built from the metadata (epsilon, stem pooling, stride placement),
        computing what the source computed. Otherwise the stock
        keras.applications model, with a warning naming each difference.
    """
    from slimcompat.nets import keras_resnet
    meta, arch = weights.meta, weights.meta.arch
    top = meta.num_classes is not None
    if faithful:
        model = keras_resnet.build(arch, naming="keras", num_classes=meta.num_classes, include_top=top,
                                   bn_epsilon=meta.bn_epsilon, stem_pool=meta.stem_pool,
                                   stride_placement=meta.stride_placement, input_shape=input_shape,
                                   classifier_activation=classifier_activation)
    else:
        model = _stock_model(meta, input_shape, classifier_activation)
        arch = ResNet(arch.family, arch.depth, conv_bias=arch.family == "resnet_v1")
        if arch.conv_bias and not meta.conv_bias:
            raise SlimcompatError(f"{meta.architecture} weights have no conv biases; the stock Keras model needs them")
    return keras_resnet.set_canonical_weights(model, arch, "keras", weights.tensors)


def _stock_model(meta, input_shape, classifier_activation):
    import keras
    _refuse_stride(meta, "keras.applications")
    name = STOCK_MODELS.get((meta.arch.family, meta.arch.depth))
    if name is None:
        raise SlimcompatError(f"keras.applications has no {meta.architecture}; use the faithful model")
    differences = stock_differences(meta)
    if differences:
        warnings.warn(f"stock keras.applications.{name} differs from these weights' source: "
                      f"{'; '.join(differences)}; its outputs will differ", stacklevel=3)
    top = meta.num_classes is not None
    return getattr(keras.applications, name)(weights=None, include_top=top, input_shape=input_shape,
                                             classes=meta.num_classes or 1000,
                                             classifier_activation=classifier_activation)


def write(path, weights, overwrite=False, progress=None):
    """Keras output: `.keras` (faithful model), `.weights.h5` (Keras 3), else Keras-2 style `.h5`.

    `.h5` and `.weights.h5` hold modern keras.applications names and no
    architecture, so weights whose stride placement differs from the stock
    model's are refused, and other differences are warned about.
    """
    path = pathlib.Path(path)
    meta = weights.meta
    weights.validate(str(path))
    if path.name.endswith(".keras"):
        model = to_keras_model(weights, faithful=True)
        with atomic_output(path, overwrite, keep_suffix=True) as tmp:
            model.save(tmp)
        return path
    _refuse_stride(meta, "Keras files (which load into keras.applications models)")
    differences = stock_differences(meta)
    if differences:
        warnings.warn(f"{path.name}: loading into stock keras.applications gives other outputs than the "
                      f"source ({'; '.join(differences)}); build the faithful model with "
                      f"slimcompat.weights.keras_io.to_keras_model instead", stacklevel=2)
    if path.name.endswith(".weights.h5"):
        model = to_keras_model(weights, faithful=True)
        with atomic_output(path, overwrite, keep_suffix=True) as tmp:
            model.save_weights(tmp)
        return path
    bound = scheme("keras", meta.arch)
    layers = {}
    for name, value in weights.tensors.items():
        layer, param = bound.split(bound.tensor(name))
        layers.setdefault(layer, []).append((param, value))
        if progress:
            progress(value.nbytes)
    order = _keras_layer_order(meta)
    keras_files.write_keras2_h5(path, [(name, layers[name]) for name in order], overwrite=overwrite,
                                extra_attrs={_META_ATTR: json.dumps(_jsonable(meta.to_attrs()))})
    return path


def _keras_layer_order(meta):
    """Weighted layers in keras.applications order: `load_weights` pairs legacy .h5 layers by position."""
    from slimcompat.nets import keras_resnet
    model = keras_resnet.build(meta.arch, naming="keras", num_classes=meta.num_classes,
                               include_top=meta.num_classes is not None, input_shape=(32, 32, 3))
    return [layer.name for layer in model.layers if layer.weights]


def _jsonable(attrs):
    return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in attrs.items()}
