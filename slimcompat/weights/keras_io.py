"""Canonical Weights <-> Keras weight files and Keras models.

Reading needs no framework: keras_files gives (layer, param) tensors, the
naming scheme turns them into canonical names, and the description is the one
whose scheme names cover the file's tensors exactly. What the file says about
itself is read, or the read fails: a description slimcompat stored in the file
(`slimcompat_metadata` in an `.h5`/`.weights.h5`, `slimcompat.json` in a
`.keras`), else a `.keras` model config (BatchNorm epsilon, activation, stem
pooling), else the conventions of the source whose names the file uses
(keras.applications, the Keras-1 release). A `.keras` whose config states a
knob otherwise than its `slimcompat.json` is refused: which one the weights
need cannot be told. Errors name tensors as the file does (`conv1_conv/kernel:0
(stem/conv/kernel)`). Writing and model building import Keras.

A Keras model is built faithful to the weights' description unless the stock
keras.applications model is asked for; that one loads with a warning naming
every difference, and weights whose stride placement differs from it are
refused outright: same shapes, other network.
"""

import collections
import json
import pathlib
import warnings
import zipfile

import numpy as np

from slimcompat.arch import all_descriptions, describe, scheme
from slimcompat.arch.conventions import source_input
from slimcompat.arch.layout import held_shape, held_shapes, kernel_kinds, to_framework
from slimcompat.arch.templates import UnknownNameError
from slimcompat.errors import MappingError, Refusal, SlimcompatError, WeightsError, WeightsRefusal
from slimcompat.weights import canonical, fidelity, keras_files
from slimcompat.weights.kind import convert_command, identify as identify_among
from slimcompat.weights.transforms import aux_free
from slimcompat.weights.atomic import atomic_output
from slimcompat.weights.metadata import Metadata
from slimcompat.weights.progress import announce

__all__ = ["read", "identify", "identify_names", "write", "to_keras_model", "stock_differences", "stock_model",
           "stock_model_name", "build_stock", "stock_input_warning", "convert_command"]

META_ATTR = "slimcompat_metadata"
META_MEMBER = "slimcompat.json"
_SOURCE_KINDS = {"keras1": "keras1-h5", "keras2": "keras2-h5", "keras3": "keras3-weights-h5"}

# Keras-1 parameter names; Keras 2 kept the Caffe layer names for a while
# (keras.applications ResNet50 before 2019: res2a_branch2a/kernel:0), so the
# layer scheme and the parameter vocabulary are matched independently.
_PARAM_ALIASES = {"W": "kernel", "b": "bias", "running_mean": "moving_mean", "running_std": "moving_variance"}
_LAYER_SCHEMES = {"keras": "keras", "keras1": "keras1"}       # layer scheme: the source whose habits it implies
# How each kind names a (layer, param) in messages; "object": a TF-format checkpoint's recorded variable names.
_SOURCE_NAMES = {"keras1": "{0}_{1}:0", "keras2": "{0}/{1}:0", "keras3": "{0}/{1}", "object": "{0}/{1}"}
_CONFIG_LIMIT = 64 << 20


def stock_model(description):
    """(name, description, constructor arguments) of the keras.applications model of the same structure as
    `description`, or None: its family's `keras_applications`, built with the arguments that take the
    description's knobs (MobileNet's alpha)."""
    description = (aux_free(description) or (None, description))[1]       # side heads: `_refuse_aux`
    for name, arguments in description.record.keras_applications.items():
        stock = describe(name, **{knob: getattr(description, knob) for knob in arguments.values()})
        if not any(effect == "shape" and knob not in ("num_classes", "conv_bias")
                   for knob, _, effect, _, _ in stock.differences(description)):
            return name, stock, {argument: getattr(description, knob) for argument, knob in arguments.items()}
    return None


def stock_model_name(description):
    """The keras.applications model of the same structure as `description`, or None."""
    found = stock_model(description)
    return None if found is None else found[0]


def build_stock(name, input_shape, num_classes, arguments):
    """keras.applications' `name` (weights=None, logits out) with its unnamed layers numbered as in a fresh
    session (conv2d, conv2d_1, ...), as the keras scheme names them whatever the process built before; the
    caller's numbering is restored after."""
    import keras
    from keras.src.backend.common import global_state
    key = "object_name_uids"
    saved = global_state.get_global_attribute(key)
    global_state.set_global_attribute(key, collections.defaultdict(int))
    try:
        return getattr(keras.applications, name)(weights=None, include_top=num_classes is not None,
                                                  input_shape=input_shape, classes=num_classes or 1000,
                                                  classifier_activation=None, **arguments)
    finally:
        global_state.set_global_attribute(key, saved)


def _candidates(kind, arch):
    """[(description, layer scheme)] a file of `kind` may hold."""
    if hasattr(arch, "plan"):
        return [(arch, s) for s in _LAYER_SCHEMES]
    if arch is not None:
        out = []
        for layer_scheme, source in _LAYER_SCHEMES.items():
            try:
                out.append((describe(arch, source=source), layer_scheme))
            except SlimcompatError:
                continue
        return out or [(describe(arch), s) for s in _LAYER_SCHEMES]
    out = [(d, "keras") for d in all_descriptions(source="keras") if kind != "keras1"]
    out += [(d, "keras1") for d in all_descriptions(source="keras1")]
    return out


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


def _identify(path, kind, found, candidates):
    """(description with the file's classes, {canonical: (layer, param)}, layer scheme) covering `found` exactly."""
    def fit(entry):
        candidate, scheme_name = entry
        try:
            names = _canonical_names(scheme(scheme_name, candidate), found)
        except SlimcompatError:     # the family has no such names (no Keras-1 MobileNet)
            return None
        if names is None:
            return None
        logits = found.get(names.get("logits/kernel"))
        classes = None if logits is None else int(logits.shape[-1])
        if classes != candidate.num_classes:
            candidate = candidate.replace(num_classes=classes, background_class=False)
        expected, kinds = candidate.tensors(), kernel_kinds(candidate)
        missing = [f"{_expected_name(kind, scheme(scheme_name, candidate), n)} ({n})" for n in expected
                   if n not in names]
        unexpected = [_source_name(kind, names[n]) for n in names if n not in expected]
        mismatched = [(f"{_source_name(kind, names[n])} ({n})", s, found[names[n]].shape)
                      for n, s in expected.items() if n in names and _held(kinds.get(n), found[names[n]].shape, s)
                      != tuple(s)]
        if missing or unexpected or mismatched:
            raise MappingError(f"{path} (closest: {candidate.name})", missing, unexpected, mismatched)
        return candidate, names, scheme_name

    def unknown_names():
        layers = sorted({layer for layer, _ in found})
        return WeightsRefusal(path, f"not a weight file of a described network: layer names such as "
                                    f"{', '.join(layers[:3])} follow neither keras.applications nor Keras-1 "
                                    f"naming; if this is your own model's file, give its code: "
                                    f"{convert_command(path)}")
    return identify_among(candidates, fit, unknown_names)


def _held(kind, shape, expected):
    """The canonical shape of a tensor a file holds as `shape` (a kernel in another rank with as many elements:
    MobileNet's classifier as a 1x1 conv, slimcompat.arch.layout)."""
    return held_shape(kind, "tensorflow", shape, expected) if kind else tuple(shape)


def _expected_name(kind, bound, canonical_name):
    """The name a file of `kind` would give a tensor it lacks (the canonical name where the scheme has none)."""
    try:
        return _source_name(kind, bound.split(bound.tensor(canonical_name)))
    except UnknownNameError:
        return canonical_name


def _source_name(kind, key):
    return _SOURCE_NAMES[kind].format(*key)


def _stored_metadata(path, kind):
    """Metadata slimcompat wrote into the file, or None; WeightsError when it is there but unusable."""
    import h5py
    raw = None
    if path.suffix == ".keras":
        raw = _zip_member_text(path, META_MEMBER)
    else:
        try:
            with h5py.File(path, "r") as f:
                raw = f.attrs.get(META_ATTR)
        except OSError:
            return None
    if raw is None:
        return None
    try:
        attrs = json.loads(raw.decode() if isinstance(raw, bytes) else raw)
        if not isinstance(attrs, dict):
            raise ValueError("not a JSON object")
        return Metadata.from_attrs(attrs, version=2 if "description" in attrs else 1)
    except (ValueError, UnicodeDecodeError, SlimcompatError) as exc:
        raise WeightsError(path, f"its {META_ATTR} is not valid slimcompat metadata ({exc})") from None


def _zip_member_text(path, member):
    try:
        with zipfile.ZipFile(path) as archive:
            if member not in archive.namelist():
                return None
            info = archive.getinfo(member)
            if info.file_size > _CONFIG_LIMIT:
                raise WeightsError(path, f"{member} declares {info.file_size} bytes (limit {_CONFIG_LIMIT})")
            return archive.read(member)
    except (zipfile.BadZipFile, OSError) as exc:
        raise WeightsError(path, f"truncated or corrupt zip file ({exc})") from None


def _config_knobs(path, description):
    """Knobs a `.keras` model config states (epsilon, activation, stem pooling), checked for consistency.

    The config is read as data (JSON), never deserialised into layers. The stem
    pooling is read from the stem: the one stride-2 max pool and the layer that
    feeds it, never from padding layers elsewhere in the network.
    """
    config = keras_files.read_config(path)
    if config is None:
        return {}
    layers = keras_files.config_layers(config, path)
    if layers is None:
        raise WeightsError(path, "config.json: expected a Keras functional model config (a layer list at "
                                 "config.layers), found none")
    knobs = {}
    epsilons = {_number(path, layer, "epsilon") for layer in layers if layer["class_name"] == "BatchNormalization"}
    if len(epsilons) > 1:
        raise WeightsError(path, f"config.json: BatchNormalization layers use several epsilons {sorted(epsilons)}; "
                                 f"a description has one")
    if epsilons:
        knobs["bn_epsilon"] = epsilons.pop()
    activations = {_activation_of(path, layer) for layer in layers} - {None}
    if len(activations) > 1:
        raise WeightsError(path, f"config.json: several activations {sorted(map(str, activations))}; a description "
                                 f"has one")
    if activations:
        kind, alpha = activations.pop()
        knobs["activation"] = kind
        if kind == "elu":
            knobs["elu_alpha"] = alpha
    if "stem_pool" in {f.name for f in description.__dataclass_fields__.values()}:
        pool = _stem_pool(path, layers)
        if pool is not None:
            knobs["stem_pool"] = pool
    if any(layer["class_name"] == "Softmax" or (layer["class_name"] == "Dense" and
                                                layer["config"].get("activation") == "softmax") for layer in layers):
        knobs["softmax"] = True
    return knobs


def _where(layer):
    return f"config.json: layer {layer['config'].get('name', '?')!r} ({layer['class_name']})"


def _number(path, layer, key, default=None):
    value = layer["config"].get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise WeightsError(path, f"{_where(layer)}: expected a number for {key}, found {value!r}")
    return float(value)


def _stem_pool(path, layers):
    """'same', 'valid' or 'pad1' from the stem's max pool and its input; None without one.

    The stem is what the config lists before the first Add (layers are listed
    in topological order, so the first unit ends there); its pool is the
    stride-2 max pool larger than 1x1 (a 1x1 one subsamples a shortcut).
    """
    first_add = next((i for i, layer in enumerate(layers) if layer["class_name"] == "Add"), len(layers))
    pools = [layer for layer in layers[:first_add] if layer["class_name"] == "MaxPooling2D"
             and _pair(path, layer, "strides") == (2, 2) and _pair(path, layer, "pool_size") != (1, 1)]
    if len(pools) != 1:
        return None
    pool = pools[0]
    feeding = _input_of(pool, layers)
    if feeding is not None and feeding["class_name"] == "ZeroPadding2D" and \
            feeding["config"].get("padding") in (1, [1, 1], [[1, 1], [1, 1]]):
        return "pad1"
    padding = pool["config"].get("padding", "valid")
    if padding not in ("same", "valid"):
        raise WeightsError(path, f"{_where(pool)}: expected padding 'same' or 'valid', found {padding!r}")
    return padding


def _pair(path, layer, key):
    value = layer["config"].get(key)
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return (value, value)
    if isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return tuple(value)
    raise WeightsError(path, f"{_where(layer)}: expected {key} as an integer or a list of integers, found {value!r}")


def _input_of(layer, layers):
    """The layer feeding `layer`: named by its inbound nodes (Keras 3 or tf.keras form), else the one listed
    before it; None when it has several inputs or an unknown one."""
    names = set()

    def walk(node):
        if isinstance(node, dict):
            history = node.get("keras_history")
            if isinstance(history, list) and history and isinstance(history[0], str):
                names.add(history[0])
                return
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            if len(node) >= 3 and isinstance(node[0], str) and isinstance(node[1], int):
                names.add(node[0])
                return
            for value in node:
                walk(value)
    walk(layer.get("inbound_nodes"))
    if not names:
        index = next(i for i, other in enumerate(layers) if other is layer)
        return layers[index - 1] if index else None
    by_name = {other["config"].get("name"): other for other in layers}
    return by_name.get(names.pop()) if len(names) == 1 else None


def _activation_of(path, layer):
    name, config = layer["class_name"], layer["config"]
    if name == "ELU":
        return ("elu", _number(path, layer, "alpha", 1.0))
    if name == "ReLU" and not config.get("max_value") and not config.get("negative_slope"):
        return ("relu", 1.0)
    if name == "Activation" and config.get("activation") in ("relu", "elu"):
        return (config["activation"], 1.0)
    return None


def _config_disagreement(path, description):
    """Refuse a `.keras` whose config.json states a knob otherwise than its slimcompat.json."""
    for knob, stated in _config_knobs(path, description).items():
        recorded = getattr(description, knob, None)
        if recorded != stated:
            raise WeightsError(path, f"config.json has {knob} {stated!r}, {META_MEMBER} records {recorded!r}: "
                                     f"they disagree, so which one the weights need cannot be told; refusing")


def _with_config_knobs(path, description):
    """`description` with the knobs a `.keras` config states (a knob out of range named with the file)."""
    try:
        return description.replace(**_config_knobs(path, description))
    except WeightsError:
        raise
    except SlimcompatError as exc:
        raise WeightsError(path, f"config.json: {exc}") from None


def _identified(path, kind, found, arch):
    """(description, input convention, recorded input shape, {canonical: (layer, param)}) of an open file."""
    stored = _stored_metadata(path, kind)
    candidates = _candidates(kind, stored.description if stored and arch is None else arch)
    description, keys, layer_scheme = _identify(path, kind, found, candidates)
    if stored is not None and arch is None:
        if stored.description.tensors() != description.tensors():
            raise WeightsError(path, f"its stored description ({stored.architecture}) does not match its "
                                     f"tensors")
        if path.suffix == ".keras":
            _config_disagreement(path, stored.description)
        return stored.description, stored.input, stored.input_shape, keys
    if arch is None and path.suffix == ".keras":
        description = _with_config_knobs(path, description)
    return description, source_input(_LAYER_SCHEMES[layer_scheme], description), (), keys


def identify_names(path, found, arch=None):
    """(description, input convention, {canonical: (layer, param)}) of tensors named as a Keras file names them:
    `found` is {(layer, param): anything with a `shape`}, read exactly as a Keras 2 file's tensors (a TF-format
    checkpoint whose variables recorded their Keras names, slimcompat.weights.object_tree). WeightsRefusal where
    the names follow no scheme, MappingError where they do but miss, add or misshape a tensor."""
    description, keys, layer_scheme = _identify(pathlib.Path(path), "object", found, _candidates("object", arch))
    return description, source_input(_LAYER_SCHEMES[layer_scheme], description), keys


def identify(path, arch=None):
    """The description a Keras weight file holds, from its names and shapes alone (no value read); the
    errors `read` would raise about them."""
    with keras_files.open_weights(pathlib.Path(path)) as (kind, _, found):
        return _identified(pathlib.Path(path), kind, found, arch)[0]


def read(path, arch=None, progress=None):
    """Canonical Weights from a Keras-1, Keras-2 or Keras 3 weight file (see module doc)."""
    path = pathlib.Path(path)
    with keras_files.open_weights(path) as (kind, _, found):
        description, input_convention, input_shape, keys = _identified(path, kind, found, arch)
        names = list(description.tensors())
        announce(progress, sum(found[keys[n]].nbytes for n in names))
        with canonical.sha256_later(path) as digest:
            values = keras_files.values(found, path, [keys[n] for n in names], progress)
            sha256 = digest()
    expected = description.tensors()
    tensors = {n: np.asarray(values[keys[n]]).reshape(expected[n]) for n in names}
    source_kind = "keras3-keras" if path.suffix == ".keras" else _SOURCE_KINDS[kind]
    meta = Metadata(description, input_convention, source_kind=source_kind, source_file=path.name,
                    source_sha256=sha256, input_shape=input_shape)
    sources = {n: _source_name(kind, keys[n]) for n in tensors}
    return canonical.Weights(tensors, meta, sources).validate(str(path), canonical.source_label(sources))


def stock_differences(meta: Metadata):
    """How the stock keras.applications model would compute differently from `meta`: ["label X (stock: Y)"]."""
    found = stock_model(meta.description)
    if found is None:
        return []
    return [f"{d.label} {d.weights} (stock: {d.target})"
            for d in fidelity.judge(found[1], meta.description, "built").judged]


def stock_input_warning(meta):
    """How the input these weights expect differs from the stock model's preprocess_input, or None."""
    name = stock_model_name(meta.description)
    if name is None:
        return None
    stock = source_input("keras", describe(name))
    if meta.input == stock:
        return None
    flip = " (convert --flip-color reverses the first conv's colour channels)" \
        if meta.input.color != stock.color else ""
    return (f"these weights expect input {_input(meta.input)}, not {name}'s preprocess_input "
            f"{_input(stock)}{flip}")


def _input(convention):
    return f"{convention.color} (x - {list(convention.mean)}) / {list(convention.std)}"


def _refuse_stride(meta, target):
    found = stock_model(meta.description)
    if found is None:
        return
    stock = found[1]
    if fidelity.judge(stock, meta.description, "built").refused:
        raise Refusal(
            f"{meta.architecture} weights stride at {meta.stride_placement}, {target} at {stock.stride_placement}: "
            f"the shapes match but the networks differ, so the weights would load and compute something else. "
            f"Keep a canonical file, or write a .keras model (it carries the faithful architecture)")


def to_keras_model(weights, faithful=True, input_shape=None):
    """A Keras model holding `weights`.

    faithful: built from the description (every knob), computing what the
        source computed. Otherwise the stock keras.applications model, with a
        warning naming each difference.
    input_shape: (H, W, C); default the one the weights record, else 224x224x3.
    """
    from slimcompat.nets import keras_net
    meta = weights.meta
    input_shape = tuple(input_shape or meta.input_shape or (*meta.description.input_size, 3))
    if faithful:
        model = keras_net.build(meta.description, naming="keras", input_shape=input_shape)
        return keras_net.set_canonical_weights(model, meta.description, "keras", weights.tensors)
    model, stock = _stock_model(meta, input_shape)
    if getattr(stock, "conv_bias", False) and not getattr(meta.description, "conv_bias", False):
        raise Refusal(f"{meta.architecture} weights have no conv biases; the stock Keras model needs them: build "
                      f"the faithful model (to_keras_model(weights); parity: keras-faithful)")
    return keras_net.set_canonical_weights(model, stock, "keras", weights.tensors)


def _refuse_aux(meta, target):
    """keras.applications has no side heads: weights with them would not load into its model."""
    found = aux_free(meta.description)
    name = stock_model_name(meta.description)
    if found is None or name is None:
        return
    knob, bare = found
    extra = sorted(set(meta.description.tensors()) - set(bare.tensors()))
    raise Refusal(f"{meta.architecture} weights hold an auxiliary head ({len(extra)} tensors: {extra[0]}, ...) "
                  f"that keras.applications.{name} lacks, so {target} cannot hold them: drop it (convert "
                  f"--drop-aux; transforms.drop_aux(weights)), or write a .keras model (the faithful architecture)")


def _stock_model(meta, input_shape):
    _refuse_stride(meta, "keras.applications")
    _refuse_aux(meta, "its model")
    found = stock_model(meta.description)
    if found is None:
        raise Refusal(f"keras.applications has no {meta.architecture}: build the faithful model "
                      f"(to_keras_model(weights); parity: keras-faithful)")
    name, stock, arguments = found
    differences = stock_differences(meta)
    if differences:
        warnings.warn(f"stock keras.applications.{name} differs from these weights' source: "
                      f"{'; '.join(differences)}; its outputs will differ", stacklevel=3)
    if (input_warning := stock_input_warning(meta)):
        warnings.warn(f"keras.applications.{name}: {input_warning}", stacklevel=3)
    return build_stock(name, input_shape, meta.num_classes, arguments), stock.replace(num_classes=meta.num_classes)


def write(path, weights, overwrite=False, progress=None):
    """Keras output: `.keras` (faithful model), `.weights.h5` (Keras 3), else Keras-2 style `.h5`.

    Every output also carries the metadata (description included), so reading
    it back gives exactly these Weights. `.h5` and `.weights.h5` hold
    keras.applications names; where a stock model of the same structure
    exists, weights that stride elsewhere are refused and other differences
    warned about, since people load such files into it.
    """
    path = pathlib.Path(path)
    meta = weights.meta
    weights.validate(str(path))
    stored = json.dumps(_jsonable(meta.to_attrs()))
    if path.name.endswith(".keras"):
        model = to_keras_model(weights, faithful=True)
        with atomic_output(path, overwrite, keep_suffix=True) as tmp:
            model.save(tmp)
            with zipfile.ZipFile(tmp, "a") as archive:
                archive.writestr(META_MEMBER, stored)
        return path
    _refuse_stride(meta, "Keras files (which load into keras.applications models)")
    _refuse_aux(meta, "a Keras file (which loads into its model)")
    differences = stock_differences(meta)
    if differences:
        warnings.warn(f"{path.name}: loading into stock keras.applications gives other outputs than the "
                      f"source ({'; '.join(differences)}); build the faithful model with "
                      f"slimcompat.weights.keras_io.to_keras_model instead", stacklevel=2)
    if (input_warning := stock_input_warning(meta)):
        warnings.warn(f"{path.name}: {input_warning}", stacklevel=2)
    if path.name.endswith(".weights.h5"):
        import h5py
        model = to_keras_model(weights, faithful=True)
        with atomic_output(path, overwrite, keep_suffix=True) as tmp:
            model.save_weights(tmp)
            with h5py.File(tmp, "a") as f:
                f.attrs[META_ATTR] = stored
        return path
    bound = scheme("keras", meta.description)
    # the stock model's own shapes where it holds a kernel in another rank (VGG's Dense fc layers, MobileNet's
    # 1x1-conv classifier): the family declares which
    kinds = kernel_kinds(meta.description)
    shapes = held_shapes(meta.description, "keras", "tensorflow") if stock_model(meta.description) else {}
    layers = {}
    for name, value in weights.tensors.items():
        named = bound.tensor(name)
        layer, param = bound.split(named)
        if name in kinds and named in shapes:
            value = to_framework(value, kinds[name], "tensorflow", shapes[named])
        layers.setdefault(layer, []).append((param, value))
        if progress:
            progress(value.nbytes)
    order = _keras_layer_order(meta)
    keras_files.write_keras2_h5(path, [(name, layers[name]) for name in order], overwrite=overwrite,
                                extra_attrs={META_ATTR: stored})
    return path


def _keras_layer_order(meta):
    """Weighted layers in the faithful model's order: `load_weights` pairs legacy .h5 layers by position."""
    from slimcompat.nets import keras_net
    model = keras_net.build(meta.description, naming="keras", input_shape=(*meta.description.input_size, 3))
    return [layer.name for layer in model.layers if layer.weights]


def _jsonable(attrs):
    return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in attrs.items()}
