"""TF-format checkpoints of tf.keras 2.x without the model's code: the object tree and the shapes.

A checkpoint written by `model.save_weights('x.ckpt')` or `ModelCheckpoint`
records the objects the program tracked (`blocks/layer_with_weights-0/c1/
kernel`) and each variable's shape, not the forward pass: not the strides,
paddings, activations, BatchNorm epsilon or where the adds are. So:

- the tree and the shapes determine which canonical tensor each variable is
  once the description is given (`arch`): the layers are read in the order the
  tree records them (depth first, each object once), a unit's layers follow
  each other (true of a subclassed unit, which is one object, and of a
  functional model, whose layers Keras orders by depth), within a unit layers
  of equal shape are taken in recorded order, a grouped conv is the run of
  per-group convs the code created for it, and a BatchNorm belongs to the
  earliest conv recorded before it that has none yet;
- without a description, the tensors alone are matched against every
  description they could be; the read is refused with one line naming what
  they determine and what a checkpoint cannot record. The model's code
  (`--model`, slimcompat.structure.model_weights.load_file) reads such a
  checkpoint exactly.

`is_object_checkpoint` tells these checkpoints from TF1 name-based (slim)
ones from the index file alone, without TensorFlow.
"""

import dataclasses
import itertools
import pathlib

from slimcompat.arch import DEPTHS, Inception10, ResNet
from slimcompat.arch.ops import BN_PARAMS
from slimcompat.arch.conventions import INPUTS
from slimcompat.errors import MappingError, SlimcompatError, WeightsError, WeightsRefusal

__all__ = ["is_object_checkpoint", "read", "layers_of", "Layer", "candidates"]

_GRAPH_KEY = b"_CHECKPOINTABLE_OBJECT_GRAPH"
# A checkpoint records tensors; these knobs change what they compute and are never in it.
_UNRECORDED = ("stem_stride", "stem_pool", "stage_strides", "stride_placement", "padding", "shortcut_act",
               "residual_act", "add_act", "activation", "bn_epsilon", "dropout", "softmax")


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
    """One weighted object of the tree: a conv, a BatchNorm or a dense layer, and its variables by role."""

    kind: str
    path: str
    variables: dict           # role -> CheckpointVariable

    @property
    def shape(self):
        return self.variables["kernel"].shape if "kernel" in self.variables else self.variables["gamma"].shape

    @property
    def bias(self):
        return "bias" in self.variables


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
    if roles == set(BN_PARAMS) and len({v.shape for v in own.values()}) == 1:
        return Layer("bn", where, own)
    if "kernel" in roles and roles <= {"kernel", "bias"}:
        rank = len(own["kernel"].shape)
        if rank in (2, 4):
            return Layer("conv" if rank == 4 else "dense", where, own)
    raise WeightsError(ckpt.path, f"object {where} holds {', '.join(sorted(own))}: not a conv, BatchNorm or dense "
                                  f"layer of a described network")


def read(path, arch=None):
    """Canonical Weights of a tf.keras TF-format checkpoint given its description `arch` (see module doc)."""
    from slimcompat.weights.canonical import Weights, sha256
    from slimcompat.weights.metadata import Metadata
    from slimcompat.weights.object_checkpoint import ObjectCheckpoint
    ckpt = ObjectCheckpoint(path)
    layers = layers_of(ckpt)
    if not hasattr(arch, "plan"):
        if arch is not None:
            from slimcompat.arch import describe
            arch = describe(arch)
        else:
            _refuse(ckpt.path, layers)
    assignment = assign(arch, layers, ckpt.path)
    tensors, sources = {}, {}
    from slimcompat.arch.layout import merge_groups
    for name, variables in assignment.items():
        values = [ckpt.read(v) for v in variables]
        tensors[name] = merge_groups(values) if len(values) > 1 else values[0]
        sources[name] = variables[0].name if len(variables) == 1 else \
            f"{variables[0].name} .. {variables[-1].name} ({len(variables)} groups)"
    prefix = pathlib.Path(ckpt.path)
    files = sorted([p for p in prefix.parent.iterdir() if p.name.startswith(prefix.name + ".")],
                   key=lambda p: p.name)
    meta = Metadata(arch, INPUTS["unit"], source_kind="tf-object-checkpoint", source_file=prefix.name,
                    source_sha256=sha256(*files))
    return Weights(tensors, meta, sources).validate(str(path))


# ----------------------------------------------------------------- assignment

def _units(description):
    """[(unit, [(canonical layer, kind, shape, groups, has bias)])] in plan order; stem and head are units."""
    from slimcompat.arch import ops
    out, current = [], None
    for op in ops.parametric(description.plan()):
        layer = op.layer
        unit = "/".join(layer.split("/")[:2]) if layer.startswith("stage") else \
            ("stem" if layer.startswith("stem") else "head")
        if current is None or current[0] != unit:
            current = (unit, [])
            out.append(current)
        if isinstance(op, ops.Conv):
            current[1].append((layer, "conv", op.shape, op.groups, op.bias))
        elif isinstance(op, ops.BatchNorm):
            current[1].append((layer, "bn", (op.channels,), 1, False))
        else:
            current[1].append((layer, "dense", (op.in_features, op.units), 1, op.bias))
    return out


def assign(description, layers, where):
    """{canonical tensor: (CheckpointVariable, ...)} for `layers` read as `description`; MappingError otherwise."""
    units = _units(description)
    cursor, out = 0, {}
    for unit, canonical in units:
        size = sum(groups for _, _, _, groups, _ in canonical)
        chunk = layers[cursor:cursor + size]
        cursor += size
        if len(chunk) < size:
            raise MappingError(where, missing=[f"{unit}: the tree has {len(chunk)} more layers, the {description.name} "
                                               f"needs {size} there"])
        out.update(_assign_unit(description, unit, canonical, chunk, where))
    if cursor < len(layers):
        raise MappingError(where, unexpected=[layer.path for layer in layers[cursor:cursor + 4]])
    return out


def _assign_unit(description, unit, canonical, chunk, where):
    convs = [c for c in canonical if c[1] in ("conv", "dense")]
    bns = [c for c in canonical if c[1] == "bn"]
    taken, owner, out = set(), {}, {}
    queue = list(chunk)
    position = {}
    while queue:
        layer = queue.pop(0)
        if layer.kind == "bn":
            continue
        match = None
        for name, kind, shape, groups, bias in convs:
            if name in taken or kind != layer.kind or bias != layer.bias:
                continue
            if groups == 1 and tuple(layer.shape) == tuple(shape):
                match = (name, [layer])
                break
            per_group = (*shape[:-1], shape[-1] // groups)
            run = [layer] + [q for q in queue[:groups - 1]]
            if groups > 1 and len(run) == groups and all(q.kind == "conv" and tuple(q.shape) == per_group
                                                         and q.bias == bias for q in run):
                for q in run[1:]:
                    queue.remove(q)
                match = (name, run)
                break
        if match is None:
            raise MappingError(f"{where} as {description.name}", unexpected=[f"{layer.path} {tuple(layer.shape)} "
                                                                            f"(no {unit} layer of that shape)"])
        name, run = match
        taken.add(name)
        position[name] = chunk.index(run[0])
        for role in ("kernel", "bias"):
            if role in run[0].variables:
                out[f"{name}/{role}"] = tuple(q.variables[role] for q in run)
    for layer in (layer for layer in chunk if layer.kind == "bn"):
        here = chunk.index(layer)
        choices = [b for b in bns if b[0] not in owner and b[2] == tuple(layer.shape)]
        owned = sorted((c for c in choices if c[0].rsplit("/", 1)[0] in position
                        and position[c[0].rsplit("/", 1)[0]] < here),
                       key=lambda c: position[c[0].rsplit("/", 1)[0]])
        free = [c for c in choices if c[0].rsplit("/", 1)[0] not in position]
        pick = owned[0] if owned else (free[0] if free else None)
        if pick is None:
            raise MappingError(f"{where} as {description.name}",
                               unexpected=[f"{layer.path} ({layer.shape[0]} channels: no {unit} BatchNorm left)"])
        owner[pick[0]] = layer
        for role in BN_PARAMS:
            out[f"{pick[0]}/{role}"] = (layer.variables[role],)
    missing = [name for name, *_ in canonical if name not in taken and name not in owner]
    if missing:
        raise MappingError(f"{where} as {description.name}", missing=missing)
    return out


# ----------------------------------------------------------------- without a description

def candidates(layers):
    """Descriptions whose canonical tensors the tree's layers are (in the order read), tensors first, knobs unset."""
    convs = [layer for layer in layers if layer.kind == "conv"]
    dense = [layer for layer in layers if layer.kind == "dense"]
    if not convs:
        return []
    stem = convs[0].shape
    classes = dense[-1].shape[1] if dense else None
    found, seen = [], set()
    for description in _guesses(stem, classes, convs, len(layers)):
        if sum(groups for _, entries in _units(description) for *_, groups, _ in entries) != len(layers):
            continue
        key = tuple(description.tensors().items())
        if key in seen:
            continue
        try:
            assign(description, layers, "")
        except SlimcompatError:
            continue
        seen.add(key)
        found.append(description)
    return found


def _guesses(stem, classes, convs, count):
    groups = {1} | {g for g, _ in _grouped(convs)}
    bias = convs[0].bias
    for depth, preact, conv_bias, projection, shortcut_bn, g, strides in itertools.product(
            DEPTHS, (False, True), (bias, not bias), ("channels", "first", "shape", "all"), (True, False),
            sorted(groups), ((2, 2, 2, 1), (1, 2, 2, 2), (2, 2, 2, 2))):
        kind = DEPTHS[depth][0]
        if kind == "basic" and g > 1:
            continue
        knobs = dict(depth=depth, preact=preact, conv_bias=conv_bias, projection=projection, shortcut_bn=shortcut_bn,
                     stem_kernel=stem[0], stem_width=stem[3], num_classes=classes, stage_strides=strides)
        if g > 1:
            width = min(w for h, w in _grouped(convs) if h == g)
            knobs.update(groups=g, width_per_group=width * 64 // (64 * g))
        try:
            yield ResNet(**knobs)
        except SlimcompatError:
            continue
    for blocks, per, conv_bias in itertools.product(range(1, 5), range(1, 4), (bias,)):
        try:
            yield Inception10(num_blocks=blocks, init_ch=stem[3], units_per_block=per, conv_bias=conv_bias,
                              num_classes=classes)
        except SlimcompatError:
            continue


def _grouped(convs):
    """{(groups, width)} a grouped 3x3 conv of the tree may have: one kernel [3, 3, width / g, width], or a run
    of g equal per-group kernels [3, 3, c, c'] (width g * c')."""
    found = set()
    for c in convs:
        if c.shape[:2] == (3, 3) and c.shape[3] > c.shape[2] and c.shape[3] % c.shape[2] == 0:
            found.add((c.shape[3] // c.shape[2], c.shape[3]))
    run = 1
    for previous, c in zip(convs, convs[1:] + [None]):
        if c is not None and c.shape[:2] == (3, 3) and c.shape == previous.shape:
            run += 1
            continue
        if run > 1 and previous.shape[:2] == (3, 3):
            found.add((run, run * previous.shape[3]))
        run = 1
    return found


def _refuse(path, layers):
    found = candidates(layers)
    counts = f"{sum(l.kind == 'conv' for l in layers)} convs, {sum(l.kind == 'bn' for l in layers)} BatchNorms, " \
             f"{sum(l.kind == 'dense' for l in layers)} dense"
    if not found:
        raise WeightsRefusal(path, f"a tf.keras TF-format checkpoint ({counts}) whose object tree fits no described "
                                 f"network; give the model's code (--model) to read it")
    names = sorted({d.name for d in found})
    unrecorded = [k for k in _UNRECORDED if any(k == name for name, *_ in found[0].knobs())]
    structure = _what_it_is(found[0])
    several = f" (and {len(found) - 1} other tensor layouts)" if len(found) > 1 else ""
    raise WeightsRefusal(path, f"a tf.keras TF-format checkpoint: its object tree and shapes fit {', '.join(names)} "
                             f"({structure}){several}, but a checkpoint does not record {', '.join(unrecorded)}, "
                             f"which decide what it computes: give the model's code (--model PATH.py:NAME) or the "
                             f"description (--arch {names[0]} --variant ...)")


def _what_it_is(description):
    if description.family == "inception10":
        return f"{description.num_blocks} stages of {description.units_per_block} units from {description.init_ch} " \
               f"channels, {description.num_classes} classes"
    units = "-".join(map(str, description.units))
    bias = "conv biases" if description.conv_bias else "no conv biases"
    return (f"{description.block} units {units}, {description.stem_kernel}x{description.stem_kernel} stem of "
            f"{description.stem_width}, {bias}, projection {description.projection}, "
            f"{description.num_classes or 'no'} classes")
