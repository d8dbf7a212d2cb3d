"""The canonical weight file: read, write, validate (spec: weights/SPEC.md).

One HDF5 file per model: root attributes carry the format tag, its version and
the Metadata (the full architecture description among it); group `tensors/`
holds one float dataset per canonical tensor name
(`tensors/stage1/unit1/conv1/kernel`), each with HDF5's Fletcher-32 checksum,
and, as its attribute `sources`, a JSON object of each tensor's source name
(one attribute: 816 small ones cost a third of the write time of a
resnet_v2_152).
Every read validates the whole file before returning anything (format,
version, metadata, exact tensor set and shapes for the description, checksums,
dtype, finite values), so a malformed file fails at the door, never inside a
model. Version 1 files (no description, no checksums) still read.
Reading needs h5py and numpy only, not TensorFlow.
"""

import dataclasses
import hashlib
import json
import pathlib
import subprocess
import sys
from typing import Dict

import numpy as np

from slimcompat.arch.mapping import check_mapping
from slimcompat.errors import SlimcompatError, WeightsError
from slimcompat.weights import hdf5_chunks, hdf5_walk
from slimcompat.weights.atomic import atomic_output
from slimcompat.weights.metadata import Metadata
from slimcompat.weights.probe import using
from slimcompat.weights.progress import announce

__all__ = ["FORMAT", "VERSION", "Weights", "check_values", "write", "read", "read_header", "is_canonical",
           "sha256", "sha256_later", "source_label"]

FORMAT = "slimcompat-canonical"
VERSION = 2
_TENSORS = "tensors"
_SOURCES = "sources"
_FLOATS = (np.float16, np.float32, np.float64)


@dataclasses.dataclass
class Weights:
    """Canonical tensors of one model, its metadata, and each tensor's source name."""

    tensors: Dict[str, np.ndarray]
    meta: Metadata
    sources: Dict[str, str] = dataclasses.field(default_factory=dict)
    # {name: the array object whose values were found finite}: scanned once, however often validated.
    _checked: Dict[str, np.ndarray] = dataclasses.field(default_factory=dict, init=False, repr=False,
                                                        compare=False)

    def validate(self, where="<weights>", label=str, checked=()):
        """Raise WeightsError/MappingError unless the tensors fit the metadata exactly.

        label(canonical name): how a message shows a tensor (a reader passes the name its file uses).
        checked: names whose arrays the caller has just passed through `check_values` (a reader, as
        it reads each). Values are scanned once per array object: validating again, as a writer
        does, skips arrays already found finite, so replace an array rather than change it in place.
        """
        expected = self.meta.description.tensors()
        check_mapping(expected, {n: np.shape(t) for n, t in self.tensors.items()}, where, label=label)
        self._checked.update((n, self.tensors[n]) for n in checked)
        for name, value in self.tensors.items():
            if self._checked.get(name) is not value:
                check_values(name, value, where, label)
                self._checked[name] = value
        return self

    def derive(self, tensors, meta):
        """Weights of `tensors` and `meta`, same sources: arrays kept from these stay checked (a transform's result)."""
        derived = Weights(tensors, meta, dict(self.sources))
        derived._checked = {n: a for n, a in self._checked.items() if tensors.get(n) is a}
        return derived

    @property
    def parameter_count(self):
        return int(sum(np.size(t) for t in self.tensors.values()))


def check_values(name, value, where, label=str):
    """Raise WeightsError unless `value` is a float array without NaN or Inf.

    A sum is finite only if every term is (NaN and Inf propagate through
    addition), so a finite sum settles it in one pass without the bool array
    np.isfinite makes; a non-finite sum (bad values, or finite ones whose sum
    overflows) is followed by the exact count.
    """
    if value.dtype.type not in _FLOATS:
        raise WeightsError(where, f"tensor {label(name)}: expected a float dtype, found {value.dtype}")
    with np.errstate(over="ignore", invalid="ignore"):
        total = np.add.reduce(value, axis=None)
    if not np.isfinite(total):
        bad = int(np.size(value) - np.count_nonzero(np.isfinite(value)))
        if bad:
            raise WeightsError(where, f"tensor {label(name)}: {bad} NaN or Inf values")
    return value


def source_label(sources):
    """label(canonical name) for messages about a file read into Weights: its own name, the canonical one after."""
    return lambda name: f"{sources[name]} ({name})" if sources.get(name, name) != name else name


def sha256(*paths, chunk=1 << 22):
    """Hex sha256 of the files concatenated in the order given (the source's identity)."""
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as f:
            while block := f.read(chunk):
                digest.update(block)
    return digest.hexdigest()


_HASH_CHILD = """
import hashlib, sys
digest = hashlib.sha256()
for path in sys.argv[1:]:
    with open(path, 'rb') as f:
        while block := f.read(1 << 22):
            digest.update(block)
print(digest.hexdigest())
"""


def sha256_later(*paths):
    """sha256(*paths), computed meanwhile in a child interpreter: call the result for the digest.

    Hashing a 240 MB checkpoint takes as long as reading its tensors, and
    TensorFlow's checkpoint reader holds the GIL, so a thread would mostly wait
    for it; a bare child interpreter (-I -S: no site, ~20 ms to start) hashes on
    another core. Measured slower: a thread, coreutils' sha256sum (no SHA
    extensions), a forked process. If the child fails, the hash is computed here.
    Start it once the source has passed its checks, and use it as a context
    manager (`with sha256_later(f) as digest: ... digest()`): leaving the block,
    also by an error, ends and reaps the child.
    """
    return _LaterHash(paths)


class _LaterHash:
    _child = None

    def __init__(self, paths):
        self._paths, self._digest = paths, None
        try:
            self._child = subprocess.Popen([sys.executable, "-I", "-S", "-c", _HASH_CHILD, *map(str, paths)],
                                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        except OSError:
            self._child = None

    def __call__(self):
        if self._digest is None:
            digest = ""
            if self._child is not None:
                out, _ = self._child.communicate()
                digest = out.decode().strip() if self._child.returncode == 0 else ""
            self._digest = digest if len(digest) == 64 else sha256(*self._paths)
        return self._digest

    def close(self):
        """End the child if it still runs, and reap it."""
        if self._child is not None and self._child.returncode is None:
            self._child.kill()
            self._child.communicate()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()


def _h5py():
    import h5py
    return h5py


def is_canonical(path, probe=None):
    """Whether `path` is an HDF5 file carrying the canonical format tag (probe: a shared weights.probe.Probe)."""
    try:
        with using(probe, path) as probe:
            return probe.is_hdf5() and _attr(probe.h5().attrs.get("format")) == FORMAT
    except (OSError, ValueError):
        return False


def _attr(value):
    return value.decode() if isinstance(value, bytes) else value


def write(path, weights: Weights, overwrite=False, progress=None):
    """Validate `weights`, then write them to `path` atomically.

    progress: optional callable(n_bytes) called after each tensor.
    """
    weights.validate(str(path))
    h5py = _h5py()
    with atomic_output(path, overwrite) as tmp:
        # No chunk cache: each tensor (one chunk) reaches the file inside its create_dataset, so a failing
        # write (a full disk) raises there, not later while h5py frees the cache.
        with h5py.File(tmp, "w", rdcc_nbytes=0) as f:
            f.attrs["format"] = FORMAT
            f.attrs["format_version"] = VERSION
            for key, value in weights.meta.to_attrs().items():
                f.attrs[key] = value
            groups = {"": f.create_group(_TENSORS)}
            names = list(weights.meta.description.tensors())
            groups[""].attrs[_SOURCES] = json.dumps({n: weights.sources.get(n, "") for n in names})
            direct = hdf5_chunks.writer(weights.tensors.values())
            for name in names:
                value = weights.tensors[name]
                parent, _, leaf = name.rpartition("/")
                group = _group(groups, parent)
                if direct and value.ndim and value.size:  # the bytes HDF5's filter writes, copied once
                    direct(group.create_dataset(leaf, value.shape, value.dtype, chunks=value.shape, fletcher32=True),
                           value)
                else:
                    group.create_dataset(leaf, data=value, chunks=value.shape or None, fletcher32=value.ndim > 0)
                if progress:
                    progress(value.nbytes)
    return pathlib.Path(path)


def _group(groups, path):
    """The group at `path` under tensors/, created once (h5py's own lookup per name is slow)."""
    if path not in groups:
        parent, _, leaf = path.rpartition("/")
        groups[path] = _group(groups, parent).create_group(leaf)
    return groups[path]


def _open(path):
    h5py = _h5py()
    path = pathlib.Path(path)
    if not path.exists():
        raise WeightsError(path, "no such file")
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise WeightsError(path, f"not a readable HDF5 file ({str(exc).split('(')[0].strip()})") from None


def _header(f, path):
    if _attr(f.attrs.get("format")) != FORMAT:
        raise WeightsError(path, f"not a canonical weight file (format attribute {_attr(f.attrs.get('format'))!r}, "
                                 f"expected {FORMAT!r})")
    version = _version(f.attrs.get("format_version"), path)
    try:
        meta = Metadata.from_attrs(dict(f.attrs), version=version)
    except SlimcompatError as exc:
        raise WeightsError(path, f"bad metadata: {exc}") from None
    if _TENSORS not in f:
        raise WeightsError(path, f"no '{_TENSORS}' group")
    return meta, version


def _version(raw, path):
    shown = raw.item() if hasattr(raw, "item") and getattr(raw, "shape", None) == () else raw
    if isinstance(shown, (int, np.integer)) and not isinstance(shown, bool) and 1 <= shown <= VERSION:
        return int(shown)
    raise WeightsError(path, f"format_version {shown!r} is not supported (this slimcompat reads 1..{VERSION})")


def _check_checksums(datasets, version, path):
    """From version 2 every tensor carries a Fletcher-32 checksum, which HDF5 verifies on each read."""
    if version < 2:
        return
    for name, dataset in datasets.items():
        if dataset.ndim and not dataset.fletcher32:
            raise WeightsError(path, f"tensor {name}: no Fletcher-32 checksum (format version {version} "
                                     f"requires one per tensor)")


def _datasets(f, path):
    """{canonical name: dataset} under tensors/; links and references out of the file refused (hdf5_walk)."""
    head = _TENSORS + "/"
    return {n[len(head):]: d for n, d in hdf5_walk.datasets(f, str(path)).items() if n.startswith(head)}


def _sources(f, path):
    raw = _attr(f[_TENSORS].attrs.get(_SOURCES, "{}"))
    try:
        sources = json.loads(raw)
    except ValueError:
        raise WeightsError(path, f"tensors/@{_SOURCES} is not a JSON object of source names") from None
    if not isinstance(sources, dict):
        raise WeightsError(path, f"tensors/@{_SOURCES} is not a JSON object of source names")
    return sources


def read_header(path):
    """(Metadata, {name: (shape, dtype)}, {name: source name}) without reading tensor data."""
    with _open(path) as f:
        meta, _ = _header(f, path)
        datasets = _datasets(f, path)
        return meta, {n: (d.shape, d.dtype) for n, d in datasets.items()}, _sources(f, path)


def read(path, progress=None) -> Weights:
    """Read and fully validate a canonical file; raises WeightsError/MappingError."""
    with _open(path) as f:
        meta, version = _header(f, path)
        datasets = _datasets(f, path)
        expected = meta.description.tensors()
        check_mapping(expected, {n: d.shape for n, d in datasets.items()}, str(path))
        _check_checksums(datasets, version, path)
        announce(progress, sum(d.size * d.dtype.itemsize for n, d in datasets.items()))
        stored = _sources(f, path)
        tensors, sources = {}, {}
        for name in expected:
            try:
                tensors[name] = datasets[name][()]
            except OSError as exc:
                checksum = datasets[name].fletcher32 and "filter" in str(exc)  # Fletcher-32 is our only filter
                problem = "checksum mismatch, the data is corrupt" if checksum else "unreadable data"
                raise WeightsError(path, f"tensor {name}: {problem} ({exc})") from None
            sources[name] = str(stored.get(name, ""))
            if progress:
                progress(tensors[name].nbytes)
    return Weights(tensors, meta, sources).validate(str(path))
