"""Reference endpoints: one side's forward pass saved to a file, so another machine can check against it.

`slimcompat parity A [B] --save-reference ref.npz` writes, from TensorFlow on
the CPU in float32: the batch as given, A's model input, every endpoint of A,
A's variables (as A names them, with their canonical names and shapes), A's
side record (its conventions included), the environment, and a digest of each
weight tensor. `slimcompat parity torch --reference ref.npz --weights
w.safetensors` then runs PyTorch on any device it sees against that file with
TensorFlow never imported. `Reference` is the saved side as an implementation,
so names, endpoints, diagnosis and reports are the ordinary ones.

The file is a numpy `.npz`, read with allow_pickle=False: `batch`,
`model_input`, `endpoint:<canonical endpoint>` per endpoint, and `record`, a
JSON string: `schema`, `side`, `input` (`description`, `source`, `shape`, `pixels`),
`environment`, `endpoints` (forward order), `variables` [[name, canonical name
or null, shape]], `weights` {`tensors`: {canonical name: digest},
`random_seed`: the seed of `synthetic.random_tensors` when the weights are
those, else null}.

Reading checks before it allocates: the zip directory's declared sizes (at
most MAX_REFERENCE_BYTES in all, the record at most MAX_RECORD_BYTES), each
member's .npy header against the size the zip declares for it, the record's
structure (`_RECORD`, one declarative spec), and the arrays' declared shapes
against the record (the batch's shape, one row per image in every endpoint,
the endpoints its description has), so a crafted file is one line naming it.
"""

import hashlib
import json
import math
import pathlib
import zipfile

import numpy as np

from slimcompat.arch import from_dict
from slimcompat.arch.conventions import InputConvention
from slimcompat.errors import SlimcompatError
from slimcompat.parity.conventions import Conventions
from slimcompat.parity.implementation import Implementation, Variable
from slimcompat.parity.inputs import Batch
from slimcompat.record_check import Nullable, Where, problem
from slimcompat.weights.atomic import atomic_output
from slimcompat.weights.hdf5_walk import human_bytes

__all__ = ["SCHEMA", "Reference", "save", "digests", "MAX_REFERENCE_BYTES", "MAX_RECORD_BYTES"]

SCHEMA = "slimcompat-reference/1"
_ENDPOINT = "endpoint:"
# All arrays of a reference, inflated: 2 GiB (resnet_v2_200's endpoints for the default batch of two
# 224x224 images take 160 MB in float32); the record alone: 16 MiB (a resnet_v2_200's has 0.2 MiB).
MAX_REFERENCE_BYTES = 2 << 30
MAX_RECORD_BYTES = 16 << 20

_SIZE = Where(int, lambda v: v >= 0, "a size (an integer >= 0)")
# What reading uses of a record, and so what it must hold (save() writes more).
_RECORD = {
    "schema": str,
    "side": {"implementation": str, "title": str, "weights": str,
             "conventions": {"description": dict, "input": dict}},
    "input": {"description": str, "source": str, "pixels": bool,
              "shape": Where([_SIZE], lambda v: len(v) == 4 and v[3] == 3, "[N, H, W, 3]")},
    "environment": {"device": str, "tensorflow_runtime": str},
    "endpoints": Where([str], bool, "a non-empty list of endpoint names"),
    "variables": [(str, Nullable(str), [_SIZE])],
    "weights": {"tensors": {str: str},
                "random_seed": Nullable(Where(int, lambda v: 0 <= v < 2 ** 63, "a seed in 0..2^63-1"))},
}


def digests(tensors):
    """{name: short sha256 of dtype, shape and bytes}: which tensors two weight sets hold identically."""
    out = {}
    for name, value in tensors.items():
        value = np.ascontiguousarray(value)
        digest = hashlib.sha256(f"{value.dtype.str}{value.shape}".encode())
        digest.update(value.data)
        out[name] = digest.hexdigest()[:16]
    return out


def save(path, implementation, batch, points, environment, seed=None):
    """Write `implementation`'s endpoints `points` for `batch` (and what they depend on) to `path`, atomically."""
    from slimcompat.parity.check import side_record
    order = implementation.arch.endpoint_names()
    record = {"schema": SCHEMA, "side": side_record(implementation),
              "input": {"description": batch.describe(), "source": batch.source, "shape": list(batch.values.shape),
                        "pixels": bool(batch.pixels)},
              "environment": environment, "endpoints": order,
              "variables": [[v.name, v.canonical, list(v.shape)] for v in implementation.variables()],
              "weights": {"tensors": digests(implementation.weights.tensors), "random_seed": seed}}
    arrays = {"batch": batch.values, "model_input": batch.for_side(implementation), "record": np.array(json.dumps(record))}
    arrays.update({_ENDPOINT + name: np.asarray(points[name]) for name in order})
    with atomic_output(path, overwrite=True, keep_suffix=True) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)
    return pathlib.Path(path)


class Reference(Implementation):
    """A saved side: its recorded conventions, variables and endpoints (it is never loaded or rebuilt)."""

    def __init__(self, path):
        self.path = pathlib.Path(path)
        arrays, record = _read(self.path)
        side = record["side"]
        try:
            conventions = Conventions(from_dict(side["conventions"]["description"]),
                                      InputConvention.from_dict(side["conventions"]["input"]))
        except (TypeError, SlimcompatError) as exc:
            raise SlimcompatError(f"{self.path}: its recorded side has no valid conventions ({exc})") from None
        expected = conventions.description.endpoint_names()
        if record["endpoints"] != expected:
            raise SlimcompatError(f"{self.path}: records endpoints {', '.join(record['endpoints'][:4])}"
                                  f"{', ...' if len(record['endpoints']) > 4 else ''} ({len(record['endpoints'])}), "
                                  f"its description ({conventions.description.name}) has {len(expected)}: "
                                  f"{', '.join(expected[:4])}, ...")
        super().__init__(conventions, record["environment"]["device"])
        self.record = record
        self.key = side["implementation"]
        self.title = f"{side['title']}, saved in {self.path.name}"
        self.recorded_side = {**side, "title": self.title}
        self.source = self.weights = None
        self.batch = Batch(arrays["batch"], record["input"]["pixels"], record["input"]["source"])
        self.model_input = arrays["model_input"]
        self._points = {name: arrays[_ENDPOINT + name] for name in record["endpoints"]}

    def variables(self):
        return [Variable(name, canonical, tuple(shape)) for name, canonical, shape in self.record["variables"]]

    def endpoints(self, model_input):
        if not np.array_equal(model_input, self.model_input):
            raise SlimcompatError(f"{self.path}: the model input differs from the one its endpoints were computed "
                                  f"for (other preprocessing?)")
        return dict(self._points)

    @property
    def random_seed(self):
        return self.record["weights"]["random_seed"]

    def weights_differ(self, tensors):
        """Canonical names whose tensor in `tensors` is not the one the reference was computed with."""
        recorded = self.record["weights"]["tensors"]
        mine = digests(tensors)
        return sorted(n for n in set(recorded) | set(mine) if recorded.get(n) != mine.get(n))


def _read(path):
    """({array name: array}, record) of a reference file; SlimcompatError naming the file and what is wrong."""
    if not path.is_file():
        raise SlimcompatError(f"{path}: no such reference file")
    try:
        with zipfile.ZipFile(path) as archive:
            headers = _headers(archive, path)
            if "record" not in headers:
                raise SlimcompatError(f"{path}: reference file lacks record")
            record = json.loads(str(_load(archive, "record")))
            _check_record(record, headers, path)
            names = ["batch", "model_input", *(_ENDPOINT + n for n in record["endpoints"])]
            arrays = {name: _load(archive, name) for name in names}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise SlimcompatError(f"{path}: not a slimcompat reference file ({type(exc).__name__}: {exc})") from None
    return arrays, record


def _headers(archive, path):
    """{array name: (shape, dtype)} from the zip directory and each member's .npy header; nothing else inflated.

    Refuses members declaring more than MAX_REFERENCE_BYTES in all (the record
    more than MAX_RECORD_BYTES), and any whose header's shape and dtype do not
    make the size the zip declares for it.
    """
    infos = [info for info in archive.infolist() if info.filename.endswith(".npy")]
    total = sum(info.file_size for info in infos)
    if total > MAX_REFERENCE_BYTES:
        raise SlimcompatError(f"{path}: its arrays declare {human_bytes(total)} in all, more than a reference may "
                              f"hold ({human_bytes(MAX_REFERENCE_BYTES)}); refusing before inflating them")
    out = {}
    for info in infos:
        name = info.filename[:-len(".npy")]
        if name == "record" and info.file_size > MAX_RECORD_BYTES:
            raise SlimcompatError(f"{path}: its record declares {human_bytes(info.file_size)}, more than a record "
                                  f"may hold ({human_bytes(MAX_RECORD_BYTES)}); refusing")
        with archive.open(info) as member:
            version = np.lib.format.read_magic(member)
            read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
                np.lib.format.read_array_header_2_0
            shape, _, dtype = read_header(member)
            start = member.tell()
        if dtype.hasobject:
            raise SlimcompatError(f"{path}: array {name} holds Python objects; refusing")
        nbytes = math.prod(shape) * dtype.itemsize
        if start + nbytes != info.file_size:
            raise SlimcompatError(f"{path}: array {name} declares shape {shape} {dtype} ({human_bytes(nbytes)}), "
                                  f"the zip {human_bytes(info.file_size - start)} for it; refusing")
        out[name] = (shape, dtype)
    return out


def _load(archive, name):
    with archive.open(name + ".npy") as member:
        return np.lib.format.read_array(member, allow_pickle=False)


def _check_record(record, headers, path):
    """The record's structure (`_RECORD`), then the arrays' declared shapes against it, before any is loaded."""
    if not isinstance(record, dict) or record.get("schema") != SCHEMA:
        found = record.get("schema") if isinstance(record, dict) else record
        raise SlimcompatError(f"{path}: reference schema {str(found)[:40]!r}, expected {SCHEMA!r}")
    found = problem(record, _RECORD)
    if found:
        raise SlimcompatError(f"{path}: malformed reference {found}")
    names = ["batch", "model_input", *(_ENDPOINT + n for n in record["endpoints"])]
    missing = [n for n in names if n not in headers]
    if missing:
        raise SlimcompatError(f"{path}: reference file lacks {', '.join(missing[:4])}"
                              f"{f' and {len(missing) - 4} more' if len(missing) > 4 else ''}")
    shape = tuple(record["input"]["shape"])
    for name in names:
        declared, dtype = headers[name]
        fits = declared == shape if name in ("batch", "model_input") else declared[:1] == shape[:1]
        if not fits or dtype.kind != "f":
            raise SlimcompatError(f"{path}: array {name} is {declared} {dtype}; the record's batch is {shape}, "
                                  f"float (every endpoint one row per image)")
