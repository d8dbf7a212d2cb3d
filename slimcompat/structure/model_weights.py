"""Weights in and out of a user's own model, through its recognised structure; all or nothing.

    weights = model_weights.read(model)                      # canonical Weights of the model's variables
    convert.save("mine.h5", weights)                          # any file `convert` writes
    report = model_weights.write(model, convert.load("r50.h5"))  # any file `convert` reads, into the model
    model_weights.to_file(model, "mine.ckpt")                 # the two steps in one: read + convert.save
    model_weights.from_file(model, "r50.h5")                  # convert.load + write

`read` maps every variable the forward pass reads to its canonical tensor
(per-group kernels merged into the grouped kernel); a float variable the
forward pass never reads would be lost, so it is an error. `write` compares
the weights' description with the model's: the tensors must be the same set
with the same shapes, and any other difference in what the network computes
(strides, pooling, activations, epsilon, ...) refuses the load, naming each
difference (slimcompat.structure.diff), unless `allow_differences`; then the
report says what differs. Every value is converted and checked before the
first assignment.

`load_file` and `save_file` move the model's own files: what its code wrote
(`.h5`, `.weights.h5`, TF-format checkpoints through their object graph)
or will read.
"""

import dataclasses
import os
import pathlib
from typing import List

import numpy as np

from slimcompat.arch.conventions import INPUTS, InputConvention
from slimcompat.arch.layout import from_framework, kernel_kinds, merge_groups, split_groups, to_framework
from slimcompat.arch.mapping import check_mapping
from slimcompat.errors import MappingError, Refusal, SlimcompatError, WeightsError
from slimcompat.structure import diff as structure_diff
from slimcompat.structure.graph import variable_name
from slimcompat.structure.recognize import recognize
from slimcompat.weights.canonical import Weights
from slimcompat.weights.metadata import Metadata

__all__ = ["read", "write", "to_file", "from_file", "load_file", "save_file", "convention_of", "LoadReport",
           "StructureMismatch", "DEFAULT_INPUT"]

DEFAULT_INPUT = "unit"


class StructureMismatch(Refusal):
    """Weights of another network than the model's, refused; `.diff` holds the differences."""

    def __init__(self, message, diff):
        super().__init__(message)
        self.diff = diff


@dataclasses.dataclass
class LoadReport:
    """What `write` loaded, and how the weights' network differs from the model's (nothing when it does not)."""

    model: object
    weights: object
    differences: List[object]
    tensors: int

    def lines(self):
        if not self.differences:
            return [f"loaded {self.tensors} tensors: the weights' network is the model's ({self.model.name})"]
        return [f"loaded {self.tensors} tensors although the networks differ (allowed): the weights are a "
                f"{self.weights.name}, the model a {self.model.name}"] + \
            [f"  {r.label}: weights {_value(r.a)}, model {_value(r.b)}; outputs differ {r.outputs}"
             for r in self.differences]


def _value(value):
    return "x".join(map(str, value)) if isinstance(value, tuple) else str(value)


def convention_of(value):
    """An InputConvention from one, or from a name of slimcompat.arch.INPUTS (default x / 255)."""
    if isinstance(value, InputConvention):
        return value
    try:
        return INPUTS[value or DEFAULT_INPUT]
    except KeyError:
        raise SlimcompatError(f"unknown input convention {value!r}; known: {', '.join(INPUTS)}") from None


def _numpy(variable):
    value = variable.numpy() if hasattr(variable, "numpy") else variable
    return np.array(value)


def read(model, recognition=None, input_shape=None, input_convention=None, source_file=""):
    """Canonical Weights holding the model's current variables (see module doc).

    input_convention: what input the weights expect (an InputConvention or a
    name of slimcompat.arch.INPUTS); a model does not record it, default x / 255.
    The input size the model was recognised at is recorded, as the default of
    whatever builds the network from the file.
    """
    recognition = recognition or recognize(model, input_shape)
    if recognition.unused:
        raise WeightsError(_where(model), f"variables the forward pass never reads would be lost: "
                                          f"{', '.join(recognition.unused[:4])}")
    tensors, sources = {}, {}
    shapes, kinds = recognition.description.tensors(), kernel_kinds(recognition.description)
    for name, variables in recognition.tensors.items():
        values = [_numpy(v) for v in variables]
        value = merge_groups(values) if len(values) > 1 else values[0]
        if name in kinds and value.shape != tuple(shapes[name]):      # a conv held as Dense (VGG's fc6)
            value = from_framework(value, kinds[name], "tensorflow", shapes[name])
        tensors[name] = value
        names = [variable_name(v) for v in variables]
        sources[name] = names[0] if len(names) == 1 else f"{names[0]} .. {names[-1]} ({len(names)} groups)"
    meta = Metadata(recognition.description, convention_of(input_convention), source_kind="keras-model",
                    source_file=source_file or _where(model),
                    input_shape=tuple(int(d) for d in recognition.input_shape))
    return Weights(tensors, meta, sources).validate(_where(model))


def _where(model):
    return f"Keras model {getattr(model, 'name', type(model).__name__)!r}"


def write(model, weights, recognition=None, input_shape=None, allow_differences=False):
    """Assign canonical `weights` to the model's variables, all or nothing; returns a LoadReport.

    StructureMismatch when the weights' network computes otherwise than the
    model's (unless allow_differences), MappingError when the tensors differ.
    """
    recognition = recognition or recognize(model, input_shape)
    mine, theirs = recognition.description, weights.meta.description
    found = structure_diff.diff(theirs, mine, "weights", "model", recognition.input_shape[:2])
    expected = {n: tuple(s) for n, s in mine.tensors().items()}
    check_mapping(expected, {n: tuple(np.shape(t)) for n, t in weights.tensors.items()},
                  f"{weights.meta.source_file or 'weights'} into {_where(model)}")
    blocking = [r for r in found.rows if r.effect in ("shape", "output")]
    if blocking and not allow_differences:
        shown = "; ".join(f"{r.label} {_value(r.a)} (model {_value(r.b)})" for r in blocking)
        raise StructureMismatch(
            f"{weights.meta.source_file or 'weights'}: a {theirs.name} that computes otherwise than "
            f"{_where(model)} ({mine.name}): {shown}; the shapes fit, so Keras would load them and compute "
            f"something else. Refused: --allow-differences (allow_differences=True) loads them anyway", found)
    values, kinds = [], kernel_kinds(mine)
    for name, variables in recognition.tensors.items():
        value = np.asarray(weights.tensors[name])
        parts = split_groups(value, len(variables)) if len(variables) > 1 else [value]
        for variable, part in zip(variables, parts):
            if name in kinds and tuple(variable.shape) != part.shape and len(variables) == 1:
                part = to_framework(part, kinds[name], "tensorflow", shape=tuple(variable.shape))
            if tuple(variable.shape) != part.shape:
                raise MappingError(_where(model), mismatched=[(variable_name(variable), tuple(variable.shape),
                                                                part.shape)])
            values.append((variable, part.astype(_dtype(variable))))
    for variable, value in values:
        variable.assign(value)
    return LoadReport(mine, theirs, blocking, len(recognition.tensors))


def _dtype(variable):
    dtype = getattr(variable, "dtype", "float32")
    return getattr(dtype, "name", None) or getattr(dtype, "as_numpy_dtype", None) or str(dtype)


def to_file(model, path, kind=None, overwrite=False, input_shape=None, input_convention=None):
    """Write the model's weights to `path` as any kind `convert` writes (default: from the extension)."""
    from slimcompat.weights import convert
    weights = read(model, input_shape=input_shape, input_convention=input_convention)
    return convert.save(path, weights, kind or convert.kind_for_destination(path), overwrite=overwrite)


def from_file(model, path, kind=None, arch=None, input_shape=None, allow_differences=False):
    """Load any file `convert` reads into the model (see `write`); returns the LoadReport."""
    from slimcompat.weights import convert
    return write(model, convert.load(path, kind, arch=arch), input_shape=input_shape,
                 allow_differences=allow_differences)


# ----------------------------------------------------------------- the model's own files

def _is_object_checkpoint(path):
    path = pathlib.Path(path)
    return not path.is_file() and pathlib.Path(f"{path}.index").is_file() or path.is_dir()


def _is_keras3(model):
    return any(c.__module__.startswith("keras.") for c in type(model).__mro__)


def load_file(model, path, input_shape=None):
    """Load a weight file the model's own code wrote (or would read) into it, all or nothing.

    TF-format checkpoints (tf.keras 2.x `save_weights('x.ckpt')`) go through
    their object graph; `.h5`, `.weights.h5` and `.keras` through the model's
    own Keras. Any failure leaves every variable as it was.
    """
    recognition = recognize(model, input_shape)     # builds an unbuilt model first
    variables = list(recognition.traced.variables.values())
    before = [_numpy(v) for v in variables]
    try:
        if _is_object_checkpoint(path):
            _load_object_checkpoint(model, path)
        else:
            if not pathlib.Path(path).is_file():
                raise WeightsError(path, "no such file or checkpoint")
            model.load_weights(os.fspath(path))
    except Exception as exc:
        for variable, value in zip(variables, before):
            variable.assign(value)
        if isinstance(exc, SlimcompatError):
            raise
        raise WeightsError(path, f"does not load into {_where(model)}: {type(exc).__name__}: "
                                 f"{str(exc).strip().splitlines()[0] if str(exc).strip() else ''}") from None
    return recognition


def _load_object_checkpoint(model, path):
    from slimcompat.weights.object_checkpoint import ObjectCheckpoint
    if _is_keras3(model):
        from slimcompat.keras2.weights import load_object_checkpoint
        return load_object_checkpoint(model, path)
    ckpt = ObjectCheckpoint(path)
    saved = len(ckpt.variables())
    status = model.load_weights(os.fspath(ckpt.path))
    status.assert_existing_objects_matched()
    if saved != len(model.weights):
        raise MappingError(f"{path} into {_where(model)}", unexpected=[f"{saved - len(model.weights)} checkpoint "
                                                                      f"variables the model does not have"])


def save_file(model, path, overwrite=False):
    """Write the model's weights with its own Keras (`.weights.h5`; tf-keras also `.h5`), atomically."""
    from slimcompat.weights.atomic import atomic_output
    path = pathlib.Path(path)
    if not path.name.endswith(".h5"):
        raise WeightsError(path, "a model's own weight file is written as .weights.h5 (Keras 3) or .h5 (tf-keras)")
    if _is_keras3(model) and not path.name.endswith(".weights.h5"):
        raise WeightsError(path, "Keras 3 writes a model's weights only as .weights.h5")
    with atomic_output(path, overwrite, keep_suffix=True) as tmp:
        model.save_weights(os.fspath(tmp))
    return path
