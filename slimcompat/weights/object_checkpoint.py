"""TF-format (object-based) checkpoints, read through their object graph.

TF 2 and tf.keras 2.x write object-based checkpoints: `model.save_weights('x.ckpt')`,
`ModelCheckpoint(save_weights_only=True)` to a non-.h5 path, `tf.train.Checkpoint`.
Their tensor keys (`blocks/layer_with_weights-0/c1/kernel/.ATTRIBUTES/VARIABLE_VALUE`)
are paths through the objects the saving program tracked, and the checkpoint
stores that graph itself (`_CHECKPOINTABLE_OBJECT_GRAPH`): nodes, named edges to
child objects, and each node's saved values. Whoever loads such a file into
another program (a Keras 3 model, a converter that recognises the user's model)
must walk that graph, so this module turns it into plain data:

    ckpt = ObjectCheckpoint("checkpoint/ResNet18.ckpt")
    ckpt.children(0)                        # [("c1", 2), ("blocks", 5), ...] edges of the root
    for v in ckpt.variables():              # everything but the optimizer's subtree
        v.path, v.shape, v.dtype, v.key     # ("blocks", "layer_with_weights-0", "c1", "kernel"), ...
    v.full_name                         # "conv2d/kernel": the variable's name when it was saved
    ckpt.read(v)                            # the numpy value

It only reads: TensorFlow's own reader checks every tensor's CRC as it reads.
Name-based TF1 checkpoints (Saver) have no object graph and are refused here;
slimcompat.weights.slim_checkpoint reads those.
"""

import collections
import dataclasses
import os
from typing import Tuple

from slimcompat.errors import WeightsError
from slimcompat.weights.slim_checkpoint import get_tensor, open_reader

__all__ = ["ObjectCheckpoint", "CheckpointVariable", "GRAPH_KEY", "TRAINING_STATE"]

GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"
# Edges under which a training program keeps state that is not the model's weights.
TRAINING_STATE = ("optimizer", "save_counter")
_VALUE = "VARIABLE_VALUE"


@dataclasses.dataclass(frozen=True)
class CheckpointVariable:
    """One saved variable: where it sits in the object graph and how it is stored."""

    node: int
    path: Tuple[str, ...]
    key: str
    shape: Tuple[int, ...]
    dtype: str
    full_name: str = ""       # the variable's own name when saved (`conv_dw_1/depthwise_kernel`), if recorded

    @property
    def name(self):
        """The object path as one string (`blocks/layer_with_weights-0/c1/kernel`)."""
        return "/".join(self.path)


class ObjectCheckpoint:
    """The object graph and values of a TF-format checkpoint (see the module doc).

    `path` is a checkpoint prefix (`x.ckpt` for `x.ckpt.index`) or a folder
    holding a `checkpoint` state file. WeightsError if it cannot be read or has
    no object graph.
    """

    def __init__(self, path):
        self.path = _prefix(path)
        self._reader, shapes = open_reader(self.path)
        if GRAPH_KEY not in shapes:
            raise WeightsError(path, "a name-based (TF1 Saver) checkpoint: it has no object graph to "
                                     "load by; read it with slimcompat.weights.slim_checkpoint")
        from tensorflow.core.protobuf import trackable_object_graph_pb2
        graph = trackable_object_graph_pb2.TrackableObjectGraph()
        try:
            graph.ParseFromString(get_tensor(self._reader, GRAPH_KEY, str(path)))
        except Exception as exc:
            raise WeightsError(path, f"unreadable object graph ({type(exc).__name__}: {exc})") from None
        _check_graph(graph.nodes, path)
        dtypes = self._reader.get_variable_to_dtype_map()
        self._nodes = graph.nodes
        self._values = {}
        for node_id, node in enumerate(graph.nodes):
            for attribute in node.attributes:
                if attribute.name == _VALUE and attribute.checkpoint_key in shapes:
                    key = attribute.checkpoint_key
                    self._values[node_id] = (key, tuple(shapes[key]), dtypes[key].name, attribute.full_name)
        self._paths = self._first_paths()
        self._holds = {}

    def __len__(self):
        return len(self._nodes)

    def children(self, node):
        """[(local name, child node)] of `node`, in the order the graph lists them."""
        return [(c.local_name, c.node_id) for c in self._nodes[node].children]

    def variable(self, node):
        """The CheckpointVariable saved at `node`, or None if the node holds no value."""
        if node not in self._values:
            return None
        key, shape, dtype, full_name = self._values[node]
        return CheckpointVariable(node, self._paths.get(node, ()), key, shape, dtype, full_name)

    def variables(self, root=0, skip=TRAINING_STATE):
        """Every variable reachable from `root` without following an edge named in `skip`."""
        found, seen, queue = [], {root}, collections.deque([root])
        while queue:
            node = queue.popleft()
            variable = self.variable(node)
            if variable is not None:
                found.append(variable)
            for name, child in self.children(node):
                if name not in skip and child not in seen:
                    seen.add(child)
                    queue.append(child)
        return found

    def holds_values(self, node, skip=TRAINING_STATE):
        """Whether any variable is reachable from `node` (edges in `skip` not followed)."""
        key = (node, tuple(skip))
        if key not in self._holds:
            self._holds[key] = bool(self.variables(node, skip))
        return self._holds[key]

    def path_of(self, node):
        """The first object path to `node` from the root (breadth first), as a tuple of edge names."""
        return self._paths.get(node, ())

    def resolve(self, path):
        """The node at object path `path` (a tuple of edge names or a '/'-joined string)."""
        parts = tuple(p for p in path.split("/") if p) if isinstance(path, str) else tuple(path)
        node = 0
        for part in parts:
            edges = dict(self.children(node))
            if part not in edges:
                raise WeightsError(self.path, f"no object {'/'.join(parts)} in the checkpoint "
                                              f"(at {part!r}; found {', '.join(sorted(edges)) or 'nothing'})")
            node = edges[part]
        return node

    def read(self, variable):
        """The value of a CheckpointVariable (or of a checkpoint key) as a numpy array."""
        key = variable.key if isinstance(variable, CheckpointVariable) else variable
        return get_tensor(self._reader, key, str(self.path))

    def _first_paths(self):
        """{node: the first object path to it}, breadth first from the root, as TensorFlow names keys."""
        paths, queue = {0: ()}, collections.deque([0])
        while queue:
            node = queue.popleft()
            for name, child in self.children(node):
                if child not in paths:
                    paths[child] = paths[node] + (name,)
                    queue.append(child)
        return paths


def _check_graph(nodes, path):
    """A root, and every edge to a node that exists: a crafted graph is one line, not an IndexError later."""
    if not nodes:
        raise WeightsError(path, "its object graph has no nodes (not even the root)")
    for node_id, node in enumerate(nodes):
        for child in node.children:
            if not 0 <= child.node_id < len(nodes):
                raise WeightsError(path, f"its object graph is corrupt: node {node_id} has child {child.local_name!r} "
                                         f"at node {child.node_id}, the graph has nodes 0..{len(nodes) - 1}")


def _prefix(path):
    path = os.fspath(path)
    if os.path.isdir(path):
        import tensorflow as tf
        latest = tf.train.latest_checkpoint(path)
        if latest is None:
            raise WeightsError(path, "a folder without a checkpoint state file naming a checkpoint")
        return latest
    return path
