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
"""

import hashlib
import json
import pathlib
import zipfile

import numpy as np

from slimcompat.arch import from_dict
from slimcompat.arch.conventions import InputConvention
from slimcompat.errors import SlimcompatError
from slimcompat.parity.conventions import Conventions
from slimcompat.parity.implementation import Implementation, Variable
from slimcompat.parity.inputs import Batch
from slimcompat.weights.atomic import atomic_output

__all__ = ["SCHEMA", "Reference", "save", "digests"]

SCHEMA = "slimcompat-reference/1"
_ENDPOINT = "endpoint:"


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
        except (KeyError, TypeError, SlimcompatError) as exc:
            raise SlimcompatError(f"{self.path}: its recorded side has no valid conventions ({exc})") from None
        super().__init__(conventions, record["environment"].get("device", "CPU"))
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
        return self.record["weights"].get("random_seed")

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
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
        record = json.loads(str(arrays["record"]))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise SlimcompatError(f"{path}: not a slimcompat reference file ({type(exc).__name__}: {exc})") from None
    if not isinstance(record, dict) or record.get("schema") != SCHEMA:
        found = record.get("schema") if isinstance(record, dict) else record
        raise SlimcompatError(f"{path}: reference schema {found!r}, expected {SCHEMA!r}")
    missing = [k for k in ("side", "input", "environment", "endpoints", "variables", "weights") if k not in record]
    missing += [n for n in ("batch", "model_input") if n not in arrays]
    missing += [_ENDPOINT + n for n in record.get("endpoints", []) if _ENDPOINT + n not in arrays]
    if missing:
        raise SlimcompatError(f"{path}: reference file lacks {', '.join(missing)}")
    return arrays, record
