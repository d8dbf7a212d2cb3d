"""What a program is written against, read from its source: TF1 or TF2, Keras 2 or Keras 3.

`slimcompat run` gives a TF1 program the v1 API in graph mode and leaves a TF2
program eager; it gives Keras-era code the Keras 2 it was written for (tf-keras)
and Keras 3 code Keras 3. The Keras choice must be made before TensorFlow is
imported (TensorFlow fixes what `tf.keras` is at its import), so it is made from
the source alone: the AST of the launched file and of the local modules it
imports (files beside it, as `import x` would find them), never by running them.

Evidence, each with file and line (`tf.placeholder at train.py:12`):

- TF1: `tensorflow.contrib`, tf_slim, the Dataset methods TF 2 dropped
  (`dataset.make_one_shot_iterator()`), and any `tf.X` that TensorFlow 2's API
  lacks but `tf.compat.v1` has (`tf.Session`, `tf.train.Saver`, `tf.app.flags`),
  checked against the installed TensorFlow once it is imported; through a
  `tf.compat.v1` name only the graph-building constructs in GRAPH_ONLY count
  (TF2 programs call `tf.compat.v1.ConfigProto` and stay eager).
- Keras 2: the modules Keras dropped (slimcompat.keras2.modules), `tensorflow.python.keras`,
  weight paths Keras 3 refuses (`.ckpt`, `.h5` in save_weights/ModelCheckpoint),
  layers called without an argument Keras 3 requires (`AveragePooling2D()`),
  `fit_generator` and friends, TF1 session handling in the Keras backend,
  the optimizers' `lr=` and `decay=` (Keras 2.0-2.2 spelled the learning rate
  `lr`; tf-keras still takes both, Keras 3 refuses them),
  Keras 1 arguments and spellings Keras 2.0-2.3 still took
  (slimcompat.keras2.keras1_args: `nb_epoch=`, `border_mode=`, `Convolution2D`),
  and Keras 1's `merge`/`Merge` called through a keras binding
  (slimcompat.keras2.keras1_merge).
- TF1 graph mode and Keras 2 both: the Keras backend's graph constructs
  (`K.gradients`, `K.set_learning_phase`, `K.update`, `K.get_session`, ...),
  as Keras 2.2's deep_dream.py and conv_filter_visualization.py used them; under
  TF 2's eager execution they fail or mean something else.
- Keras 2 too: tf.estimator (`tf.estimator`, `tensorflow_estimator`), which
  TensorFlow dropped with the move to Keras 3; its premade estimators
  (`tf.estimator.DNNClassifier`, `LinearRegressor`, ...) and feature columns
  (`tf.feature_column`) are built on tf.keras 2 (`DenseFeatures`), so a
  migrated file that uses them keeps Keras 2 too.
- Keras 2 for `migrate` only: `tf.train.Checkpoint(...).restore()` in a file
  that subclasses `tf.keras.Model` or `Layer`. The era restored before the
  first call built the model, and tf-keras assigns each variable as it is made;
  Keras 3 silently leaves those variables at their initial values.
- Keras 3: `keras.ops`, `keras.config`, `keras.random`, `keras.src`, `keras_core`,
  and `.weights.h5` / `.keras` weight paths.
- TensorFlow uses inside a top-level function of the launched file that the
  file never names are not evidence: that code never runs.
- Without either, `tf.keras` means Keras 2 (it was, up to TF 2.15) and
  standalone `keras` means the installed Keras 3.
"""

import ast
import dataclasses
import importlib.util
import os
from typing import Dict, List, Optional

from slimcompat.keras2.keras1_args import KERAS1_SPELLINGS, OPTIMIZERS, POSITIONAL_KERNEL, ambiguity, keras1_keywords
from slimcompat.keras2.keras1_merge import CALLEES as MERGE_CALLEES
from slimcompat.keras2.modules import KERAS3_REQUIRED, LEGACY, keras3_refused
from slimcompat.legacy.numpy_names import ALIASES as NUMPY_ALIASES

__all__ = ["Evidence", "Program", "analyse", "analyse_tree", "module_file", "name_parts", "dotted_name",
           "GRAPH_ONLY"]

# Through tf.compat.v1, only these say "this program builds a TF1 graph".
GRAPH_ONLY = frozenset({
    "placeholder", "placeholder_with_default", "get_variable", "variable_scope", "global_variables_initializer",
    "local_variables_initializer", "initialize_all_variables", "tables_initializer", "layers", "train.Saver",
    "train.MonitoredTrainingSession", "train.start_queue_runners", "train.Supervisor", "get_collection",
    "add_to_collection", "GraphKeys", "disable_eager_execution", "disable_v2_behavior",
})
_KERAS3_MODULES = ("keras.ops", "keras.config", "keras.random", "keras.src", "keras.tree", "keras.export",
                   "keras_core")
_KERAS2_CALLS = frozenset({"fit_generator", "evaluate_generator", "predict_generator"})
# Methods only TF1's Dataset had (TF 2: tf.compat.v1.data.make_one_shot_iterator(dataset)).
_TF1_DATASET_METHODS = frozenset({"make_one_shot_iterator", "make_initializable_iterator"})
_KERAS2_BACKEND = ("keras.backend.get_session", "keras.backend.set_session", "tensorflow.keras.backend.get_session",
                   "tensorflow.keras.backend.set_session", "tensorflow.python.keras")
# Keras backend functions that build or run a TF1 graph (BACKEND_GRAPH under any of _BACKENDS).
BACKEND_GRAPH = frozenset({"gradients", "set_learning_phase", "learning_phase", "get_session", "set_session",
                           "placeholder", "update", "update_add", "update_sub"})
_BACKENDS = ("keras.backend", "tensorflow.keras.backend", "tensorflow.compat.v1.keras.backend", "tf_keras.backend")
# tf.estimator: gone with Keras 3, its premade estimators built on tf.keras 2.
_ESTIMATOR = ("tensorflow.estimator", "tensorflow.compat.v1.estimator", "tensorflow.compat.v2.estimator",
              "tensorflow_estimator")
# Built on tf.keras 2's layers, with no Keras 3 counterpart: premade estimators and feature columns.
_PREMADE = frozenset({f"{kind}{task}" for kind in ("Baseline", "DNN", "Linear", "DNNLinearCombined", "BoostedTrees")
                      for task in ("Classifier", "Regressor", "Estimator")})
_FEATURE_COLUMNS = ("tensorflow.feature_column", "tensorflow.compat.v1.feature_column",
                    "tensorflow.compat.v2.feature_column", "tensorflow.keras.layers.DenseFeatures",
                    "tensorflow.compat.v1.keras.layers.DenseFeatures", "tensorflow_estimator.python.estimator.canned")
_CHECKPOINT = ("tensorflow.train.Checkpoint", "tensorflow.compat.v2.train.Checkpoint")
_SUBCLASSED = (".Model", ".Layer")
_WEIGHT_CALLS = frozenset({"save_weights", "load_weights", "ModelCheckpoint"})
_MODEL_CALLS = frozenset({"save", "load_model"})
_LEGACY_WEIGHTS = (".ckpt", ".h5", ".hdf5")
_KERAS3_WEIGHTS = (".weights.h5", ".keras")
_TF = "tensorflow"
_V1 = "tensorflow.compat.v1"
_MAX_FILES = 200


@dataclasses.dataclass(frozen=True)
class Evidence:
    """One construct that decided something, and where it is."""

    construct: str
    path: str
    line: int

    def __str__(self):
        return f"{self.construct} at {os.path.basename(self.path)}:{self.line}"


@dataclasses.dataclass
class Program:
    """What the source says; `tf1()` needs TensorFlow imported, the rest does not."""

    files: List[str] = dataclasses.field(default_factory=list)
    tf_names: List[tuple] = dataclasses.field(default_factory=list)  # (dotted name, Evidence)
    tf1_imports: List[Evidence] = dataclasses.field(default_factory=list)
    keras2: List[Evidence] = dataclasses.field(default_factory=list)
    keras3: List[Evidence] = dataclasses.field(default_factory=list)
    tf_keras: List[Evidence] = dataclasses.field(default_factory=list)
    keras: List[Evidence] = dataclasses.field(default_factory=list)
    keras1: List[Evidence] = dataclasses.field(default_factory=list)
    # Keras 2 constructs with no Keras 3 equivalent (TF1 graph backend functions, graph tensors as a model's
    # input or target, premade estimators and feature columns, a Checkpoint restored into a subclassed model
    # before it is built): a migrated file keeps Keras 2
    # (slimcompat.migrate.keras2_kept).
    keras3_cannot: List[Evidence] = dataclasses.field(default_factory=list)
    # (path, first line, last line, callee, Keras 1 spelling, the numbers if all are int literals)
    kernel_calls: List[tuple] = dataclasses.field(default_factory=list)
    eager: Optional[Evidence] = None
    unreached: List[Evidence] = dataclasses.field(default_factory=list)  # TensorFlow uses in functions never called
    # NumPy's removed aliases the source uses (slimcompat.legacy.numpy_names): {alias: its first use}
    numpy_aliases: Dict[str, Evidence] = dataclasses.field(default_factory=dict)

    def kernel_sites(self):
        """(file, line) of the calls `Conv2D(filters, rows, cols)` that mean Keras 1's rows x cols kernel.

        A Keras 1 spelling (`Convolution2D`) always does; `Conv2D` does in a
        program that uses other Keras 1 arguments, and otherwise keeps tf.keras'
        reading (kernel, strides).
        """
        return frozenset((call[0], line) for call in self.kernel_calls if call[4] or self.keras1
                         for line in range(call[1], call[2] + 1))

    def ambiguous_kernels(self):
        """One line for each literal `Conv2D(f, a, b)` left to tf.keras' reading (kernel a, strides b)."""
        if self.keras1:
            return []
        return [f"{ambiguity(callee, numbers)} ({os.path.basename(path)}:{first})"
                for path, first, _, callee, spelled, numbers in self.kernel_calls if numbers and not spelled]

    def tf1(self, tf2_api=None, tf1_api=None):
        """Evidence that the program is TF1 code, checked against the installed TensorFlow."""
        if tf2_api is None:
            import tensorflow as tf2_api
            import tensorflow.compat.v1 as tf1_api
        found = list(self.tf1_imports)
        for name, evidence in self.tf_names:
            if _is_tf1(name, tf2_api, tf1_api):
                found.append(evidence)
        return found

    def keras_version(self):
        """("2" or "3", the Evidence or reason that decided it)."""
        if self.keras3 and not self.keras2:
            return "3", self.keras3[0]
        if self.keras2 and not self.keras3:
            return "2", self.keras2[0]
        if self.keras2:
            module_needs_3 = [e for e in self.keras3 if e.construct.startswith(_KERAS3_MODULES)]
            return ("3", module_needs_3[0]) if module_needs_3 else ("2", self.keras2[0])
        if self.tf_keras:
            return "2", self.tf_keras[0]
        if self.keras:
            # Standalone `keras` with nothing of Keras 3: code of the Keras 2.x years (tf-keras keeps that API);
            # a Keras 3 program names keras.ops, keras.config, .keras or .weights.h5 files and so on.
            first = self.keras[0]
            return "2", Evidence(f"{first.construct} and nothing of Keras 3", first.path, first.line)
        return "3", None


def analyse(path, follow_imports=True):
    """Program analysis of the file at `path` and, if `follow_imports`, of its local imports."""
    program = Program()
    root = os.path.dirname(os.path.abspath(path))
    queue, seen = [os.path.abspath(path)], set()
    while queue and len(program.files) < _MAX_FILES:
        current = queue.pop(0)
        if current in seen:
            continue
        seen.add(current)
        try:
            with open(current, "rb") as handle:
                tree = ast.parse(handle.read(), current)
        except (OSError, SyntaxError, ValueError):
            continue
        program.files.append(current)
        local = _Scan(current, program).run(tree)
        if follow_imports:
            queue += [f for f in (_local_file(root, current, m) for m in local) if f and f not in seen]
    return program


def analyse_tree(tree, filename="<string>"):
    """Program analysis of one parsed file (what `slimcompat migrate` asks about each file)."""
    program = Program(files=[filename])
    _Scan(filename, program).run(tree)
    return program


def _local_file(root, current, module):
    """The file `import module` finds beside the program (root) or beside `current`, or None."""
    level, name = module
    bases = [os.path.dirname(current)] if level else [root, os.path.dirname(current)]
    if level > 1:
        bases = [os.path.abspath(os.path.join(bases[0], *[".."] * (level - 1)))]
    parts = [p for p in name.split(".") if p]
    for base in dict.fromkeys(bases):
        for candidate in (os.path.join(base, *parts) + ".py", os.path.join(base, *parts, "__init__.py")):
            if parts and os.path.isfile(candidate):
                return candidate
    return None


class _Scan(ast.NodeVisitor):
    """One file: its bindings of tensorflow and keras names, then every use of them."""

    def __init__(self, path, program):
        self.path, self.program = path, program
        self.bindings = {}
        self.strings = {}
        self.local = []
        self.dead = frozenset()
        self.in_dead = False

    def run(self, tree):
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    self.bindings[alias.asname or alias.name.split(".")[0]] = (
                        alias.name if alias.asname else alias.name.split(".")[0])
                    self._name(alias.name, node, f"import {alias.name}")
                    self.local.append((0, alias.name))
            elif isinstance(node, ast.ImportFrom):
                module = node.module or ""
                self.local.append((node.level, module))
                for alias in node.names:
                    full = f"{module}.{alias.name}" if module else alias.name
                    if not node.level:
                        self.bindings[alias.asname or alias.name] = full
                        self._name(full, node, f"from {module} import {alias.name}")
                    if node.level or module:
                        self.local.append((node.level, full))
            elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) \
                    and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                self.strings[node.targets[0].id] = node.value.value
        if not self.program.files[:-1]:
            self.dead = _never_called(tree)
        self._deferred_restore(tree)
        self.visit(tree)
        return self.local

    def _deferred_restore(self, tree):
        """A tf.train.Checkpoint restored in a file with tf.keras subclassed models or layers: the era restored
        before the first call built them, and Keras 3 silently restores no variable made after the restore."""
        def full(node):
            return (self._dotted(node) or ("",))[0]
        nodes = list(ast.walk(tree))
        if not any(full(base).startswith(_TF + ".") and "keras" in full(base) and full(base).endswith(_SUBCLASSED)
                   for node in nodes if isinstance(node, ast.ClassDef) for base in node.bases):
            return
        made = {id(node) for node in nodes if isinstance(node, ast.Call) and full(node.func).endswith(_CHECKPOINT)}
        names = {t.id for node in nodes if isinstance(node, ast.Assign) and id(node.value) in made
                 for t in node.targets if isinstance(t, ast.Name)}
        for node in nodes:
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "restore" \
                    and (id(node.func.value) in made or getattr(node.func.value, "id", None) in names):
                self.program.keras3_cannot.append(self._evidence(
                    "tf.train.Checkpoint.restore() of a subclassed tf.keras model", node))
                return

    def _evidence(self, construct, node):
        return Evidence(construct, self.path, getattr(node, "lineno", 0))

    def _name(self, full, node, spelled):
        """Classify one dotted name the source reaches."""
        program, evidence = self.program, self._evidence(spelled, node)
        root = full.split(".")[0]
        if self.in_dead and root == _TF and not isinstance(node, (ast.Import, ast.ImportFrom)):
            program.unreached.append(evidence)
        elif full == "tensorflow.contrib" or full.startswith(("tensorflow.contrib.", "tensorflow.compat.v1.contrib")):
            program.tf1_imports.append(evidence)
        elif root == "tf_slim":
            program.tf1_imports.append(evidence)
        elif full.startswith(_V1 + ".") and _graph_only(full[len(_V1) + 1:]):
            program.tf1_imports.append(evidence)
        elif root == _TF and not full.startswith((_TF + ".compat", _TF + ".keras", _TF + ".python")) and full != _TF:
            program.tf_names.append((full, evidence))
        if root == "numpy" and full.count(".") == 1 and full[len("numpy."):] in NUMPY_ALIASES:
            program.numpy_aliases.setdefault(full[len("numpy."):], evidence)
        if full.startswith(_V1 + ".enable_eager_execution") or full == _TF + ".enable_eager_execution":
            program.eager = program.eager or evidence
        backend, _, function = full.rpartition(".")
        if backend in _BACKENDS and function in BACKEND_GRAPH:
            program.tf1_imports.append(evidence)
            program.keras2.append(evidence)
            program.keras3_cannot.append(evidence)
        if any(full == m or full.startswith(m + ".") for m in _KERAS3_MODULES):
            program.keras3.append(evidence)
        if _under(full, _FEATURE_COLUMNS) or (_under(full, _ESTIMATOR) and full.split(".")[-1] in _PREMADE):
            program.keras2.append(evidence)
            program.keras3_cannot.append(evidence)
        if any(full == m or full.startswith(m + ".") for m, row in LEGACY.items() if not row.partial) \
                or full.startswith(_KERAS2_BACKEND) or _under(full, _ESTIMATOR):
            program.keras2.append(evidence)
        if full.startswith(("tensorflow.keras", "tensorflow.compat.v1.keras", "tensorflow.compat.v2.keras")):
            program.tf_keras.append(evidence)
        elif root == "keras":
            program.keras.append(evidence)

    def _dotted(self, node):
        """(dotted name through the file's bindings, spelled) for a Name/Attribute chain, or None."""
        parts = name_parts(node)
        if parts is None or parts[0] not in self.bindings:
            return None
        return ".".join([self.bindings[parts[0]], *parts[1:]]), ".".join(parts)

    def visit_FunctionDef(self, node):
        outer, self.in_dead = self.in_dead, self.in_dead or node in self.dead
        self.generic_visit(node)
        self.in_dead = outer

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Attribute(self, node):
        found = self._dotted(node)
        if found is not None:
            self._name(found[0], node, found[1])
        else:
            self.generic_visit(node)

    def visit_Call(self, node):
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if name in ("hasattr", "getattr") and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant) \
                and isinstance(node.args[1].value, str):
            found = self._dotted(node.args[0])
            if found is not None:
                self._name(f"{found[0]}.{node.args[1].value}", node, f"{found[1]}.{node.args[1].value}")
        if name in _KERAS2_CALLS:
            self.program.keras2.append(self._evidence(f".{name}()", node))
        if name in _TF1_DATASET_METHODS and isinstance(func, ast.Attribute):
            self.program.tf1_imports.append(self._evidence(f".{name}()", node))
        if name in OPTIMIZERS:
            refused = sorted({"lr", OPTIMIZERS[name]} & {k.arg for k in node.keywords})
            if refused:
                self.program.keras2.append(self._evidence(f"{name}({refused[0]}=...)", node))
        if name:
            self._keras1(name, node)
        if name and node.keywords:
            dotted = self._dotted(func)
            refused = keras3_refused(name, [k.arg for k in node.keywords if k.arg], dotted[0] if dotted else "")
            if refused:
                self.program.keras2.append(self._evidence(f"{name}({sorted(refused)[0]}=...)", node))
            if "tf_keras" in refused.values():
                self.program.keras3_cannot.append(self.program.keras2[-1])
        if name in KERAS3_REQUIRED and not _given(node, *KERAS3_REQUIRED[name][:1]):
            self.program.keras2.append(self._evidence(f"{name}() without {KERAS3_REQUIRED[name][0]}", node))
        if name in _WEIGHT_CALLS or name in _MODEL_CALLS:
            self._weight_path(name, node)
        if name == "run" and isinstance(func, ast.Attribute):
            found = self._dotted(func.value)
            if found is None and isinstance(func.value, ast.Name) and func.value.id in ("sess", "session"):
                self.program.tf1_imports.append(self._evidence(f"{func.value.id}.run()", node))
        self.generic_visit(node)

    def _keras1(self, name, node):
        """Keras 1 arguments or spellings; calls whose positional numbers Keras 1 read as a kernel."""
        old = sorted(keras1_keywords(name) & {k.arg for k in node.keywords})
        merge = name in MERGE_CALLEES and (self._dotted(node.func) or ("",))[0].startswith("keras.")
        if old or name in KERAS1_SPELLINGS or merge:
            evidence = self._evidence(f"{name}({old[0]}=...)" if old else f"{name}()", node)
            self.program.keras1.append(evidence)
            self.program.keras2.append(evidence)
        dims = POSITIONAL_KERNEL.get(name)
        if dims and len(node.args) == dims + 1 and not any(
                k.arg in ("padding", "strides", "data_format", "kernel_size") for k in node.keywords):
            numbers = [a.value for a in node.args if isinstance(a, ast.Constant) and type(a.value) is int]
            self.program.kernel_calls.append((os.path.abspath(self.path), node.lineno,
                                              getattr(node, "end_lineno", None) or node.lineno, name,
                                              name in KERAS1_SPELLINGS,
                                              numbers if len(numbers) == len(node.args) else None))

    def _weight_path(self, name, node):
        """A weight path Keras 3 refuses says Keras 2; a Keras 3 suffix says Keras 3."""
        path = node.args[0] if node.args else next(
            (k.value for k in node.keywords if k.arg in ("filepath", "filename")), None)
        if isinstance(path, ast.Name) and path.id in self.strings:
            value = self.strings[path.id]
        elif isinstance(path, ast.Constant) and isinstance(path.value, str):
            value = path.value
        else:
            return
        shown = f"{name}({value!r})"
        if value.endswith(_KERAS3_WEIGHTS):
            self.program.keras3.append(self._evidence(shown, node))
        elif name in _WEIGHT_CALLS and (value.endswith(_LEGACY_WEIGHTS) or "." not in os.path.basename(value)):
            self.program.keras2.append(self._evidence(shown, node))


def _never_called(tree):
    """Top-level functions of the launched file that nothing in it names: their TensorFlow calls never run.

    A TF1-only call in such a helper must not switch the whole program to graph
    mode; the rest of the program decides.
    """
    named = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | \
            {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)} | \
            {e.value for n in ast.walk(tree) if isinstance(n, (ast.List, ast.Tuple)) for e in n.elts
             if isinstance(e, ast.Constant)}
    return frozenset(n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
                     and n.name not in named and not n.decorator_list)


def name_parts(node):
    """[name, attr, ...] of a `name.attr.attr` chain, or None if it does not start at a name."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return parts[::-1]


def dotted_name(node, bindings):
    """The dotted name of a `name.attr...` chain with its first name read through `bindings`, or None."""
    parts = name_parts(node)
    if parts is None:
        return None
    return ".".join([bindings.get(parts[0], parts[0]), *parts[1:]])


def _under(full, modules):
    return any(full == m or full.startswith(m + ".") for m in modules)


def _given(call, argument, position=0):
    return len(call.args) > position or any(k.arg == argument for k in call.keywords)


def _graph_only(rest):
    return any(rest == g or rest.startswith(g + ".") for g in GRAPH_ONLY)


def _is_tf1(full, tf2, tf1):
    """Whether `tensorflow.X.Y` exists in tf.compat.v1 but not in TensorFlow 2's API."""
    parts = full.split(".")[1:]
    new, old = tf2, tf1
    for part in parts:
        if part.startswith("_"):
            return False
        has_new = _has(new, part)
        if not has_new:
            return _has(old, part)
        new, old = getattr(new, part), getattr(old, part, None)
        if old is None or not _is_module(new):
            return False
    return False


def _has(obj, name):
    try:
        return hasattr(obj, name)
    except Exception:
        return False


def _is_module(obj):
    import types
    return isinstance(obj, types.ModuleType)


def module_file(name):
    """The source file of module `name` without importing it (parents may be imported), or None."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError, AttributeError):
        return None
    return spec.origin if spec is not None and spec.origin and spec.origin.endswith(".py") else None
