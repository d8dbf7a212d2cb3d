"""Keras weight files, read and written with h5py alone (no TensorFlow, no Keras).

`slimcompat inspect` must answer in well under a second, so nothing here
imports a framework. Three layouts exist; a kind names a layout, not the
Keras version that wrote it:

keras1: the 2016 Keras-1 `save_weights` file (e.g. the published
    `resnet50_weights_tf_dim_ordering_tf_kernels.h5`). Root attribute
    `layer_names` (every layer in model order, weightless ones too) and no
    `keras_version`; a group per layer whose attribute `weight_names` lists
    its weights in order (trainable, then non-trainable), each a dataset of
    that exact name directly in the group: `conv1/conv1_W:0`,
    `bn_conv1/bn_conv1_running_std:0`. The parameter is the name minus the
    layer prefix and `:0` (W, b, gamma, beta, running_mean, running_std).
keras2: `save_weights('x.h5')` of Keras 2 and tf-keras (also Keras 3's legacy
    `.h5`): the same, plus root attributes `keras_version` and `backend`; weight
    names are variable paths, so datasets nest: `conv1_conv/conv1_conv/kernel:0`
    (weight name `conv1_conv/kernel:0`). A whole-model `.h5` keeps this under a
    `model_weights` group. Parameter = last path part minus `:0`.
keras3: Keras 3 `save_weights('x.weights.h5')`, and the `model.weights.h5`
    member of a `.keras` zip (beside `config.json`). No root attributes; one
    entry per layer at `layers/<entry>/vars/<i>` (nested models add
    `layers/<entry>/layers/...`; an `optimizer/vars` entry may follow and is
    not a layer). Entries are named after the layer's class in snake case,
    numbered by repeats in model order (`conv2d`, `conv2d_1`, ...,
    `batch_normalization_3`); the layer's own name is the `vars` group's
    attribute `name` (written by recent Keras 3; older files lack it, and then
    a `.keras` file's config.json supplies it). Variables are numbered, so
    their meaning comes from the layer kind: conv and dense [kernel, bias],
    BatchNormalization [gamma, beta, moving_mean, moving_variance]. The kind is
    the entry's class name; for a class we do not know it is read from the
    variables themselves: four equal-length vectors are a BatchNormalization, a
    rank-4 (rank-3, rank-5) first variable a convolution, a rank-2 one a dense
    layer, a second variable then being the bias. A `.weights.h5` does not
    record how entries of different classes interleave, so its layer order
    lists them class by class (each class in model order); a `.keras` file's
    config gives the exact order.

`read` returns tensors keyed (layer name, parameter name) in that parameter
vocabulary; mapping them to canonical names is the naming scheme's job.
`open_weights` gives the same keys with the datasets unread, so a caller can
check names and shapes before the first value is read. Either way nothing is
read before the whole file has been walked: links and references to other
files are refused, and so is any dataset declaring more bytes than a weight
tensor can have (`hdf5_walk`); a compressed `.keras` member is inflated into a
temporary file, never past its declared size nor past MAX_INFLATED.
"""

import contextlib
import io
import json
import os
import pathlib
import re
import struct
import tempfile
import zipfile

import h5py
import numpy as np

from slimcompat.errors import WeightsError
from slimcompat.weights import hdf5_walk
from slimcompat.weights.atomic import atomic_output

__all__ = ["KINDS", "MAX_INFLATED", "detect", "read", "open_weights", "values", "write_keras2_h5", "read_config",
           "config_layers"]

KINDS = ("keras1", "keras2", "keras3")

_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_ZIP_SIGNATURE = b"PK\x03\x04"
_KERAS_WEIGHTS = "model.weights.h5"
_KERAS_CONFIG = "config.json"
_ATTRIBUTE_LIMIT = 64512          # HDF5 object header limit; Keras 2 splits longer attributes
_CONV_CLASSES = {"conv1d", "conv2d", "conv3d"}
_BN_PARAMS = ("gamma", "beta", "moving_mean", "moving_variance")
# The largest model we read (resnet 200, 65M parameters) is 0.5 GB in float64.
MAX_INFLATED = 1 << 30
_MAX_CONFIG = 16 << 20
_CHUNK = 1 << 20


def detect(path, probe=None):
    """"keras1", "keras2", "keras3", or None when `path` is no Keras weight file.

    A file that starts like HDF5 or zip but cannot be opened raises WeightsError
    (truncated or corrupt), so it is not mistaken for "some other format".
    probe: a shared weights.probe.Probe (detection opens each file once).
    """
    path = pathlib.Path(path)
    if not path.is_file():
        return None
    container = _container(path, probe)
    if container is None or (container == "zip" and not _has_keras_weights(path, probe)):
        return None
    with _open(path, container, probe) as (f, _config):
        return _kind(f)


def read(path):
    """(kind, layer order, {(layer name, param name): ndarray}) of a Keras weight file.

    Layer order lists every layer the file names, weightless ones included
    (see the module doc for keras3 order). Raises WeightsError naming the file
    for anything that is not a readable Keras weight file.
    """
    with open_weights(path) as (kind, order, datasets):
        return kind, order, values(datasets, path)


@contextlib.contextmanager
def open_weights(path):
    """Yield (kind, layer order, {(layer name, param name): h5py.Dataset}), no value read yet.

    The datasets are valid inside the block; check their names and shapes,
    then read them with `values`.
    """
    path = pathlib.Path(path)
    if not path.exists():
        raise WeightsError(path, "no such file")
    if not path.is_file():
        raise WeightsError(path, "is a folder, expected a Keras weight file (.h5, .weights.h5 or .keras)")
    container = _container(path)
    if container is None:
        raise WeightsError(path, f"not a Keras weight file: expected HDF5 (.h5, .weights.h5) or a .keras zip, "
                                 f"found first bytes {_head(path)!r}")
    with _open(path, container) as (f, config):
        hdf5_walk.datasets(f, str(path))
        kind = _kind(f)
        if kind is None:
            raise WeightsError(path, f"unknown HDF5 layout: expected a 'layer_names' attribute (Keras 1/2 .h5) or a "
                                     f"'layers' group (Keras 3), found attributes {sorted(f.attrs)} "
                                     f"and groups {sorted(f)[:8]}")
        if kind == "keras3":
            order, datasets = _read_keras3(f, path, config)
        else:
            order, datasets = _read_legacy(f, path, kind)
        yield kind, order, datasets


def values(datasets, path, keys=None, progress=None):
    """{key: ndarray} of the datasets `open_weights` gave (those of `keys`, default all).

    progress: optional callable(n_bytes) called after each tensor.
    """
    out = {}
    for key in datasets if keys is None else keys:
        out[key] = _dataset(datasets[key], path, f"{key[0]}/{key[1]}")
        if progress:
            progress(out[key].nbytes)
    return out


def write_keras2_h5(path, layers, *, keras_version="2.15.0", backend="tensorflow", overwrite=False,
                    extra_attrs=None):
    """Write a Keras-2 style weights `.h5` that Keras 2, tf-keras and Keras 3 `load_weights` accept.

    layers: [(layer name, [(param name, ndarray), ...])]; params in the layer's
    weight order (kernel, bias; gamma, beta, moving_mean, moving_variance).
    Loading by name accepts any layer order; topological loading (the default
    of `load_weights`) pairs the file's layers with the model's weighted layers
    by position, so give them in the target model's `model.layers` order.
    extra_attrs: more root attributes (Keras ignores them). Written beside
    `path` and renamed into place.
    """
    layers = [(str(name), [(str(p), np.asarray(v)) for p, v in params]) for name, params in layers]
    _check_layers(path, layers)
    extra_attrs = dict(extra_attrs or {})
    reserved = sorted(set(extra_attrs) & {"layer_names", "keras_version", "backend"})
    if reserved:
        raise WeightsError(path, f"extra_attrs may not set {', '.join(reserved)}")
    with atomic_output(path, overwrite) as tmp:
        with h5py.File(tmp, "w") as f:
            _set_name_list(f, "layer_names", [name for name, _ in layers])
            f.attrs["backend"] = backend.encode("utf8")
            f.attrs["keras_version"] = str(keras_version).encode("utf8")
            for key, value in extra_attrs.items():
                f.attrs[key] = value
            for name, params in layers:
                group = f.create_group(name)
                weight_names = [f"{name}/{param}:0" for param, _ in params]
                _set_name_list(group, "weight_names", weight_names)
                for weight_name, (_, value) in zip(weight_names, params):
                    group.create_dataset(weight_name, data=value)
    return pathlib.Path(path)


def _check_layers(path, layers):
    seen = set()
    for name, params in layers:
        if not name or "/" in name or name in seen:
            problem = "empty" if not name else "contains '/'" if "/" in name else "appears twice"
            raise WeightsError(path, f"cannot write layer name {name!r}: {problem}")
        seen.add(name)
        if len({p for p, _ in params}) != len(params):
            raise WeightsError(path, f"layer {name!r}: parameter names repeat ({[p for p, _ in params]})")


# --- opening ---------------------------------------------------------------------------------

def _head(path, n=8):
    with open(path, "rb") as f:
        return f.read(n)


def _container(path, probe=None):
    """"hdf5", "zip" or None, from the file's first bytes (or h5py for user-block files)."""
    head = probe.head(8) if probe else _head(path)
    if head.startswith(_HDF5_SIGNATURE):
        return "hdf5"
    if head.startswith(_ZIP_SIGNATURE):
        return "zip"
    if probe.is_hdf5() if probe else h5py.is_hdf5(str(path)):
        return "hdf5"
    return None


def _has_keras_weights(path, probe=None):
    try:
        with (probe.zip() if probe else zipfile.ZipFile(path)) as archive:
            return _KERAS_WEIGHTS in archive.namelist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise WeightsError(path, f"truncated or corrupt zip file ({exc})") from None


@contextlib.contextmanager
def _open(path, container, probe=None):
    """Yield (h5py.File, config dict or None) for an HDF5 file or a .keras zip (through `probe`'s handle)."""
    if container == "hdf5" and probe is not None:
        yield _shared_h5(probe, path), None
        return
    if container == "hdf5":
        with _h5(path, path) as f:
            yield f, None
        return
    try:
        archive = probe.zip() if probe else zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise WeightsError(path, f"truncated or corrupt zip file ({exc})") from None
    with archive:
        names = archive.namelist()
        if _KERAS_WEIGHTS not in names:
            raise WeightsError(path, f"zip file without {_KERAS_WEIGHTS}: not a .keras model "
                                     f"(members: {', '.join(names[:5]) or 'none'})")
        config = _zip_config(archive, path)
        with _zip_member(archive, path, _KERAS_WEIGHTS) as member, _h5(member, path) as f:
            yield f, config


@contextlib.contextmanager
def _h5(source, path):
    try:
        f = h5py.File(source, "r")
    except (OSError, ValueError) as exc:
        raise WeightsError(path, f"truncated or corrupt HDF5 file ({_short(exc)})") from None
    with f:
        yield f


def _shared_h5(probe, path):
    try:
        return probe.h5()
    except (OSError, ValueError) as exc:
        raise WeightsError(path, f"truncated or corrupt HDF5 file ({_short(exc)})") from None


def _short(exc):
    text = str(exc).strip()
    return text.split("(", 1)[-1].rstrip(")") if "Unable to" in text and "(" in text else text


def read_config(path):
    """The parsed `config.json` of a `.keras` zip (None without one), its layer list checked (`config_layers`)."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise WeightsError(path, f"truncated or corrupt zip file ({exc})") from None
    with archive:
        return _zip_config(archive, path)


def _zip_config(archive, path):
    if _KERAS_CONFIG not in archive.namelist():
        return None
    try:
        with io.BytesIO() as buffer:
            _inflate(archive, archive.getinfo(_KERAS_CONFIG), path, buffer, _MAX_CONFIG)
            config = json.loads(buffer.getvalue())
    except (ValueError, zipfile.BadZipFile, OSError, EOFError) as exc:
        raise WeightsError(path, f"unreadable {_KERAS_CONFIG} in the .keras zip ({exc})") from None
    config_layers(config, path)
    return config


def config_layers(config, path):
    """The layer list of a parsed `.keras` config, None when it has none (a subclassed model's).

    Each layer is checked to be an object with a string class_name, an object
    config and a string name, so that readers index them without surprises; a
    config of another shape is WeightsError naming what was expected and found.
    """
    def refuse(expected, found):
        shown = repr(found) if len(repr(found)) <= 60 else repr(found)[:57] + "..."
        raise WeightsError(path, f"{_KERAS_CONFIG}: expected {expected}, found {type(found).__name__} {shown}")
    if not isinstance(config, dict):
        refuse("a JSON object", config)
    inner = config.get("config")
    if inner is None:
        return None
    if not isinstance(inner, dict):
        refuse("'config' to be an object", inner)
    layers = inner.get("layers")
    if layers is None:
        return None
    if not isinstance(layers, list):
        refuse("'config.layers' to be a list of layers", layers)
    for i, layer in enumerate(layers):
        if not isinstance(layer, dict):
            refuse(f"layer {i} to be an object", layer)
        if not isinstance(layer.get("class_name"), str):
            refuse(f"layer {i}'s class_name to be a string", layer.get("class_name"))
        if not isinstance(layer.setdefault("config", {}), dict):
            refuse(f"layer {i} ({layer['class_name']})'s config to be an object", layer["config"])
        if not isinstance(layer["config"].get("name", ""), str):
            refuse(f"layer {i} ({layer['class_name']})'s name to be a string", layer["config"]["name"])
    return layers


@contextlib.contextmanager
def _zip_member(archive, path, name):
    """A seekable file object for one zip member: a window on the zip if stored, else inflated to a temporary file."""
    info = archive.getinfo(name)
    try:
        if info.compress_type != zipfile.ZIP_STORED:
            with tempfile.TemporaryFile() as spool:
                _inflate(archive, info, path, spool, MAX_INFLATED)
                spool.seek(0)
                yield spool
            return
        with open(path, "rb") as raw:
            raw.seek(info.header_offset)
            header = raw.read(30)
            if len(header) < 30 or header[:4] != _ZIP_SIGNATURE:
                raise WeightsError(path, f"corrupt zip: no local header for {name}")
            name_len, extra_len = struct.unpack("<HH", header[26:30])
            start = info.header_offset + 30 + name_len + extra_len
            if start + info.file_size > os.path.getsize(path):
                raise WeightsError(path, f"truncated zip: {name} needs {start + info.file_size} bytes, "
                                         f"the file has {os.path.getsize(path)}")
            yield io.BufferedReader(_Window(raw, start, info.file_size))
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise WeightsError(path, f"truncated or corrupt zip file ({exc})") from None


def _inflate(archive, info, path, out, limit):
    """Copy a compressed member into `out`, refusing more than `limit` bytes or more than it declares."""
    if info.file_size > limit:
        raise WeightsError(path, f"{info.filename} in the zip declares {hdf5_walk.human_bytes(info.file_size)} "
                                 f"inflated, more than a weight file can need ({hdf5_walk.human_bytes(limit)}); "
                                 f"refusing to inflate it")
    written = 0
    with archive.open(info) as member:
        while block := member.read(_CHUNK):
            written += len(block)
            if written > info.file_size:
                raise WeightsError(path, f"{info.filename} in the zip inflates past its declared "
                                         f"{info.file_size} bytes: corrupt or crafted; refusing")
            out.write(block)


class _Window(io.RawIOBase):
    """Read-only view of bytes [start, start + size) of an open file."""

    def __init__(self, raw, start, size):
        self._raw, self._start, self._size, self._pos = raw, start, size, 0

    def readable(self):
        return True

    def seekable(self):
        return True

    def tell(self):
        return self._pos

    def seek(self, offset, whence=io.SEEK_SET):
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer):
        n = max(0, min(len(buffer), self._size - self._pos))
        if n == 0:
            return 0
        self._raw.seek(self._start + self._pos)
        got = self._raw.readinto(memoryview(buffer)[:n])
        self._pos += got
        return got


# --- layout ----------------------------------------------------------------------------------

def _kind(f):
    group = _legacy_group(f)
    if group is not None:
        version = _text(group.attrs.get("keras_version", f.attrs.get("keras_version")))
        return "keras1" if version is None or version.startswith("1") else "keras2"
    if isinstance(f.get("layers"), h5py.Group) or isinstance(f.get("_layer_checkpoint_dependencies"), h5py.Group):
        return "keras3"
    return None


def _legacy_group(f):
    """The group holding `layer_names`: the root, or `model_weights` of a whole-model .h5."""
    for group in (f, f.get("model_weights")):
        if isinstance(group, h5py.Group) and ("layer_names" in group.attrs or "layer_names0" in group.attrs):
            return group
    return None


def _text(value):
    if value is None:
        return None
    return value.decode("utf8") if isinstance(value, bytes) else str(value)


def _name_list(group, name):
    """A list-of-strings attribute, joined from `name0`, `name1`... if Keras had to split it."""
    if name in group.attrs:
        chunks = [group.attrs[name]]
    else:
        chunks, i = [], 0
        while f"{name}{i}" in group.attrs:
            chunks.append(group.attrs[f"{name}{i}"])
            i += 1
    return [_text(v) for chunk in chunks for v in np.atleast_1d(chunk) if np.size(chunk)]


def _set_name_list(group, name, values):
    """Store a list of strings as Keras does: fixed-length bytes, split when over the header limit."""
    data = np.array([v.encode("utf8") for v in values]) if values else np.zeros((0,), np.float64)
    if data.nbytes <= _ATTRIBUTE_LIMIT:
        group.attrs[name] = data
        return
    chunks = int(np.ceil(data.nbytes / _ATTRIBUTE_LIMIT)) + 1
    for i, chunk in enumerate(np.array_split(data, chunks)):
        group.attrs[f"{name}{i}"] = chunk


def _dataset(value, path, where):
    try:
        return value[()]
    except (OSError, ValueError, TypeError, MemoryError) as exc:
        raise WeightsError(path, f"tensor {where}: unreadable data ({str(exc) or type(exc).__name__})") from None


# --- keras1 / keras2 -------------------------------------------------------------------------

def _read_legacy(f, path, kind):
    group = _legacy_group(f)
    order = _name_list(group, "layer_names")
    tensors = {}
    for layer in order:
        layer_group = group.get(layer)
        if not isinstance(layer_group, h5py.Group):
            raise WeightsError(path, f"layer {layer!r} is listed in layer_names but has no group")
        for weight_name in _name_list(layer_group, "weight_names"):
            value = layer_group.get(weight_name)
            if not isinstance(value, h5py.Dataset):
                raise WeightsError(path, f"layer {layer!r}: weight {weight_name!r} is listed in weight_names "
                                         f"but has no dataset")
            key = (layer, _param_name(kind, layer, weight_name))
            if key in tensors:
                raise WeightsError(path, f"layer {layer!r}: two weights named {key[1]!r}")
            tensors[key] = value
    return order, tensors


def _param_name(kind, layer, weight_name):
    """`conv1_W:0` -> W (keras1); `conv1_conv/kernel:0` -> kernel (keras2)."""
    base = re.sub(r":\d+$", "", weight_name).rsplit("/", 1)[-1]
    if kind == "keras1" and base.startswith(layer + "_"):
        return base[len(layer) + 1:]
    return base


# --- keras3 ----------------------------------------------------------------------------------

def _read_keras3(f, path, config):
    entries = list(_keras3_entries(f))
    configs = _config_by_entry(config, [e for e, _ in entries], path)
    if configs:
        rank = {entry: i for i, entry in enumerate(configs)}
        entries.sort(key=lambda e: rank.get(e[0], len(rank)))
    names, tensors = [], {}
    for entry, variables in entries:
        layer_config = configs.get(entry)
        name = _text(variables.attrs.get("name")) or (layer_config or {}).get("config", {}).get("name") or entry
        if name in names:
            raise WeightsError(path, f"two Keras 3 entries name their layer {name!r}")
        names.append(name)
        found = [variables[k] for k in _var_keys(variables, path, entry)]
        for param, value in zip(_keras3_params(path, entry, name, found, layer_config), found):
            tensors[(name, param)] = value
    return names, tensors


def _keras3_entries(f):
    """(entry path, vars group) of every layer: groups reached by `layers/<entry>` steps only."""
    root = f.get("layers") if isinstance(f.get("layers"), h5py.Group) else f.get("_layer_checkpoint_dependencies")
    stack = [("", root)]
    while stack:
        prefix, layers = stack.pop(0)
        for key in sorted(layers, key=_natural):
            entry = layers[key]
            if not isinstance(entry, h5py.Group):
                continue
            if isinstance(entry.get("vars"), h5py.Group):
                yield prefix + key, entry["vars"]
            if isinstance(entry.get("layers"), h5py.Group):
                stack.append((f"{prefix}{key}/", entry["layers"]))


def _natural(key):
    """Sort key: 'conv2d' < 'conv2d_1' < 'conv2d_2' < 'conv2d_10'."""
    m = re.fullmatch(r"(.*?)(?:_(\d+))?", key)
    return m.group(1), int(m.group(2) or -1)


def _var_keys(variables, path, entry):
    keys = list(variables)
    if not all(k.isdigit() for k in keys) or sorted(map(int, keys)) != list(range(len(keys))):
        raise WeightsError(path, f"{entry}/vars: expected datasets 0..{len(keys) - 1}, found {sorted(keys)[:6]}")
    return sorted(keys, key=int)


def _snake(class_name):
    """Keras's entry name for a class: 'BatchNormalization' -> 'batch_normalization'."""
    name = re.sub(r"\W+", "", class_name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _config_by_entry(config, entries, path):
    """{entry: layer config} for the top-level layers of a .keras config, when it lines up with the file."""
    layers = config_layers(config, path) if config is not None else None
    if layers is None:
        return {}
    out, counts = {}, {}
    for layer in layers:
        base = _snake(str(layer.get("class_name", "")))
        n = counts.get(base, 0)
        counts[base] = n + 1
        out[base if n == 0 else f"{base}_{n}"] = layer
    top = {e for e in entries if "/" not in e}
    return out if top <= set(out) else {}


def _keras3_params(path, entry, name, values, layer_config):
    """Parameter names of an entry's numbered variables, from its class (or its variables' shapes)."""
    if not values:
        return []
    kind = _keras3_kind(entry, values, layer_config)
    shapes = [tuple(np.shape(v)) for v in values]
    where = f"{entry} (layer {name!r})"
    if kind == "bn":
        params = _bn_params(path, where, shapes, (layer_config or {}).get("config"))
        if len(params) != len(values) or len({s for s in shapes}) != 1 or len(shapes[0]) != 1:
            raise WeightsError(path, f"{where}: expected BatchNormalization vectors {list(params)}, "
                                     f"found shapes {shapes}")
        return params
    if kind in ("conv", "dense", "depthwise"):
        rank_ok = len(shapes[0]) in {"conv": (3, 4, 5), "dense": (2,), "depthwise": (4,)}[kind]
        out = shapes[0][-1] * (shapes[0][-2] if kind == "depthwise" else 1)   # [k, k, C, M]: C * M biases
        bias_ok = len(shapes) == 1 or (len(shapes) == 2 and shapes[1] == (out,))
        kernel = "depthwise_kernel" if kind == "depthwise" else "kernel"
        if not (rank_ok and bias_ok):
            raise WeightsError(path, f"{where}: expected {kind} variables [{kernel}, bias], found shapes {shapes}")
        return [kernel, "bias"][:len(values)]
    raise WeightsError(path, f"{where}: cannot tell what its {len(values)} variables are (shapes {shapes}); "
                             f"slimcompat reads convolution, dense and BatchNormalization layers")


def _keras3_kind(entry, values, layer_config):
    base = _snake(layer_config["class_name"]) if layer_config else _natural(entry.rsplit("/", 1)[-1])[0]
    if base in _CONV_CLASSES:
        return "conv"
    if base == "depthwise_conv2d":
        return "depthwise"
    if base in ("dense", "batch_normalization"):
        return {"dense": "dense", "batch_normalization": "bn"}[base]
    shapes = [np.shape(v) for v in values]
    if len(shapes) == 4 and all(len(s) == 1 for s in shapes) and len(set(shapes)) == 1:
        return "bn"
    if len(shapes) <= 2 and len(shapes[0]) in (3, 4, 5):
        return "conv"
    if len(shapes) <= 2 and len(shapes[0]) == 2:
        return "dense"
    return None


def _bn_params(path, where, shapes, config):
    if config is not None:
        return ([p for p, on in (("gamma", config.get("scale", True)), ("beta", config.get("center", True))) if on]
                + ["moving_mean", "moving_variance"])
    if len(shapes) != 4:
        raise WeightsError(path, f"{where}: BatchNormalization with {len(shapes)} variables; without the model config "
                                 f"the file does not say which of gamma/beta is missing")
    return list(_BN_PARAMS)
