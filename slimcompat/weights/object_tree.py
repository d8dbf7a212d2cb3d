"""TF-format checkpoints of tf.keras 2.x without the model's code: recorded names, else the object tree and shapes.

A checkpoint written by `model.save_weights('x.ckpt')`, `ModelCheckpoint` or
`tf.train.Checkpoint(model=...)` records the objects the program tracked
(`layer_with_weights-2/depthwise_kernel`, `blocks/layer_with_weights-0/c1/
kernel`), each variable's shape and the name the variable had when saved
(`conv_dw_1/depthwise_kernel`: a functional model's layer names;
`my_model/conv2d_3/kernel` in a subclassed one), not the forward pass: not the
strides, paddings, activations, BatchNorm epsilon or where the adds are. So:

- where the recorded names follow a naming scheme (keras.applications',
  Keras-1's), the file is read by them exactly as a Keras file with those names
  is (slimcompat.weights.keras_io.identify_names: every variable one canonical
  tensor, shapes equal, the description and conventions those names imply);
  names that fit a scheme but miss, add or misshape a tensor are a
  MappingError naming the variables as recorded;
- otherwise (auto names such as `conv2d_17`, a subclassed model's own) the tree
  and the shapes determine which canonical tensor each variable is once the
  description is given (`arch`): the layers are read in the order the tree
  records them (depth first, each object once) and cut into the units the
  description's plan groups (a residual unit, a concat block, a side head, and
  the runs of ops between them; a plan without groups is one unit): a unit's
  layers follow each other (true of a subclassed unit, which is one object, and
  of a functional model, whose layers Keras orders by depth), within a unit
  layers of equal shape are taken in recorded order, a grouped conv is the run
  of per-group convs the code created for it, a kernel may be held in another
  rank with its outputs last (a classifier as a 1x1 conv, fc6 as a dense
  layer), and a BatchNorm (with or without gamma) belongs to the earliest conv
  recorded before it that has none yet;
- without a description, the tree is matched against every description its
  shapes could be (each family's `object_tree` candidates, else its `recognize`
  ones); the read is refused with one line naming what the shapes determine and
  what a checkpoint cannot record. The model's code (`--model`,
  slimcompat.structure.model_weights.load_file) reads such a checkpoint exactly.

`is_object_checkpoint` tells these checkpoints from TF1 name-based (slim)
ones from the index file alone, without TensorFlow.
"""

import dataclasses
import pathlib

import numpy as np

from slimcompat.arch import RECORDS, ops
from slimcompat.arch.conventions import INPUTS
from slimcompat.arch.layout import held_shape
from slimcompat.arch.ops import BN_PARAMS
from slimcompat.errors import MappingError, SlimcompatError, WeightsError, WeightsRefusal

__all__ = ["is_object_checkpoint", "read", "layers_of", "Layer", "candidates"]

_GRAPH_KEY = b"_CHECKPOINTABLE_OBJECT_GRAPH"
_GROUPS = (ops.Residual, ops.Concat, ops.Aux)
_BN_NEEDS = {"beta", "moving_mean", "moving_variance"}       # gamma is optional (BatchNorm(scale=False))
_KERNELS = {"kernel": {2: "dense", 4: "conv"}, "depthwise_kernel": {4: "depthwise"}}


def is_object_checkpoint(path, probe=None):
    """Whether the TF checkpoint at `path` (prefix, member file, or folder) records an object graph.

    probe: a shared weights.probe.Probe (detection opens each file once).
    """
    from slimcompat.weights.probe import using
    from slimcompat.weights.slim_checkpoint import index_file
    path = pathlib.Path(path)
    if path.is_dir():
        import tensorflow as tf
        latest = tf.train.latest_checkpoint(str(path))
        if latest is None:
            return False
        path = pathlib.Path(latest)
    index = index_file(path)
    try:
        with using(probe, index) as probe:
            return _GRAPH_KEY in probe.whole(index)
    except OSError:
        return False


@dataclasses.dataclass
class Layer:
    """One weighted object of the tree: a conv, depthwise conv, dense layer or BatchNorm, its variables by role."""

    kind: str                 # "conv", "depthwise", "dense" or "bn"
    path: str
    variables: dict           # role -> CheckpointVariable

    @property
    def role(self):
        """The role holding the layer's shape: its kernel's, or a BatchNorm's `moving_mean`."""
        return "moving_mean" if self.kind == "bn" else \
            ("depthwise_kernel" if self.kind == "depthwise" else "kernel")

    @property
    def shape(self):
        return tuple(self.variables[self.role].shape)

    @property
    def bias(self):
        return "bias" in self.variables

    @property
    def scale(self):
        return "gamma" in self.variables


@dataclasses.dataclass(frozen=True)
class _Slot:
    """One canonical layer a tree layer may fill: a plan op's kernel (or BatchNorm) and what it needs."""

    layer: str                # canonical layer
    op_kind: str              # the plan op's kind, as slimcompat.arch.layout names it
    role: str                 # "kernel", "depthwise_kernel", or "bn"
    shape: tuple              # the canonical kernel's shape; a BatchNorm's (channels,)
    groups: int = 1
    bias: bool = False        # a BatchNorm: whether it has gamma

    @classmethod
    def of(cls, op):
        if isinstance(op, ops.BatchNorm):
            return cls(op.layer, "batchnorm", "bn", (op.channels,), 1, op.scale)
        if isinstance(op, ops.Dense):
            return cls(op.layer, "dense", "kernel", (op.in_features, op.units), 1, op.bias)
        if isinstance(op, ops.DepthwiseConv):
            return cls(op.layer, "depthwiseconv", "depthwise_kernel", op.shape, 1, op.bias)
        return cls(op.layer, "conv", "kernel", op.shape, op.groups, op.bias)

    def holds(self, layer, shape=None):
        """Whether `layer`'s kernel is this slot's (of `shape`: one group's), held as TensorFlow holds it or in
        another rank with its outputs last."""
        shape = tuple(shape or self.shape)
        held = layer.shape
        return layer.role == self.role and layer.bias == self.bias and held[-1] == shape[-1] and \
            held_shape(self.op_kind, "tensorflow", held, shape) == shape


def layers_of(ckpt):
    """The tree's weighted objects in recorded order (depth first from the root, each object once)."""
    from slimcompat.weights.object_checkpoint import TRAINING_STATE
    out, seen, stack = [], {0}, [0]
    while stack:
        node = stack.pop()
        own = {}
        children = []
        for name, child in ckpt.children(node):
            if name in TRAINING_STATE or child in seen:
                continue
            variable = ckpt.variable(child)
            if variable is not None:
                own[name] = variable
            else:
                children.append(child)
        for child in children:
            seen.add(child)
        if own:
            seen.update(v.node for v in own.values())
            out.append(_layer(ckpt, node, own))
        stack.extend(reversed(children))
    return out


def _layer(ckpt, node, own):
    where = "/".join(ckpt.path_of(node)) or "(root)"
    roles = set(own)
    if _BN_NEEDS <= roles <= set(BN_PARAMS) and len({v.shape for v in own.values()}) == 1 \
            and len(own["beta"].shape) == 1:
        return Layer("bn", where, own)
    kernels = roles & set(_KERNELS)
    if len(kernels) == 1 and roles <= kernels | {"bias"}:
        role = kernels.pop()
        kind = _KERNELS[role].get(len(own[role].shape))
        if kind is not None:
            return Layer(kind, where, own)
    raise WeightsError(ckpt.path, f"object {where} holds {', '.join(sorted(own))}: not a conv, depthwise conv, "
                                  f"BatchNorm or dense layer of a described network")


def read(path, arch=None):
    """Canonical Weights of a tf.keras TF-format checkpoint, by its recorded names where they follow a scheme,
    else by its tree given its description `arch` (see module doc)."""
    from slimcompat.weights.object_checkpoint import ObjectCheckpoint
    ckpt = ObjectCheckpoint(path)
    named = _by_names(ckpt, arch)
    if named is not None:
        description, convention, variables = named
        sources = {name: variables[name].full_name for name in variables}
        return _weights(path, ckpt, description, convention, {n: (v,) for n, v in variables.items()}, sources)
    layers = layers_of(ckpt)
    if not hasattr(arch, "plan"):
        if arch is not None:
            from slimcompat.arch import describe
            arch = describe(arch)
        else:
            _refuse(ckpt.path, layers)
    assignment = assign(arch, layers, ckpt.path)
    sources = {name: variables[0].name if len(variables) == 1 else
               f"{variables[0].name} .. {variables[-1].name} ({len(variables)} groups)"
               for name, variables in assignment.items()}
    return _weights(path, ckpt, arch, INPUTS["unit"], assignment, sources)


def _weights(path, ckpt, description, convention, assignment, sources):
    """Weights of {canonical tensor: (variables: one, or one per group)}, each read once and held as canonical."""
    from slimcompat.arch.layout import merge_groups
    from slimcompat.weights.canonical import Weights, sha256, source_label
    from slimcompat.weights.metadata import Metadata
    expected = description.tensors()
    tensors = {}
    for name in expected:
        values = [ckpt.read(v) for v in assignment[name]]
        value = merge_groups(values) if len(values) > 1 else np.asarray(values[0])
        tensors[name] = value.reshape(expected[name]) if value.shape != tuple(expected[name]) and \
            value.size == int(np.prod(expected[name])) else value
    prefix = pathlib.Path(ckpt.path)
    files = sorted([p for p in prefix.parent.iterdir() if p.name.startswith(prefix.name + ".")],
                   key=lambda p: p.name)
    meta = Metadata(description, convention, source_kind="tf-object-checkpoint", source_file=prefix.name,
                    source_sha256=sha256(*files))
    return Weights(tensors, meta, sources).validate(str(path), source_label(sources))


# ----------------------------------------------------------------- by the recorded names

def _by_names(ckpt, arch):
    """(description, input convention, {canonical tensor: variable}) where the variables' recorded names follow a
    naming scheme (as recorded, or below a model scope every name shares), None where they follow none."""
    from slimcompat.weights.keras_io import identify_names
    variables = ckpt.variables()
    names = [v.full_name for v in variables]
    if not variables or not all("/" in n for n in names) or len(set(names)) < len(names):
        return None
    namings = [names]
    scopes = {n.split("/", 1)[0] for n in names}
    if len(scopes) == 1 and all(n.count("/") >= 2 for n in names):
        namings.append([n.split("/", 1)[1] for n in names])
    for naming in namings:
        found = {tuple(n.rsplit("/", 1)): v for n, v in zip(naming, variables)}
        try:
            description, convention, keys = identify_names(ckpt.path, found, arch)
        except WeightsRefusal:
            continue
        return description, convention, {name: found[key] for name, key in keys.items()}
    return None


# ----------------------------------------------------------------- by the tree

def _units(description):
    """[(unit, [_Slot])] in plan order: each unit the plan groups (a residual unit, a concat block, a side head)
    and each run of ops between them: `stem` before the first, `head` after the last, `after UNIT` between; a
    plan with no groups is one unit, `network`."""
    runs, current = [], None
    for op in description.plan():
        if isinstance(op, _GROUPS):
            runs.append((op.unit, [_Slot.of(o) for o in ops.parametric((op,))]))
            current = None
        elif isinstance(op, ops.PARAMETRIC):
            if current is None:
                current = [None, []]
                runs.append(current)
            current[1].append(_Slot.of(op))
    grouped = [i for i, (unit, _) in enumerate(runs) if unit is not None]
    out = []
    for i, (unit, slots) in enumerate(runs):
        if unit is None:
            unit = "network" if not grouped else "stem" if i < grouped[0] else "head" if i > grouped[-1] else \
                f"after {runs[i - 1][0]}"
        if slots:
            out.append((unit, slots))
    return out


def assign(description, layers, where, check_order=True):
    """{canonical tensor: (CheckpointVariable, ...)} for `layers` read as `description`; MappingError otherwise.

    check_order: refuse a unit whose parallel paths hold kernels of equal shape where the tree lists the unit's
    layers flat (a functional model's, in depth order, not in the order the code made them): which is which is
    not recorded (`_parallel_twins`).
    """
    units = _units(description)
    cursor, out = 0, {}
    model = _common_prefix([layer.path for layer in layers])
    twins = _parallel_twins(description) if check_order else {}
    for unit, slots in units:
        size = sum(slot.groups for slot in slots)
        chunk = layers[cursor:cursor + size]
        cursor += size
        if len(chunk) < size:
            raise MappingError(where, missing=[f"{unit}: the tree has {len(chunk)} more layers, the {description.name} "
                                               f"needs {size} there"])
        pair = next((twins[s.layer] for s in slots if s.layer in twins), None)
        if pair is not None and len(_common_prefix([layer.path for layer in chunk])) <= len(model):
            raise WeightsRefusal(where, f"as {description.name}, {unit} holds {pair[0]} and {pair[1]} on parallel "
                                        f"paths with kernels of one shape {pair[2]}, and the tree lists the unit's "
                                        f"layers flat (as a functional model's, by depth), so it does not record "
                                        f"which is which: give the model's code (--model PATH.py:NAME)")
        out.update(_assign_unit(description, unit, slots, chunk, where))
    if cursor < len(layers):
        raise MappingError(where, unexpected=[layer.path for layer in layers[cursor:cursor + 4]])
    return out


def _common_prefix(paths):
    parts = [path.split("/") for path in paths]
    out = []
    for column in zip(*parts):
        if len(set(column)) > 1:
            break
        out.append(column[0])
    return out


def _parallel_twins(description):
    """{canonical layer: (it, its twin, shape)} for kernels of equal shape, role and bias on parallel paths of one
    unit (two branches of a concat, a residual's shortcut and main path), which only the order the code made
    them in tells apart."""
    found = {}
    for unit in description.plan():
        if not isinstance(unit, _GROUPS):
            continue
        seen = {}
        for op, path in _paths((unit,), ()):
            if isinstance(op, ops.BatchNorm):
                continue
            slot = _Slot.of(op)
            key = (slot.role, slot.shape, slot.bias)
            for other, other_path in seen.get(key, []):
                split = next((i for i, (a, b) in enumerate(zip(path, other_path)) if a != b), None)
                if split is not None and path[split][0] == other_path[split][0]:
                    found.setdefault(slot.layer, (other, slot.layer, slot.shape))
            seen.setdefault(key, []).append((slot.layer, path))
    return found


def _paths(plan, prefix):
    """(parametric op, the parallel paths it lies on: ((unit, branch), ...)) of `plan`, in plan order."""
    for op in plan:
        if isinstance(op, ops.Residual):
            for part, ops_ in (("pre", op.pre), ("shortcut", op.shortcut), ("main", op.main), ("post", op.post)):
                inner = prefix + ((op.unit, part),) if part in ("shortcut", "main") else prefix
                yield from _paths(ops_, inner)
        elif isinstance(op, ops.Concat):
            for i, branch in enumerate(op.branches):
                yield from _paths(branch, prefix + ((op.unit, i),))
        elif isinstance(op, ops.Aux):
            yield from _paths(op.ops, prefix + ((op.unit, "aux"),))
        elif isinstance(op, ops.PARAMETRIC):
            yield op, prefix


def _match(slots, taken, layer, queue):
    """(slot, [layer, and the rest of its run of per-group layers]) of the first free slot `layer` fills."""
    for slot in slots:
        if slot.layer in taken:
            continue
        if slot.groups == 1:
            if slot.holds(layer):
                return slot, [layer]
            continue
        per_group = (*slot.shape[:-1], slot.shape[-1] // slot.groups)
        run = [layer] + queue[:slot.groups - 1]
        if len(run) == slot.groups and all(q.kind == "conv" and q.shape == per_group and slot.holds(q, per_group)
                                           for q in run):
            return slot, run
    return None


def _assign_unit(description, unit, slots, chunk, where):
    kernels = [s for s in slots if s.role != "bn"]
    bns = [s for s in slots if s.role == "bn"]
    taken, owner, out, position = set(), {}, {}, {}
    index = {id(layer): i for i, layer in enumerate(chunk)}
    queue = [layer for layer in chunk if layer.kind != "bn"]
    while queue:
        layer = queue.pop(0)
        match = _match(kernels, taken, layer, queue)
        if match is None:
            raise MappingError(f"{where} as {description.name}", unexpected=[f"{layer.path} {layer.shape} "
                                                                            f"(no {unit} layer of that shape)"])
        slot, run = match
        del queue[:len(run) - 1]
        taken.add(slot.layer)
        position[slot.layer] = index[id(run[0])]
        for role in (layer.role, "bias"):
            if role in layer.variables:
                out[f"{slot.layer}/{role}"] = tuple(q.variables[role] for q in run)
    for layer in (layer for layer in chunk if layer.kind == "bn"):
        here = index[id(layer)]
        choices = [b for b in bns if b.layer not in owner and b.shape == layer.shape and b.bias == layer.scale]
        conv_of = {b.layer: b.layer.rsplit("/", 1)[0] for b in choices}
        owned = sorted((b for b in choices if conv_of[b.layer] in position and position[conv_of[b.layer]] < here),
                       key=lambda b: position[conv_of[b.layer]])
        free = [b for b in choices if conv_of[b.layer] not in position]
        pick = owned[0] if owned else (free[0] if free else None)
        if pick is None:
            raise MappingError(f"{where} as {description.name}",
                               unexpected=[f"{layer.path} ({layer.shape[0]} channels: no {unit} BatchNorm left)"])
        owner[pick.layer] = layer
        for role in layer.variables:
            out[f"{pick.layer}/{role}"] = (layer.variables[role],)
    missing = [s.layer for s in slots if s.layer not in taken and s.layer not in owner]
    if missing:
        raise MappingError(f"{where} as {description.name}", missing=missing)
    return out


# ----------------------------------------------------------------- without a description

def candidates(layers):
    """Descriptions whose canonical tensors the tree's layers are (in the order read), tensors first, knobs unset."""
    found, seen = [], set()
    for description in _guesses(layers):
        if sum(slot.groups for _, slots in _units(description) for slot in slots) != len(layers):
            continue
        key = tuple(description.tensors().items())
        if key in seen:
            continue
        try:
            assign(description, layers, "", check_order=False)
        except SlimcompatError:
            continue
        seen.add(key)
        found.append(description)
    return found


def _guesses(layers):
    """Every family's candidates for the tree: its `object_tree` rule, else its `recognize` candidates with the
    classes the last kernel gives and with none (slimcompat.arch.family)."""
    kernels = [(layer.shape, layer.bias) for layer in layers if layer.kind == "conv"]
    weighted = [layer for layer in layers if layer.kind != "bn"]
    if not kernels:
        return
    dense = [layer for layer in layers if layer.kind == "dense"]
    classes = dense[-1].shape[1] if dense else None
    for record in RECORDS:
        if record.object_tree is not None:
            yield from record.object_tree(kernels[0][0], classes, kernels)
        elif record.recognize is not None:
            for count in dict.fromkeys((weighted[-1].shape[-1], None)):
                try:
                    yield from record.recognize(count, None)
                except SlimcompatError:
                    continue


def _refuse(path, layers):
    found = candidates(layers)
    counts = ", ".join(f"{sum(l.kind == kind for l in layers)} {noun}" for kind, noun in
                       (("conv", "convs"), ("depthwise", "depthwise convs"), ("bn", "BatchNorms"), ("dense", "dense"))
                       if kind != "depthwise" or any(l.kind == kind for l in layers))
    if not found:
        raise WeightsRefusal(path, f"a tf.keras TF-format checkpoint ({counts}) whose object tree fits no described "
                                 f"network; give the model's code (--model) to read it")
    assign(found[0], layers, path)          # a tree that cannot tell parallel twins apart is refused as such
    names = sorted({d.name for d in found})
    unrecorded = [name for name, _, effect in found[0].knobs() if effect in ("output", "head")]
    several = f" (and {len(found) - 1} other tensor layouts)" if len(found) > 1 else ""
    raise WeightsRefusal(path, f"a tf.keras TF-format checkpoint: its object tree and shapes fit {', '.join(names)} "
                             f"({found[0].summary()}){several}, but a checkpoint does not record "
                             f"{', '.join(unrecorded)}, which decide what it computes: give the model's code "
                             f"(--model PATH.py:NAME) or the description (--arch {names[0]} --variant ...)")
