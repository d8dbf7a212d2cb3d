"""TF1 slim checkpoints (V1 and V2) of every described network <-> canonical Weights.

A slim checkpoint is what `tf.compat.v1.train.Saver` wrote for a graph built
by `tf_slim.nets.resnet_v1` / `resnet_v2` or slimcompat's slim nets
(`slimcompat.nets.slim_net`: resnet_v1_18, resnext_50_32x4d, inception10, ...):
one tensor per model variable,
named `resnet_v2_50/block1/unit_1/bottleneck_v2/conv1/weights`, often beside
training state (global_step, optimizer slots, moving-average shadows). It can
be given as a prefix (V2: `prefix.index` + `prefix.data-*`), a single V1 file
(the released slim tarballs, e.g. `resnet_v2_50.ckpt`), or a folder with a
`checkpoint` state file.

Reading uses TensorFlow's own reader (`tf.train.load_checkpoint`), so both
formats, partitioned variables and checksums are handled as TensorFlow
handles them; values are copied bit for bit. Writing builds a graph of bare
variables named as slim names them and saves it with `Saver`, so the result
restores into the real slim graph; its files are installed at the prefix by
a journaled install (`journal`), so an overwrite killed at any moment leaves
the old or the new checkpoint, never neither. A read never finishes such an
install: it refuses while one is pending, and `recover` (`slimcompat convert
--recover PREFIX`) or the next write at the prefix finishes it. Finding a
checkpoint on disk needs no TensorFlow; reading and writing import it.
"""

import contextlib
import math
import os
import pathlib
import re
import warnings

from slimcompat.arch import describe, scheme
from slimcompat.arch.conventions import source_input
from slimcompat.arch.layout import held_shape
from slimcompat.arch.mapping import check_mapping
from slimcompat.arch.registry import default_source, scope_of, slim_scopes, variant_text
from slimcompat.errors import SlimcompatError, WeightsError, WeightsRefusal
from slimcompat.weights import canonical, fidelity, journal
from slimcompat.weights.atomic import check_destination, check_name, fsync_folder, fsync_path, partial_folder
from slimcompat.weights.metadata import Metadata
from slimcompat.weights.probe import using
from slimcompat.weights.progress import announce

__all__ = ["is_slim_checkpoint", "read", "read_header", "write", "check_prefix", "atomic_checkpoint", "recover",
           "open_reader", "get_tensor", "checkpoint_files", "existing_files", "index_file", "slim_shape",
           "canonical_shape", "VERSIONS", "EMA_SUFFIX"]

VERSIONS = ("V1", "V2")
EMA_SUFFIX = "/ExponentialMovingAverage"
# Footer magic of the SSTable that holds a V1 checkpoint and a V2 index (little-endian).
_TABLE_MAGIC = (0xdb4775248b80fb57).to_bytes(8, "little")
_TABLE_FOOTER = 48
# A V1 checkpoint's first table entry: empty key (shared 0, length 0), value length, SavedTensorSlices.meta.
_V1_HEAD = re.compile(rb"\x00\x00[\x80-\xff]{0,4}[\x00-\x7f]\x0a")
_SHARD = r"\.data-\d{5}-of-\d{5}"
_DATA_SHARD = re.compile(_SHARD + r"\Z")
_MEMBER = re.compile(r"(\.index|" + _SHARD + r")?\Z")   # after the prefix: the files a checkpoint has
_ADAM_POWERS = re.compile(r"beta[12]_power(_\d+)?\Z")
_STATE_FILE = "checkpoint"
_STATE_ENTRY = re.compile(r'^\s*model_checkpoint_path\s*:\s*"((?:[^"\\]|\\.)*)"', re.M)
_TMP_NAME = "ckpt"
_BATCH_BYTES = 64 << 20


# ---------------------------------------------------------------- locating

def is_slim_checkpoint(path, probe=None) -> bool:
    """Whether `path` looks like a TF checkpoint: a V2 prefix, a V1 file, or a folder with a state file.

    Decided from file names and the table magic alone, without TensorFlow. A
    folder with a `checkpoint` state file, and a prefix with an `.index` file,
    count even when what they hold is missing or broken, so that `read` can say
    precisely what is wrong; so does a prefix with a pending install journal.
    probe: a shared weights.probe.Probe (detection opens each file once).
    """
    path = pathlib.Path(path)
    if path.is_dir():
        return (path / _STATE_FILE).is_file()
    with using(probe, path) as probe:
        prefix = _strip_member_suffix(path)
        if _index(prefix).is_file() or os.path.lexists(journal.journal_path(prefix)) or _has_v1_head(prefix, probe):
            return True
        try:
            _locate_prefix(path, probe)
        except WeightsError:
            return False
        return True


def _has_table_magic(path, probe=None):
    try:
        with using(probe, path) as probe:
            if probe.size(path) < _TABLE_FOOTER:
                return False
            return probe.tail(len(_TABLE_MAGIC), path) == _TABLE_MAGIC
    except OSError:
        return False


def _has_v1_head(path, probe=None):
    """Whether `path` begins as a V1 checkpoint does (so a missing footer means truncated)."""
    try:
        with using(probe, path) as probe:
            return _V1_HEAD.match(probe.head(16, path)) is not None
    except OSError:
        return False


def _index(prefix):
    return pathlib.Path(f"{prefix}.index")


def index_file(path):
    """The `.index` file of the V2 checkpoint that `path` (prefix or member file) names."""
    return _index(_strip_member_suffix(pathlib.Path(path)))


def _data_files(prefix):
    prefix = pathlib.Path(prefix)
    if not prefix.parent.is_dir():
        return []
    head = prefix.name + ".data-"
    return sorted(p for p in prefix.parent.iterdir()
                  if p.name.startswith(head) and _DATA_SHARD.search(p.name[len(prefix.name):]))


def _strip_member_suffix(path):
    """`x.ckpt.index` or `x.ckpt.data-00000-of-00001` -> `x.ckpt` when that is a V2 prefix.

    TensorFlow would read such a member file as an (empty) V1 checkpoint.
    """
    name = path.name
    shard = _DATA_SHARD.search(name)
    suffix = ".index" if name.endswith(".index") else shard.group(0) if shard else None
    if suffix and name != suffix and _index(path.with_name(name[:-len(suffix)])).is_file():
        return path.with_name(name[:-len(suffix)])
    return path


def _locate_prefix(path, probe=None):
    """(prefix, 'V1' or 'V2', files holding it) of a checkpoint prefix or V1 file; WeightsError otherwise."""
    prefix = _strip_member_suffix(pathlib.Path(path))
    journal.check_settled(prefix)
    if _index(prefix).is_file():
        if not _has_table_magic(_index(prefix), probe):
            raise WeightsError(_index(prefix), "truncated or corrupt TF checkpoint index (its table footer "
                                               "is missing)")
        return prefix, "V2", [_index(prefix), *_data_files(prefix)]
    if prefix.is_file():
        if not _has_table_magic(prefix, probe) and _has_v1_head(prefix, probe):
            raise WeightsError(prefix, "truncated V1 checkpoint: it begins as one, but its table footer is "
                                       "missing")
        if not _has_table_magic(prefix, probe):
            raise WeightsError(prefix, "not a TF checkpoint (neither a V1 checkpoint file nor a V2 prefix), "
                                       "or a truncated one (its table footer is missing)")
        return prefix, "V1", [prefix]
    if prefix.is_dir():
        raise WeightsError(prefix, f"is a folder without a `{_STATE_FILE}` state file")
    raise WeightsError(prefix, "no such checkpoint (no file, and no .index file for a V2 prefix)")


def _state_target(folder):
    """The checkpoint a folder's `checkpoint` state file names.

    Relative paths are taken from the folder (as TensorFlow does). An absolute
    path that does not exist, as in a folder copied from another machine, falls
    back to its base name inside the folder.
    """
    state = folder / _STATE_FILE
    try:
        text = state.read_text(errors="replace")
    except OSError as exc:
        raise WeightsError(state, f"unreadable checkpoint state file ({exc.strerror})") from None
    match = _STATE_ENTRY.search(text)
    if not match:
        raise WeightsError(state, "checkpoint state file names no model_checkpoint_path")
    named = pathlib.Path(re.sub(r"\\(.)", r"\1", match.group(1)))
    target = named if named.is_absolute() else folder / named
    if not (_index(target).is_file() or target.is_file()) and (folder / named.name) != target:
        target = folder / named.name
    return target


def _locate(path):
    """(prefix, version, files) for any accepted form of `path`; WeightsError naming what is wrong."""
    prefix, version, files = _locate_any(pathlib.Path(path))
    if version == "V2" and len(files) < 2:
        raise WeightsError(prefix, f"has an index but no data file ({prefix.name}.data-00000-of-00001)")
    return prefix, version, files


def _locate_any(path):
    if path.is_dir():
        if not (path / _STATE_FILE).is_file():
            raise WeightsError(path, f"is a folder without a `{_STATE_FILE}` state file")
        target = _state_target(path)
        try:
            return _locate_prefix(target)
        except WeightsError as exc:
            raise WeightsError(path, f"its `{_STATE_FILE}` file names {target.name}, which is unusable: "
                                     f"{exc.problem}") from None
    return _locate_prefix(path)


# ---------------------------------------------------------------- reading

def read(path, use_ema=False, arch=None, progress=None) -> canonical.Weights:
    """Canonical Weights of the slim ResNet in the checkpoint at `path`.

    arch: 'resnet_v2_50' (or a description, variants included) to skip
      detection, or to pick one model in a checkpoint holding several (the
      others' variables are then ignored). A checkpoint records names only, so
      a variant (an ELU ResNet, say) must be given here to be recorded.
    use_ema: take every value from its `<variable>/ExponentialMovingAverage`
      shadow, as slim's evaluation scripts restore them; a missing shadow is an
      error, never a silent fallback to the raw value.
    progress: optional callable(n_bytes) called after each tensor.

    Training state is ignored: global_step, Adam's beta1_power/beta2_power, and
    any variable named `<another variable>/<name>` (optimizer slots such as
    `.../weights/Momentum`, moving-average shadows, zero-debias accumulators):
    TensorFlow names slots and shadows that way, and a model variable never is.
    Everything else must be a variable of the model, and the model complete,
    with slim's shapes; this is checked before any tensor is read.

    Metadata: the description slim's conventions give the scope's name (or
    `arch`); num_classes from the logits (None when there are none: a headless
    model). background_class is kept from slim's conventions only for 1001
    classes: the released slim resnet_v2 checkpoints were trained with a
    background class at index 0, the resnet_v1 ones with the 1000 ImageNet
    classes. source_sha256 is the sha256 of the
    checkpoint's files concatenated in name order (V1: the one file; V2:
    `prefix.data-*` then `prefix.index`).
    """
    plan = _Plan(path, use_ema, arch)
    tensors, sources = {}, {}
    label = canonical.source_label(plan.sources)
    with canonical.sha256_later(*sorted(plan.files, key=lambda p: p.name)) as digest:
        announce(progress, plan.nbytes)
        for name, shape in plan.arch.tensors().items():
            source = plan.sources[name]
            value = get_tensor(plan.reader, source, plan.where).reshape(shape)
            tensors[name] = canonical.check_values(name, value, plan.where, label)  # while still in the cache
            sources[name] = source
            if progress:
                progress(tensors[name].nbytes)
        meta = plan.metadata(digest())
    return canonical.Weights(tensors, meta, sources).validate(plan.where, label, checked=tensors)


def read_header(path, use_ema=False, arch=None):
    """(Metadata without source_sha256, {canonical name: (shape, dtype)}) from the index alone.

    Checked as `read` checks before its first tensor (names, shapes, EMA
    shadows); no tensor data is read.
    """
    plan = _Plan(path, use_ema, arch)
    dtypes = plan.reader.get_variable_to_dtype_map()
    shapes = {name: (shape, dtypes[plan.sources[name]].as_numpy_dtype)
              for name, shape in plan.arch.tensors().items()}
    return plan.metadata(None), shapes


def checkpoint_files(path):
    """The files holding the checkpoint at `path` (V1 file, or V2 index and data shards)."""
    return _locate(path)[2]


class _Plan:
    """What `read` will read, decided and checked from the index: no tensor data touched."""

    def __init__(self, path, use_ema, arch):
        self.prefix, self.version, self.files = _locate(path)
        self.where = str(self.prefix)
        self.reader, shapes = open_reader(self.prefix)
        model = _model_names(shapes)
        self.arch = _choose_arch(model, shapes, arch, self.where)
        scopes = (None, scope_of(self.arch))
        model = [n for n in model if _scope_of(n) in scopes]
        self.bound = scheme("slim", self.arch)
        self.arch = _with_classes(self.arch, _num_classes(shapes, self.bound, model))
        names = {c: self.bound.tensor(c) for c in self.arch.tensors()}
        expected = {names[c]: slim_shape(c, s) for c, s in self.arch.tensors().items()}
        check_mapping(expected, {n: tuple(shapes[n]) for n in model}, self.where, label=_labeller(self.bound))
        origin = _ema_sources(expected, shapes, self.where) if use_ema else {n: n for n in expected}
        self.sources = {c: origin[n] for c, n in names.items()}  # canonical name: checkpoint variable read
        dtypes = self.reader.get_variable_to_dtype_map()
        self.nbytes = sum(math.prod(shapes[s]) * dtypes[s].size for s in self.sources.values())

    def metadata(self, sha256):
        return Metadata(self.arch, source_input("slim", self.arch),
                        source_kind=f"slim-checkpoint-{self.version.lower()}", source_file=self.prefix.name,
                        source_sha256=sha256 or "")


def _labeller(bound):
    """Checkpoint name, then the canonical name where it has one: `resnet_v2_50/.../weights (stage2/unit1/...)`."""
    def label(name):
        try:
            return f"{name} ({bound.canonical_tensor(name)})"
        except SlimcompatError:
            return name
    return label


def open_reader(prefix):
    """(TensorFlow's checkpoint reader, {variable: shape}) of the checkpoint at `prefix`; WeightsError if unreadable."""
    import tensorflow as tf
    journal.check_settled(_strip_member_suffix(pathlib.Path(prefix)))
    try:
        reader = tf.train.load_checkpoint(str(prefix))
    except Exception as exc:  # TensorFlow raises several types (OpError, ValueError, ...)
        raise WeightsError(prefix, f"not a readable TF checkpoint ({_first_line(exc)})") from None
    return reader, _variable_shapes(reader, str(prefix))


def _variable_shapes(reader, where):
    try:
        shapes = {n: tuple(s) for n, s in reader.get_variable_to_shape_map().items()}
    except Exception as exc:
        raise WeightsError(where, f"unreadable checkpoint index ({_first_line(exc)})") from None
    if not shapes:
        raise WeightsError(where, "the checkpoint holds no variables (is this the .index file of a V2 "
                                  "checkpoint? pass its prefix)")
    return shapes


def get_tensor(reader, name, where):
    """reader.get_tensor(name), any failure as one WeightsError naming the tensor."""
    try:
        return reader.get_tensor(name)
    except Exception as exc:
        raise WeightsError(where, f"tensor {name}: unreadable data ({_first_line(exc)}); "
                                  f"the data file is truncated or corrupt") from None


def _first_line(exc):
    text = (getattr(exc, "message", None) or str(exc) or type(exc).__name__).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    return line if len(line) <= 300 else line[:297] + "..."


def _is_training_state(name, names):
    leaf = name.rpartition("/")[2]
    if leaf == "global_step" or _ADAM_POWERS.match(leaf):
        return True
    parent = name.rpartition("/")[0]
    return parent in names


def _model_names(shapes):
    """Checkpoint variables that are not training state (see `read`)."""
    return [n for n in shapes if not _is_training_state(n, shapes)]


def _scope_of(name):
    """The network scope a variable sits in (`resnet_v2_50`, `inception10`, `InceptionV3`), or None."""
    head = name.split("/", 1)[0]
    return head if head in slim_scopes() or default_source(head) == "slim" else None


def _choose_arch(names, shapes, arch, where):
    """The description `arch` (a name or description), else the one the checkpoint's single slim scope holds:
    among the networks sharing a scope (MobileNet widths, VGG with or without BatchNorm), the one whose
    variables and shapes the checkpoint has."""
    if arch is not None:
        chosen = _describe(arch, where)
        scope = scope_of(chosen)
        if not any(_scope_of(n) == scope for n in names):
            found = sorted({s for s in map(_scope_of, names) if s})
            raise WeightsError(where, f"no {scope} variables ({chosen.name}) in the checkpoint (its "
                                      f"network scopes: {', '.join(found) or 'none'})")
        return chosen
    scopes = sorted({s for s in map(_scope_of, names) if s})
    if not scopes:
        sample = ", ".join(sorted(names)[:3])
        raise WeightsError(where, f"no slim network variables (no scope such as resnet_v2_50, resnet_v1_18, "
                                  f"resnext_50_32x4d or inception10; found {sample})")
    if len(scopes) > 1:
        raise WeightsError(where, f"variables of several networks ({', '.join(scopes)}); choose one with --arch "
                                  f"NAME (arch= from Python)")
    candidates = slim_scopes().get(scopes[0]) or (_describe(scopes[0], where),)
    return max((*_named_by_file(where, scopes[0]), *candidates), key=lambda d: _fit(d, names, shapes))


def _named_by_file(where, scope):
    """The description the checkpoint's file name gives, if of this scope (the zoo's `mobilenet_v1_0.5_160.ckpt`:
    the resolution the weights were trained at is in no variable), tried first: () where it names none."""
    name = pathlib.Path(where).name.partition(".ckpt")[0]
    try:
        named = describe(name, source="slim")
    except SlimcompatError:
        return ()
    return (named,) if scope_of(named) == scope else ()


def _fit(description, names, shapes):
    """How well a checkpoint's variables fit `description`: (all there with their shapes, how many are there)."""
    bound, present = scheme("slim", description), set(names)
    expected = {bound.tensor(c): slim_shape(c, s) for c, s in description.tensors().items()}
    found, scope = [n for n in expected if n in present], scope_of(description)
    exact = len(found) == len(expected) == len([n for n in names if _scope_of(n) == scope]) and all(
        tuple(shapes[n]) == tuple(expected[n]) or "logits" in n for n in found)
    return exact, len(found)


def _describe(arch, where):
    try:
        return describe(arch, source=None if hasattr(arch, "plan") else "slim")
    except SlimcompatError as exc:
        raise WeightsError(where, str(exc)) from None


def _with_classes(arch, num_classes):
    """`arch` with the checkpoint's class count; the background class kept only where slim had one (1001)."""
    if num_classes == arch.num_classes:
        return arch
    return arch.replace(num_classes=num_classes, background_class=arch.background_class and num_classes == 1001)


def slim_shape(canonical_name, shape):
    """Slim stores every dense layer as a 1x1 conv: [1, 1, features, units]; canonical as [features, units]
    (a rank-2 canonical kernel is always a dense layer's)."""
    return (1, 1, *shape) if canonical_name.endswith("/kernel") and len(shape) == 2 else tuple(shape)


def canonical_shape(canonical_name, shape, expected=None):
    """The inverse of `slim_shape`: a slim variable's shape in the canonical layout.

    expected: the canonical shape where known (slimcompat.arch.layout's rule:
    another rank, as many elements); without it only the classifier is told.
    """
    if expected is not None and canonical_name.rpartition("/")[2] in ("kernel", "depthwise_kernel"):
        return held_shape("dense" if len(expected) == 2 else "conv", "tensorflow", shape, expected)
    return tuple(shape)[2:] if canonical_name == "logits/kernel" else tuple(shape)


def _num_classes(shapes, bound, model):
    """Classes from the logits weights (or biases); None without logits (headless)."""
    for canonical_name in ("logits/kernel", "logits/bias"):
        name = bound.tensor(canonical_name)
        if name in model and shapes[name] and shapes[name][-1] > 0:
            return int(shapes[name][-1])
    return None


def _ema_sources(expected, shapes, where):
    """{model variable: its ExponentialMovingAverage shadow}; WeightsError if any is missing or misshapen."""
    missing = [n for n in expected if n + EMA_SUFFIX not in shapes]
    if missing:
        shown = ", ".join(missing[:3]) + (f", ... {len(missing) - 3} more" if len(missing) > 3 else "")
        raise WeightsError(where, f"use_ema: {len(missing)} of {len(expected)} variables have no "
                                  f"{EMA_SUFFIX.lstrip('/')} shadow ({shown})")
    for name in expected:
        if tuple(shapes[name + EMA_SUFFIX]) != tuple(shapes[name]):
            raise WeightsError(where, f"tensor {name}{EMA_SUFFIX}: shape {tuple(shapes[name + EMA_SUFFIX])} "
                                      f"differs from its variable's {tuple(shapes[name])}")
    return {n: n + EMA_SUFFIX for n in expected}


# ---------------------------------------------------------------- writing

def write(path, weights: canonical.Weights, overwrite=False, version="V2", progress=None):
    """Write `weights` as a slim checkpoint at prefix `path`, atomically; returns the path.

    The result restores with `tf.compat.v1.train.Saver` into the graph that
    `slimcompat.nets.slim_net.net_fn(weights.meta.description)` builds (and, for
    tf_slim's own resnet_v1/v2_50..200, into tf_slim.nets'). A checkpoint records
    names and values only; see `_check_slim_computes` for what that refuses.

    version: 'V2' writes `path.index` and `path.data-00000-of-00001`, 'V1' the
    single file `path` (the format of the released slim tarballs).
    The checkpoint is saved into a temporary folder beside `path` and its files
    installed in place (see `atomic_checkpoint`); a failure leaves nothing
    behind. An existing checkpoint at `path` (any format) is refused unless
    overwrite=True, and then replaced.
    progress: optional callable(n_bytes) called after each tensor.
    """
    path = pathlib.Path(path)
    _check_version(version)
    _check_slim_computes(weights, path)
    weights.validate(str(path))
    with atomic_checkpoint(path, overwrite, version) as prefix:
        _save(prefix, weights, version, progress)
    return path


def _check_version(version):
    if version not in VERSIONS:
        raise SlimcompatError(f"slim checkpoint version must be one of {', '.join(VERSIONS)}, found {version!r}")


@contextlib.contextmanager
def atomic_checkpoint(path, overwrite=False, version="V2"):
    """Yield a temporary prefix to save a `version` checkpoint at; on success its files replace `path`'s.

    The temporary folder sits beside `path`, so the renames stay on one file
    system; on any failure it is removed and `path` is untouched. The new files
    are flushed, then installed by a journaled install: a process killed at any
    moment leaves the old checkpoint, or a journal that the next slimcompat
    command touching `path` completes to the new one. Without overwrite, an
    existing checkpoint, also one another process installed meanwhile, is
    refused.
    """
    path = pathlib.Path(path)
    _check_version(version)
    check_prefix(path, overwrite)
    with partial_folder(path) as tmp:
        yield tmp / _TMP_NAME
        _install(tmp / _TMP_NAME, path, version, overwrite)


# tf_slim.nets' own networks: users restore these checkpoints into tf_slim's graphs.
_TF_SLIM_NETS = re.compile(r"resnet_v[12]_(50|101|152|200)\Z")


def _check_slim_computes(weights, path):
    """Refuse or warn about weights whose checkpoint would be read back as another network.

    A checkpoint records names and values, and is read back with slim's
    conventions for its scope. For tf_slim's own resnet_v1/v2_50..200, people
    restore it into tf_slim.nets' graph: another stride placement (same shapes,
    other network) is refused, as is anything that changes the tensors. Other
    differences (epsilon, stem pool, activation, ...) are warned about with the
    `--variant` that reads the checkpoint back as what it is.
    """
    meta = weights.meta
    slim = describe(meta.architecture, source="slim")
    verdict = fidelity.judge(slim, meta.description, "tf_slim" if _TF_SLIM_NETS.match(meta.architecture) else "slim")
    if not verdict.judged:
        return
    changes = {d.knob: d.weights for d in verdict.judged}
    described = ", ".join(f"{k} {v}" for k, v in changes.items())
    structural = [f"{d.knob} {d.target}" for d in verdict.refused]
    if structural:
        raise WeightsRefusal(path, f"{meta.architecture} weights with {described} would restore into tf_slim's "
                                 f"{meta.architecture}, which has {', '.join(structural)}, and compute something "
                                 f"else; refusing (keep a canonical file)")
    fold = " (convert with --bn-epsilon {:g} to fold the epsilon)".format(slim.bn_epsilon) \
        if "bn_epsilon" in changes else ""
    warnings.warn(f"{path.name}: a checkpoint cannot record {described}; slim's {meta.architecture} computes "
                  f"otherwise. Read it back with --arch {meta.architecture} --variant "
                  f"{variant_text(changes)}{fold}", stacklevel=3)


def _is_member(prefix):
    """Whether a name in `prefix`'s folder is one of the files of a checkpoint at `prefix`."""
    return lambda name: name.startswith(prefix.name) and _MEMBER.match(name, len(prefix.name)) is not None


def recover(prefix):
    """Finish an install at `prefix` that a killed process left (see `journal`); True if there was one.

    The journal's every name is checked before anything is touched; one
    naming a file that is not this checkpoint's, or a place outside its
    folder, is refused with WeightsError.
    """
    prefix = pathlib.Path(prefix)
    check_name(prefix)
    return journal.recover(prefix, _is_member(prefix))


def existing_files(path):
    """Files at `path` that belong to a checkpoint there (V1 file, V2 index and data shards)."""
    found = [p for p in (path, _index(path)) if p.is_file()]
    return found + _data_files(path)


def check_prefix(path, overwrite=False):
    """Raise WeightsError unless a checkpoint may be written at prefix `path`.

    An install at `path` that a killed process left is finished first.
    """
    path = pathlib.Path(path)
    check_name(path)
    if path.is_dir():
        raise WeightsError(path, "is a folder; give a checkpoint prefix such as folder/model.ckpt")
    if path.parent.is_dir():
        recover(path)
    existing = existing_files(path)
    if existing and not overwrite:
        names = ", ".join(p.name for p in existing)
        raise WeightsError(path, f"already exists ({names}) (use --force to overwrite)")
    check_destination(path, overwrite=True)


def _save(prefix, weights, version, progress):
    """Saver-written checkpoint of `weights` at `prefix`, values fed, never embedded in the graph."""
    import tensorflow as tf
    v1 = tf.compat.v1
    meta = weights.meta
    bound = scheme("slim", meta.arch)
    graph = tf.Graph()
    with graph.as_default():
        slots = []
        for name in meta.arch.tensors():
            value = weights.tensors[name]
            value = value.reshape(slim_shape(name, value.shape))
            feed = v1.placeholder(tf.as_dtype(value.dtype), value.shape)
            # Ref variables: half the graph ops of resource variables; Saver writes the same bytes.
            variable = v1.Variable(feed, name=bound.tensor(name), trainable=False, use_resource=False)
            slots.append((bound.tensor(name), variable, feed, value))
        saver = v1.train.Saver({n: v for n, v, _, _ in slots}, sharded=False, max_to_keep=None,
                               write_version=getattr(v1.train.SaverDef, version))
        with v1.Session(graph=graph) as session:
            for batch in _batches(slots):
                session.run([v.initializer for _, v, _, _ in batch], {f: x for _, _, f, x in batch})
                for *_, value in batch:
                    if progress:
                        progress(value.nbytes)
            saver.save(session, str(prefix), write_meta_graph=False, write_state=False)


def _batches(slots, limit=_BATCH_BYTES):
    """Consecutive runs of `slots` of about `limit` bytes: one session.run each.

    A run costs a fixed ~20 ms whatever it feeds, so one per tensor would
    dominate; a few large ones keep progress moving.
    """
    batch, size = [], 0
    for slot in slots:
        batch.append(slot)
        size += slot[3].nbytes
        if size >= limit:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _produced(tmp_prefix, version):
    """[(temporary file, suffix after the prefix)] that Saver wrote, data before index."""
    if version == "V1":
        pairs = [(tmp_prefix, "")]
    else:
        pairs = [(p, p.name[len(tmp_prefix.name):]) for p in _data_files(tmp_prefix)]
        pairs.append((_index(tmp_prefix), ".index"))
    missing = [str(p) for p, _ in pairs if not p.is_file()]
    if missing or (version == "V2" and len(pairs) < 2):
        raise WeightsError(tmp_prefix, f"Saver did not produce the expected files (missing {missing or 'data'})")
    return pairs


def _install(tmp_prefix, path, version, overwrite):
    """Install the new files at `path`, journaled, replacing what remains of an old checkpoint there.

    Data shards move before the index, so the index, a reader's entry point,
    arrives last. An old index is removed first only when a new data shard
    takes an old shard's name: until then the old checkpoint stays whole.
    """
    produced = _produced(tmp_prefix, version)
    for source, _ in produced:
        fsync_path(source)
    fsync_folder(tmp_prefix.parent)
    with journal.installing(path, _is_member(path)) as commit:
        old = existing_files(path)
        if old and not overwrite:
            raise WeightsError(path, f"already exists: another process wrote {old[0].name} meanwhile "
                                     f"(use --force to overwrite)")
        moves = [(source, f"{path.name}{suffix}") for source, suffix in produced]
        targets = {name for _, name in moves}
        index = _index(path)
        first = [index.name] if index in old and any(p.name in targets for p in _data_files(path)) else []
        # Stale files go index first, so no reader ever finds an index without its data.
        last = sorted((p.name for p in old if p.name not in targets), key=lambda n: n != index.name)
        commit(tmp_prefix.parent, moves, first, last)
