"""Canonical Weights <-> PyTorch state_dicts in safetensors files (no pickle).

A state_dict is keyed as torchvision's ResNets name their modules
(`conv1.weight`, `bn1.running_var`, `layer1.0.downsample.0.weight`,
`fc.weight`: the `torchvision` naming scheme), kernels OIHW, the classifier
[classes, features], every BatchNorm with its `num_batches_tracked` (0), so
`load_state_dict(strict=True)` takes it. Three targets:

- `torchvision`: for torchvision's own models (resnet18..152, resnext,
  wide_resnet, vgg, inception_v3, mobilenet_v2: each family's `torchvision`).
  Written only where the weights' description computes what that model
  computes; otherwise refused, naming each difference (stride placement,
  stem pooling, BatchNorm epsilon, padding, conv biases, background class,
  ...): such weights would load, or nearly, and give other outputs.
- `timm`: the same for timm's models (each family's `timm`: inception_v4 and
  inception_resnet_v2, whose timm weights are slim's checkpoints, the
  ResNets, VGG, ...), named by each family's `timm` layer rules.
- `faithful`: the state_dict of slimcompat's faithful PyTorch module
  (`slimcompat.nets.torch_net.build`), for every description: the same names,
  extended in torchvision's style where torchvision has no module.

Every file carries the metadata (description, input convention, source,
target) in the safetensors header, so reading it back gives exactly the
canonical weights. A torchvision or timm state_dict without it (saved from
such a model with `safetensors.torch.save_file`) is recognised by its names
and shapes. A header naming a key twice is refused (JSON parsers disagree on
which one counts), and errors name tensors as the file does (`conv1.weight`).
Reading and writing need numpy and the `safetensors` package, not PyTorch.
"""

import importlib
import json
import pathlib
import struct
import warnings

import numpy as np

from slimcompat.arch import INPUTS, RECORDS, describe
from slimcompat.arch.conventions import source_input, source_preset
from slimcompat.arch.layout import TORCH_NAMING, canonical_tensors, held_shapes, state_dict
from slimcompat.arch.schemes import scheme
from slimcompat.errors import Refusal, SlimcompatError, WeightsError
from slimcompat.optional import require
from slimcompat.weights import canonical, fidelity
from slimcompat.weights.kind import identify
from slimcompat.weights.atomic import atomic_output
from slimcompat.weights.metadata import Metadata
from slimcompat.weights.probe import using

__all__ = ["TARGETS", "LIBRARIES", "MODELS", "is_torch_file", "library_model",
           "library_differences", "check_library", "torchvision_model", "torchvision_differences",
           "check_torchvision", "write", "read"]

# Model libraries whose own models weights are written for (each family declares its models, `Family.<library>`;
# the library's name is also its naming scheme and its fidelity policy).
LIBRARIES = ("torchvision", "timm")
TARGETS = (*LIBRARIES, "faithful")
MODELS = {library: tuple(name for record in RECORDS for name in getattr(record, library)) for library in LIBRARIES}
SOURCE_KIND = "torch-safetensors"

_PREFIX = "slimcompat."
_HEADER_LIMIT = 100 << 20


class _Repeated(ValueError):
    """A JSON object naming one key twice."""


def _unique_keys(pairs):
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise _Repeated(key)
        seen[key] = value
    return seen


def _header(path, probe=None):
    """The JSON header of a safetensors file (u64 length, then JSON); ValueError if none, _Repeated on a
    key named twice (json.loads would keep the last silently)."""
    with using(probe, path) as probe:
        head = probe.head(9, path)
        if len(head) < 8:
            raise ValueError("no header")
        size = struct.unpack("<Q", head[:8])[0]
        if not 2 <= size <= _HEADER_LIMIT or head[8:] != b"{":
            raise ValueError("no header")
        return json.loads(probe.head(8 + size, path)[8:], object_pairs_hook=_unique_keys)


def is_torch_file(path, probe=None):
    """Whether `path` is a safetensors file (u64 header length, then a JSON header): read without safetensors.

    A header naming a key twice counts, so that `read` refuses it precisely. probe: a shared
    weights.probe.Probe (detection opens each file once).
    """
    try:
        header = _header(path, probe)
    except _Repeated:
        return True
    except (OSError, ValueError):
        return False
    return isinstance(header, dict) and all(
        k == "__metadata__" or (isinstance(v, dict) and "data_offsets" in v) for k, v in header.items())


# -- does torchvision's (or timm's) model compute what the weights' source computed?

def _library(name, library="torchvision", **knobs):
    """`library`'s model `name` as a description (its names may be another source's: inception_v3 is slim's)."""
    return describe(name, source=library, **knobs)


def library_model(description, library="torchvision"):
    """The model of `library` of `description`'s structure (e.g. torchvision's resnet50 for resnet_v1_50), or None.

    Same structure: the same family, and no knob of shape effect differs but
    those the library's own habits set (conv biases, projections) and the
    classes; a difference there is named by `library_differences`.
    """
    for name in MODELS[library]:
        theirs = _library(name, library)
        if theirs.family != description.family:
            continue
        habits = set(source_preset(library, theirs)) | {"num_classes"}
        if not any(effect == "shape" and knob not in habits
                   for knob, _, effect, _, _ in theirs.differences(description)):
            return name
    return None


torchvision_model = library_model          # the library defaults to torchvision


def _with_gammas(description, target):
    """(`description` with the BatchNorm gammas `target` has, [the gammas added]).

    A BatchNorm without gamma computes exactly what one with gamma = 1 does,
    so such weights fit a model whose BatchNorms all have one (slim's
    Inception nets in torchvision's inception_v3) once given ones.
    """
    for knob, _, effect, mine, theirs in description.differences(target):
        if effect != "shape":
            continue
        try:
            candidate = description.replace(**{knob: theirs})
        except SlimcompatError:
            continue
        before, after = description.tensors(), candidate.tensors()
        added = [name for name in after if name not in before]
        if added and set(before) <= set(after) and all(name.endswith("/gamma") for name in added):
            return candidate, added
    return description, []


def library_differences(description, library="torchvision"):
    """(model name, [(label, ours, the library's)]): what would change outputs in `library`'s model.

    A knob is named when it alone changes the library's network (its plan), or
    what its outputs mean (the background class); knobs whose difference
    changes nothing there (a projection rule that picks the same units) are
    not. No name: the library has no such network.
    """
    name = library_model(description, library)
    if name is None:
        return None, []
    theirs = _library(name, library, num_classes=description.num_classes or 1000)
    verdict = fidelity.judge(theirs, _with_gammas(description, theirs)[0], library)
    return name, [(d.label, d.weights, d.target) for d in verdict.refused]


torchvision_differences = library_differences


def check_library(meta, library="torchvision"):
    """Raise SlimcompatError, naming every difference, unless `library`'s model computes what `meta` says."""
    name, differences = library_differences(meta.description, library)
    how = ("write the faithful PyTorch module's state_dict instead (--faithful; "
           "slimcompat.nets.torch_net.build loads it)")
    if name is None:
        raise Refusal(f"{library} has no {meta.architecture} ({_kind(meta.description, library)}); {how}")
    if differences:
        listed = "; ".join(f"{label}: {_show(mine)} ({library}: {_show(theirs)})" for label, mine, theirs in
                           differences)
        raise Refusal(f"{meta.architecture} weights ({meta.source_kind or 'canonical'}) are not for "
                      f"{library}'s {name}, which would compute something else with them: {listed}. "
                      f"{how[0].upper()}{how[1:]}")
    usual = source_input(library, _library(name, library))
    if meta.input != usual:
        warnings.warn(f"{library}'s {name} with these weights expects input {_input(meta.input)}, not "
                      f"{library}'s usual {_input(usual)}", stacklevel=3)
    return name


check_torchvision = check_library


def _kind(description, library="torchvision"):
    if not any(_library(name, library).family == description.family for name in MODELS[library]):
        return f"no {description.family} family"
    return f"none of its {description.family} networks has this structure"


def _show(value):
    return "x".join(map(str, value)) if isinstance(value, tuple) else str(value)


def _input(convention):
    return f"{convention.color} (x - {list(convention.mean)}) / {list(convention.std)}"


# -- files

def write(path, weights, overwrite=False, progress=None, target="torchvision"):
    """Write `weights` as a safetensors state_dict for `target` (see module doc), atomically."""
    if target not in TARGETS:
        raise SlimcompatError(f"torch target must be one of {', '.join(TARGETS)}, found {target!r}")
    path = pathlib.Path(path)
    weights.validate(str(path))
    naming = target if target in LIBRARIES else TORCH_NAMING
    if target in LIBRARIES:
        name = check_library(weights.meta, target)
        description, gammas = _with_gammas(weights.meta.description, _library(name, target))
        if gammas:
            tensors = {**weights.tensors, **{g: np.ones(description.tensors()[g], np.float32) for g in gammas}}
            weights = canonical.Weights(tensors, weights.meta.replace(description=description), weights.sources)
    numpy_io = require("safetensors.numpy", "writing a PyTorch state_dict")
    description = weights.meta.description
    shapes = held_shapes(description, target, "torch") if target in LIBRARIES else None
    tensors = state_dict(weights.tensors, description, shapes, naming)
    metadata = {"format": "pt", f"{_PREFIX}target": target,
                f"{_PREFIX}sources": json.dumps({n: weights.sources.get(n, "") for n in weights.tensors}),
                **{_PREFIX + k: str(v) for k, v in weights.meta.to_attrs().items()}}
    with atomic_output(path, overwrite, keep_suffix=True) as tmp:
        numpy_io.save_file(tensors, str(tmp), metadata=metadata)
    if progress:
        progress(sum(t.nbytes for t in weights.tensors.values()))
    return path


def _load(path):
    """(tensors, metadata) of a safetensors file; WeightsError naming the file when it is not one."""
    if not path.is_file():
        raise WeightsError(path, "no such file")
    try:
        _header(path)
    except _Repeated as exc:
        raise WeightsError(path, f"its header names {exc.args[0]!r} twice; which entry is meant cannot be told: "
                                 f"refusing") from None
    except (OSError, ValueError):
        pass  # the safetensors reader says what is wrong
    safetensors = require("safetensors", f"reading {path.name}")
    numpy_io = importlib.import_module("safetensors.numpy")
    try:
        with safetensors.safe_open(str(path), framework="np") as f:
            metadata = f.metadata() or {}
        return numpy_io.load_file(str(path)), metadata
    except Exception as exc:  # the Rust reader raises its own SafetensorError, TypeError for bfloat16, ...
        raise WeightsError(path, f"not a readable safetensors file ({type(exc).__name__}: {exc})") from None


def _stored_metadata(path, metadata):
    """(Metadata, naming scheme) a slimcompat file records, or (None, None)."""
    attrs = {k[len(_PREFIX):]: v for k, v in metadata.items() if k.startswith(_PREFIX)}
    if "description" not in attrs:
        return None, None
    naming = attrs.get("target")
    try:
        meta = Metadata.from_attrs(attrs)
    except SlimcompatError as exc:
        raise WeightsError(path, f"its slimcompat metadata is not valid ({exc})") from None
    return meta, naming if naming in LIBRARIES else TORCH_NAMING


def _namings(description):
    """The PyTorch naming schemes `description`'s family has rules for: torchvision's first."""
    return [n for n in LIBRARIES if n in description.record.layers]


def _candidates(arch):
    """[(description, naming scheme, library or None)] a state_dict is tried against, in order."""
    if arch is not None:
        arch = arch if hasattr(arch, "plan") else describe(arch)
        return [(arch, naming, None) for naming in _namings(arch)]
    described = ((_library(name, library), library) for library in LIBRARIES for name in MODELS[library])
    return [(theirs, library, library) for theirs, library in described if library in _namings(theirs)]


def _unprefixed(tensors):
    """A DataParallel state_dict's keys without their common `module.` prefix."""
    if tensors and all(k.startswith("module.") for k in tensors):
        return {k[len("module."):]: v for k, v in tensors.items()}
    return tensors


def read(path, arch=None, progress=None):
    """Canonical Weights from a safetensors state_dict: slimcompat's (exactly as written), torchvision's or timm's."""
    path = pathlib.Path(path)
    tensors, metadata = _load(path)
    tensors = _unprefixed(tensors)
    stored, naming = _stored_metadata(path, metadata)
    if stored is not None and arch is None:
        found, keys = canonical_tensors(tensors, stored.description, str(path), naming)
        description, convention = stored.description, stored.input
    else:
        found, keys, description, library = _identify(path, tensors, _candidates(arch))
        convention = stored.input if stored is not None else \
            source_input(library, description) if library else INPUTS["torch"]
    digest = canonical.sha256_later(path)
    if progress:
        progress(sum(t.nbytes for t in found.values()))
    meta = Metadata(description, convention, source_kind=SOURCE_KIND, source_file=path.name,
                    source_sha256=digest())
    return canonical.Weights(found, meta, keys).validate(str(path), canonical.source_label(keys))


def _identify(path, tensors, candidates):
    """(tensors, keys, description, library) of the first candidate whose names and shapes cover the file
    exactly; candidates as `_candidates` gives them."""
    def fit(entry):
        candidate, naming, library = entry
        logits = tensors.get(scheme(naming, candidate).tensor("logits/kernel")) \
            if "logits/kernel" in candidate.tensors() else None
        classes = int(np.shape(logits)[0]) if np.ndim(logits) in (2, 4) else None
        if candidate.num_classes != classes:
            candidate = candidate.replace(num_classes=classes, background_class=False)
        found, keys = canonical_tensors(tensors, candidate, f"{path} (closest: {candidate.name})", naming)
        return found, keys, candidate, library
    return identify(candidates, fit, lambda: WeightsError(path, "no candidate architecture"))
