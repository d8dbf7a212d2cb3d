"""Keras 2 -> Keras 3: what a Keras-era file must change to run on TF 2.16+, and what to warn about.

Runs from the change spec's preprocess hook, like the contrib import pass, on
the pasta tree; every change and warning is a log entry with line and column.

Rewritten:
- imports from the Keras 2 modules Keras dropped (slimcompat.keras2.modules):
  each name to its Keras 3 home (`from keras.utils.data_utils import get_file`
  -> `from keras.utils import get_file`); a name with no home, or an import of
  the module itself, stays and gets `import slimcompat.keras2` before it,
  which serves the module (its gone names fail in one line when called);
- weight paths Keras 3 refuses, in `save_weights`, `load_weights` and
  `ModelCheckpoint(save_weights_only=True)`: `X.ckpt`, `X.h5`, `X.hdf5`, `X` ->
  `X.weights.h5`, where the path is a literal, a name bound once to one, or the
  last literal of `os.path.join`/`+`/f-string;
- loads from such a path, or from a TF-format checkpoint, go through
  `slimcompat.keras2.load_weights(model, path)`, and the resume check
  `os.path.exists(path + '.index')` becomes `slimcompat.keras2.weights_exist(path)`:
  a checkpoint the program wrote before migration is still found and loaded;
- layer arguments Keras 3 made required get their Keras 2 default
  (`AveragePooling2D()` -> `AveragePooling2D(pool_size=(2, 2))`);
- keyword arguments Keras 3 refuses (KERAS3_REFUSED): Keras 2's `weights=` layer
  argument, `Conv2D(64, 3, weights=w)` -> `slimcompat.keras2.initial_weights(Conv2D(64, 3), w)`,
  set when the layer is built; TensorBoard's `batch_size=`, `write_grads=` and
  embeddings arguments, which tf-keras already ignored, removed; Keras 2's fixed batch size on a
  Sequential's first layer (`LSTM(20, input_shape=(t, 1), batch_size=b)` or `batch_input_shape=`) becomes an
  `Input(batch_shape=(b, t, 1))` layer before it, the one way Keras 3 takes it;
- layer sizes Keras 3 takes only as Python ints (KERAS3_PYTHON_INTS) given a value that can be a NumPy
  integer (`num_classes = np.max(y_train) + 1; Dense(num_classes)`, through a function's parameter too):
  `Dense(int(num_classes))`;
- in a file that needs any of the above, sparse categorical crossentropy
  (the class, or `loss='sparse_categorical_crossentropy'`) becomes
  `slimcompat.keras2.SparseCategoricalCrossentropy`: Keras 3's loss, except that
  outputs of another rank than the labels' + 1 are flattened as Keras 2 did,
  where Keras 3 refuses them (seed 003's ResNet18 trains on such outputs).

Warned, not rewritten (the meaning is the user's to decide): `training=False`
hard-coded inside `call()`, a topological `load_weights` of a legacy `.h5`
(Keras pairs layers by order; nothing checks the names), weight paths that are
not literals.
"""

import ast
import re

import pasta
from pasta.base import formatting
from tensorflow.tools.compatibility.ast_edits import INFO, WARNING, full_name_node

from slimcompat.keras2.modules import KERAS3_PYTHON_INTS, KERAS3_REQUIRED, LEGACY, keras3_home, keras3_refused
from slimcompat.keras2.weights import NEW_SUFFIX
from slimcompat.legacy.program import dotted_name
from slimcompat.migrate import pasta_edit, prelude
from slimcompat.migrate.era import metric_objects

__all__ = ["rewrite", "RUNTIME"]

RUNTIME = "slimcompat.keras2"
_LEGACY_SUFFIXES = (".ckpt", ".hdf5", ".h5")
_TF_FORMAT = (".ckpt",)
# {Keras 2 backend function: why a migrated file calls slimcompat.keras2's}
KERAS2_BACKEND = {"batch_dot": "Keras 3 has no batch_dot, and Keras 2.3 changed what it computes on 3-D and "
                               "larger tensors; this is Keras 2.2's"}
_H5 = (".h5", ".hdf5")
_SPARSE_CE = "SparseCategoricalCrossentropy"
_LATEST = ("tensorflow.train.latest_checkpoint", "tensorflow.compat.v1.train.latest_checkpoint")
_EXISTS = ("os.path.exists", "os.path.isfile", "tf.io.gfile.exists", "tensorflow.io.gfile.exists")


def rewrite(tree, bindings):
    """Rewrite the Keras 2 constructs in `tree` in place; (log entries, whether RUNTIME is needed).

    bindings: {name: dotted module or object} of the file's imports.
    """
    edit = _Keras3(tree, bindings)
    edit.imports()
    edit.weights()
    edit.layer_defaults()
    edit.refused_keywords()
    edit.model_states()
    edit.backend_functions()
    edit.python_ints()
    if any(level == INFO for level, *_ in edit.logs):
        edit.losses()
    edit.warnings()
    return edit.logs, edit.needs_runtime


class _Keras3:
    def __init__(self, tree, bindings):
        self.tree, self.bindings = tree, bindings
        self.logs, self.needs_runtime = [], False
        self.strings = _string_bindings(tree)
        self.parents = {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}
        self.keras_imported = False

    # ------------------------------------------------------------ imports

    def imports(self):
        for block in list(pasta_edit.blocks(self.tree)):
            for node in list(block):
                if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    self._from(block, node)
                elif isinstance(node, ast.Import):
                    for alias in node.names:
                        if _served(alias.name):
                            self._kept(node, alias.name)

    def _from(self, block, node):
        module = node.module
        if module in LEGACY and module not in LEGACY[module].keras3:
            moved, kept = [], []
            for alias in node.names:
                home = keras3_home(module, alias.name) if alias.name != "*" else None
                (moved if home else kept).append((alias, home))
            if not moved:
                self._kept(node, module)
                return
            before = ast.unparse(node)
            lines = []
            for alias, home in moved:
                parent, _, attr = home.rpartition(".")
                bound = alias.asname or alias.name
                lines.append(f"from {parent} import {attr}" + (f" as {bound}" if bound != attr else ""))
            if kept:
                lines.append(f"from {module} import " + ", ".join(
                    a.name + (f" as {a.asname}" if a.asname else "") for a, _ in kept))
            statements = [pasta_edit.statement(line, node) for line in lines]
            pasta_edit.replace(block, block.index(node), statements)
            self.logs.append((INFO, node.lineno, node.col_offset,
                              f"Changed {before!r} to {'; '.join(lines)!r}: {module} is gone in Keras 3"))
            if kept:
                self._kept(node, module)
            return
        for alias in node.names:
            if _served(f"{module}.{alias.name}"):
                self._kept(node, f"{module}.{alias.name}")

    def _kept(self, node, module):
        self.needs_runtime = True
        row = LEGACY[module]
        gone = f"; the names it lost fail in one line when called: {row.removed}" if row.removed else ""
        self.logs.append((WARNING, node.lineno, node.col_offset,
                          f"{module}: Keras 3 lacks it or most of its Keras 2 names, and no single module holds "
                          f"them: kept, served by `import {RUNTIME}`{gone}"))

    # ------------------------------------------------------------ weights

    def weights(self):
        rewritten = {}
        loads = []
        for call in [n for n in ast.walk(self.tree) if isinstance(n, ast.Call)]:
            kind = self._weight_call(call)
            if kind is None:
                continue
            path = _path_argument(call)
            literal = self._literal(path)
            if kind == "load":
                loads.append((call, literal))
                continue
            if literal is None:
                if not self._save_helper(call, "its path is computed: it gets the .weights.h5 name at run "
                                               "time if Keras 3 would refuse it, and its folder is made"):
                    self.logs.append((WARNING, call.lineno, call.col_offset,
                                      "weight path is not a literal: Keras 3 saves weights only to a path ending "
                                      f"in {NEW_SUFFIX}; check it"))
                continue
            old = _value(literal)
            suffix = _legacy_suffix(old)
            if suffix is None or id(literal) in rewritten:
                continue
            rewritten[id(literal)] = old
            _replace_suffix(literal, suffix, NEW_SUFFIX)
            self.logs.append((INFO, literal.lineno, literal.col_offset,
                              f"Changed weight path {old!r} to {_value(literal)!r}: Keras 3 saves weights only as "
                              f"{NEW_SUFFIX}"))
            if suffix in _TF_FORMAT + ("",):
                self._save_helper(call, "TF-format saves made the checkpoint's folder; Keras 3 does not")
        for call, literal in loads:
            self._load(call, literal, rewritten)
        for call in [n for n in ast.walk(self.tree) if isinstance(n, ast.Call)]:
            self._resume_check(call, rewritten)
            if rewritten:
                self._latest_checkpoint(call)

    def backend_functions(self):
        """Keras 2.2 backend functions Keras 3 lacks or changed, called through the runtime's (KERAS2_BACKEND)."""
        for call in [n for n in ast.walk(self.tree) if isinstance(n, ast.Call)]:
            name = self._dotted(call.func) or ""
            module, _, function = name.rpartition(".")
            if module not in ("keras.backend", "tensorflow.keras.backend") or function not in KERAS2_BACKEND:
                continue
            before = ast.unparse(call.func)
            call.func = full_name_node(f"{RUNTIME}.{function}")
            self.needs_runtime = True
            self.logs.append((INFO, call.lineno, call.col_offset,
                              f"Changed {before}(...) to {RUNTIME}.{function}(...): {KERAS2_BACKEND[function]}"))

    def model_states(self):
        """`x.reset_states()` -> `slimcompat.keras2.reset_states(x)`: Keras 3 models lost the method (see
        slimcompat.keras2.stateful); metrics' `reset_states` is the era pass's (`reset_state`)."""
        if not any("keras" in path for path in self.bindings.values()):
            return
        metrics = metric_objects(self.tree, self.bindings)
        for call in [n for n in ast.walk(self.tree) if isinstance(n, ast.Call)]:
            if not (isinstance(call.func, ast.Attribute) and call.func.attr == "reset_states") or call.args \
                    or call.keywords or (self._dotted(call.func) or "").startswith(RUNTIME + ".") \
                    or ast.unparse(call.func.value) in metrics:
                continue
            self._to_runtime(call, "Keras 3 models have no reset_states; this resets their stateful layers, "
                                   "as Keras 2's did")

    def _save_helper(self, call, why):
        """`X.save_weights(p)` -> `slimcompat.keras2.save_weights(X, p)`; whether it was such a call."""
        if not (isinstance(call.func, ast.Attribute) and call.func.attr == "save_weights"):
            return False
        self._to_runtime(call, why)
        return True

    def _to_runtime(self, call, why):
        """`X.f(...)` -> `slimcompat.keras2.f(X, ...)`, logged with `why`."""
        receiver, name = call.func.value, call.func.attr
        call.args = [receiver, *call.args]
        call.func = full_name_node(f"{RUNTIME}.{name}")
        self.needs_runtime = True
        arguments = ", ..." if len(call.args) > 1 else ""
        self.logs.append((INFO, call.lineno, call.col_offset,
                          f"Changed {ast.unparse(receiver)}.{name}({arguments[2:]}) to {RUNTIME}.{name}"
                          f"({ast.unparse(receiver)}{arguments}): {why}"))

    def _latest_checkpoint(self, call):
        """`tf.train.latest_checkpoint(d)` finds no `.weights.h5` file: the runtime's finds the newest."""
        if self._dotted(call.func) not in _LATEST:
            return
        before = ast.unparse(call.func)
        call.func = full_name_node(f"{RUNTIME}.latest_checkpoint")
        self.needs_runtime = True
        self.logs.append((INFO, call.lineno, call.col_offset,
                          f"Changed {before}(...) to {RUNTIME}.latest_checkpoint(...): the weights are "
                          f"{NEW_SUFFIX} files now, which have no checkpoint state file to name the latest"))

    def _weight_call(self, call):
        func = call.func
        if (self._dotted(func) or "").startswith(RUNTIME + "."):
            return None   # already the runtime's (a file migrated before)
        if isinstance(func, ast.Attribute) and func.attr in ("save_weights", "load_weights"):
            return "save" if func.attr == "save_weights" else "load"
        name = self._dotted(func)
        if name and name.split(".")[-1] == "ModelCheckpoint" and "keras" in name:
            only = next((k.value for k in call.keywords if k.arg == "save_weights_only"), None)
            if len(call.args) > 3:
                only = call.args[3]
            if isinstance(only, ast.Constant) and only.value is True:
                return "save"
        return None

    def _load(self, call, literal, rewritten):
        old = rewritten.get(id(literal)) if literal is not None else None
        value = _value(literal) if literal is not None else None
        tf_format = value is not None and old is None and (
            value.endswith(_TF_FORMAT) or _legacy_suffix(value) == "")
        if old is None and not tf_format:
            if value is not None and _legacy_suffix(value) in _H5 and not _keyword(call, "by_name"):
                self.logs.append((WARNING, call.lineno, call.col_offset,
                                  f"load_weights({value!r}) pairs the file's layers with the model's by order, in "
                                  "Keras 3 as in Keras 2, and nothing checks their names; if the model's layer names "
                                  "differ from the file's, check that it is the model that saved it"))
            return
        self._to_runtime(call, f"loads the file Keras 3 now writes, or else {old!r}, written before migration"
                         if old else "Keras 3 cannot read TF-format checkpoints")

    def _resume_check(self, call, rewritten):
        """`os.path.exists(path + '.index')` for a rewritten path -> `slimcompat.keras2.weights_exist(path)`."""
        if self._dotted(call.func) not in _EXISTS or len(call.args) != 1:
            return
        argument = call.args[0]
        if not (isinstance(argument, ast.BinOp) and isinstance(argument.op, ast.Add)
                and isinstance(argument.right, ast.Constant) and argument.right.value == ".index"):
            return
        literal = self._literal(argument.left)
        if literal is None or id(literal) not in rewritten:
            return
        before = ast.unparse(call)
        formatting.set(argument.left, "suffix", "")
        call.func = full_name_node(f"{RUNTIME}.weights_exist")
        call.args = [argument.left]
        self.needs_runtime = True
        self.logs.append((INFO, call.lineno, call.col_offset,
                          f"Changed {before!r} to {ast.unparse(call)!r}: the weights are one {NEW_SUFFIX} "
                          "file now, and a checkpoint written before migration still counts"))

    def _literal(self, expr):
        """The string constant that decides a weight path's suffix, or None."""
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            return expr
        if isinstance(expr, ast.Name):
            return self.strings.get(expr.id)
        if isinstance(expr, ast.JoinedStr) and expr.values:
            return expr
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
            return self._literal(expr.right)
        if isinstance(expr, ast.Call) and self._dotted(expr.func) == "os.path.join" and expr.args:
            return self._literal(expr.args[-1])
        return None

    # ------------------------------------------------------------ layer arguments

    def layer_defaults(self):
        for call in [n for n in ast.walk(self.tree) if isinstance(n, ast.Call)]:
            name = self._dotted(call.func) or ""
            layer = name.split(".")[-1]
            if layer not in KERAS3_REQUIRED or "keras" not in name:
                continue
            argument, default = KERAS3_REQUIRED[layer]
            if call.args or _keyword(call, argument):
                continue
            before = ast.unparse(call)
            call.keywords.insert(0, ast.keyword(arg=argument, value=pasta.parse(default).body[0].value))
            self.logs.append((INFO, call.lineno, call.col_offset,
                              f"Changed {before!r} to {ast.unparse(call)!r}: Keras 3 has no default {argument}; "
                              f"{default} was Keras 2's"))

    def refused_keywords(self):
        """Keyword arguments Keras 3 refuses (slimcompat.keras2.modules.KERAS3_REFUSED): dropped or rewritten."""
        for call in [n for n in ast.walk(self.tree) if isinstance(n, ast.Call)]:
            name = self._dotted(call.func) or ""
            callee = name.split(".")[-1] if name else getattr(call.func, "attr", None)
            if not callee or ("keras" not in name and callee != "compile"):
                continue
            actions = keras3_refused(callee, [k.arg for k in call.keywords if k.arg], name)
            for keyword in [k for k in call.keywords if actions.get(k.arg) == "drop"]:
                call.keywords.remove(keyword)
                self.logs.append((INFO, call.lineno, call.col_offset,
                                  f"Removed {callee}({keyword.arg}=...): Keras 3 refuses it, and tf-keras "
                                  "already ignored it"))
            if "batch_shape" in actions.values():
                self._batch_shape(call, callee)
            if "initial_weights" in actions.values():
                self._initial_weights(call)

    def _initial_weights(self, call):
        weights = next(k for k in call.keywords if k.arg == "weights")
        before = ast.unparse(call)
        call.keywords.remove(weights)
        inner = ast.copy_location(ast.Call(func=call.func, args=call.args, keywords=call.keywords), call)
        call.func = full_name_node(f"{RUNTIME}.initial_weights")
        call.args, call.keywords = [inner, weights.value], []
        self.needs_runtime = True
        self.logs.append((INFO, call.lineno, call.col_offset,
                          f"Changed {before!r} to {ast.unparse(call)!r}: Keras 3 layers refuse weights=, "
                          "which Keras 2 set when the layer was built"))

    def _batch_shape(self, call, callee):
        """Keras 2's batch size on a layer -> an `Input(batch_shape=...)` layer before it.

        Keras 2 made `(batch_size,) + input_shape` (or `batch_input_shape`) the
        model's input shape when the layer was a Sequential's first; Keras 3
        layers refuse all three keywords but `input_shape`, and take a fixed
        batch size only from an Input layer.
        """
        given = {k.arg: k for k in call.keywords}
        shape = _batch_shape_source(given)
        at = (call.lineno, call.col_offset)
        batch = [k for k in ("batch_size", "batch_input_shape") if k in given]
        if shape is None:
            self._drop(call, batch, f"Removed {callee}(batch_size=...): Keras 3 refuses it, and Keras 2 ignored it "
                                    "without input_shape=")
            return
        parent = self.parents.get(call)
        if isinstance(parent, ast.Call) and parent.func is call:
            self._drop(call, batch, f"Removed {callee}({', '.join(f'{k}=...' for k in batch)}): Keras 3 refuses "
                                    "it, and Keras 2 ignored it on a layer called on a tensor")
            return
        statement = self.parents.get(parent)
        if isinstance(parent, ast.Call) and isinstance(parent.func, ast.Attribute) and parent.func.attr == "add" \
                and parent.args[:1] == [call] and isinstance(statement, ast.Expr):
            model = ast.unparse(parent.func.value)
            block = next(b for b in pasta_edit.blocks(self.tree) if any(n is statement for n in b))
            if not _first_add(block[:_index(block, statement)], model):
                self._drop(call, batch, f"Removed {callee}({', '.join(f'{k}=...' for k in batch)}): Keras 3 "
                                        "refuses it, and Keras 2 read it on a Sequential's first layer only")
                return
            line = f"{model}.add({self._input_name()}(batch_shape={shape}))"   # may add an import line first
            pasta_edit.insert_before(block, _index(block, statement), pasta_edit.statement(line, statement))
        elif isinstance(parent, (ast.List, ast.Tuple)) and parent.elts[:1] == [call] and \
                isinstance(statement, ast.Call) and (self._dotted(statement.func) or "").endswith("Sequential"):
            line = f"{self._input_name()}(batch_shape={shape})"
            parent.elts.insert(0, ast.copy_location(pasta.parse(line).body[0].value, call))
        else:
            self.logs.append((WARNING, *at, f"{callee}({', '.join(f'{k}=...' for k in batch)}) fixes the batch "
                              "size, which Keras 3 takes only from an Input(batch_shape=...) first layer: write one "
                              f"with batch_shape={shape} before this layer"))
            return
        before = ast.unparse(call)
        for keyword in ("batch_size", "batch_input_shape", "input_shape", "input_dim"):
            if keyword in given:
                call.keywords.remove(given[keyword])
        self.logs.append((INFO, *at, f"Changed {before!r} to {ast.unparse(call)!r} after an Input(batch_shape="
                          f"{shape}) layer: Keras 3 layers refuse {' and '.join(f'{k}=' for k in batch)}, and take "
                          "a fixed batch size only from an Input layer"))

    def _drop(self, call, keywords, message):
        for keyword in [k for k in call.keywords if k.arg in keywords]:
            call.keywords.remove(keyword)
        self.logs.append((INFO, call.lineno, call.col_offset, message))

    def _input_name(self):
        """How the file names keras.Input: its own import of it, of keras, of tf, else a new `import keras`."""
        for bound, target in self.bindings.items():
            if target in ("keras.Input", "keras.layers.Input", "tensorflow.keras.Input",
                          "tensorflow.keras.layers.Input"):
                return bound
        for bound, target in self.bindings.items():
            if target in ("keras", "tensorflow.keras"):
                return f"{bound}.Input"
        for bound, target in self.bindings.items():
            if target == "tensorflow":
                return f"{bound}.keras.Input"
        if not self.keras_imported:
            self.keras_imported = True
            self.logs += prelude.add_before(self.tree, "keras", "the Input layer that holds the batch size needs it")
        return "keras.Input"

    def python_ints(self):
        """Layer sizes given a value that can be a NumPy integer -> `int(...)` (KERAS3_PYTHON_INTS).

        Keras 2 took any integer; Keras 3 refuses a NumPy one ("expected a
        positive integer. Received: units=46"). Only what the source shows can
        be one is wrapped: a NumPy call, an array's reduction, arithmetic on
        them, a name bound once to such a value, or a function's parameter that
        a call in the file passes one.
        """
        numbers = _NumpyNumbers(self.tree, self._dotted, self.parents)
        for call in [n for n in ast.walk(self.tree) if isinstance(n, ast.Call)]:
            name = self._dotted(call.func) or ""
            layer = name.split(".")[-1]
            if layer not in KERAS3_PYTHON_INTS or "keras" not in name:
                continue
            for argument, position in KERAS3_PYTHON_INTS[layer].items():
                if position < len(call.args) and not any(isinstance(a, ast.Starred) for a in call.args[:position + 1]):
                    holder, field = call.args, position
                else:
                    keyword = next((k for k in call.keywords if k.arg == argument), None)
                    if keyword is None:
                        continue
                    holder, field = keyword, "value"
                value = holder[field] if isinstance(holder, list) else getattr(holder, field)
                why = numbers.why(value, call)
                if why is None:
                    continue
                wrapped = ast.copy_location(ast.Call(func=ast.Name(id="int", ctx=ast.Load()), args=[value],
                                                     keywords=[]), value)
                if isinstance(holder, list):
                    holder[field] = wrapped
                else:
                    setattr(holder, field, wrapped)
                self.logs.append((INFO, value.lineno, value.col_offset,
                                  f"Changed {layer}'s {argument} `{ast.unparse(value)}` to "
                                  f"`int({ast.unparse(value)})`: {why}, and Keras 3 takes {argument} only as a "
                                  "Python int"))

    # ------------------------------------------------------------ losses

    def losses(self):
        target = f"{RUNTIME}.{_SPARSE_CE}"
        why = ("Keras 3 refuses outputs whose rank is not the labels' + 1, which Keras 2 flattened; "
               "this loss is Keras 3's otherwise")
        for call in [n for n in ast.walk(self.tree) if isinstance(n, ast.Call)]:
            name = self._dotted(call.func) or ""
            if name.split(".")[-1] == _SPARSE_CE and "keras" in name:
                before = ast.unparse(call.func)
                call.func = full_name_node(target)
                self._loss_changed(call, before, target, why)
            loss = _keyword(call, "loss") if isinstance(call.func, ast.Attribute) and \
                call.func.attr == "compile" else None
            if isinstance(loss, ast.Constant) and loss.value == "sparse_categorical_crossentropy":
                keyword = next(k for k in call.keywords if k.arg == "loss")
                keyword.value = pasta.parse(f"{target}()").body[0].value
                self._loss_changed(call, repr(loss.value), f"{target}()", why)

    def _loss_changed(self, node, before, after, why):
        self.needs_runtime = True
        self.logs.append((INFO, node.lineno, node.col_offset, f"Changed {before} to {after}: {why}"))

    # ------------------------------------------------------------ warnings

    def warnings(self):
        for cls in [n for n in ast.walk(self.tree) if isinstance(n, ast.ClassDef)]:
            for method in cls.body:
                if not (isinstance(method, ast.FunctionDef) and method.name == "call"):
                    continue
                for call in [n for n in ast.walk(method) if isinstance(n, ast.Call)]:
                    value = _keyword(call, "training")
                    if isinstance(value, ast.Constant) and value.value is False:
                        self.logs.append((WARNING, call.lineno, call.col_offset,
                                          f"training=False is hard-coded inside {cls.name}.call(): what it calls runs "
                                          "in inference mode under fit() too (BatchNormalization never updates its "
                                          "moving statistics, Dropout never drops), in Keras 3 as in Keras 2; pass "
                                          "call()'s own `training` if that was not meant"))

    # ------------------------------------------------------------ names

    def _dotted(self, node):
        return dotted_name(node, self.bindings)


def _served(module):
    row = LEGACY.get(module)
    return row is not None and module not in row.keras3


def _string_bindings(tree):
    """{name: its Constant} for names bound exactly once, to one string literal, in the file."""
    assigned = {}
    for node in ast.walk(tree):
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)] \
            if isinstance(node, (ast.AugAssign, ast.AnnAssign, ast.For)) else []
        for target in targets:
            if isinstance(target, ast.Name):
                value = node.value if isinstance(node, ast.Assign) and len(node.targets) == 1 else None
                assigned.setdefault(target.id, []).append(value)
    return {name: values[0] for name, values in assigned.items()
            if len(values) == 1 and isinstance(values[0], ast.Constant) and isinstance(values[0].value, str)}


def _batch_shape_source(given):
    """The source of the batch shape Keras 2 made of a layer's keywords, or None if it made none."""
    if "batch_input_shape" in given:
        return ast.unparse(given["batch_input_shape"].value)
    if "batch_size" not in given:
        return None
    size = ast.unparse(given["batch_size"].value)
    if "input_shape" in given:
        shape = given["input_shape"].value
        if isinstance(shape, (ast.Tuple, ast.List)) and not any(isinstance(e, ast.Starred) for e in shape.elts):
            return "(" + ", ".join([size] + [ast.unparse(e) for e in shape.elts]) + ")"
        return f"({size},) + tuple({ast.unparse(shape)})"
    if "input_dim" in given:
        return f"({size}, {ast.unparse(given['input_dim'].value)})"
    return None


def _index(block, statement):
    return next(i for i, n in enumerate(block) if n is statement)


def _first_add(statements, model):
    """Whether no statement before, since `model` was last assigned, adds a layer to it."""
    for node in reversed(statements):
        if isinstance(node, ast.Assign) and any(ast.unparse(t) == model for t in node.targets):
            return True
        for call in [n for n in ast.walk(node) if isinstance(n, ast.Call)]:
            if isinstance(call.func, ast.Attribute) and call.func.attr == "add" and \
                    ast.unparse(call.func.value) == model:
                return False
    return True


_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
_NUMPY_PYTHON = frozenset({"ndim", "size", "shape", "isscalar", "iterable", "allclose", "array_equal",
                           "array_equiv", "may_share_memory", "shares_memory"})  # return Python values
_REDUCTIONS = frozenset({"max", "min", "sum", "prod", "argmax", "argmin", "ptp", "astype", "round", "mean"})


class _NumpyNumbers:
    """Which expressions the source shows can be NumPy numbers, and why (one line naming where)."""

    def __init__(self, tree, dotted, parents):
        self.tree, self.dotted, self.parents = tree, dotted, parents
        self.bound = {}   # scope -> {name: [(value, binding node)]}; value None: not known
        self.visiting = set()

    def why(self, expr, at):
        return self._why(expr, self._scope(at))

    def _scope(self, node):
        while node in self.parents:
            node = self.parents[node]
            if isinstance(node, _SCOPES):
                return node
        return self.tree

    def _bindings(self, scope):
        if scope not in self.bound:
            self.bound[scope] = found = {}
            if isinstance(scope, _SCOPES):
                for arg in [*scope.args.posonlyargs, *scope.args.args, *scope.args.kwonlyargs,
                            scope.args.vararg, scope.args.kwarg]:
                    if arg is not None:
                        found.setdefault(arg.arg, []).append((("param", scope, arg.arg), arg))
            body = scope.body if isinstance(scope.body, list) else [scope.body]
            for node in _walk_scope(body):
                for name, value in _bound_names(node):
                    found.setdefault(name, []).append((value, node))
                if isinstance(node, ast.Global):
                    for name in node.names:
                        self._bindings(self.tree).setdefault(name, []).append((None, node))
        return self.bound[scope]

    def _why(self, expr, scope):
        if isinstance(expr, ast.Name):
            return self._name(expr.id, scope)
        if isinstance(expr, ast.Call):
            func = expr.func
            name = self.dotted(func) or ""
            if name.startswith("numpy.") and name.split(".")[-1] not in _NUMPY_PYTHON:
                return f"{ast.unparse(func)}(...) returns NumPy values"
            if isinstance(func, ast.Attribute) and func.attr in _REDUCTIONS and self._why(func.value, scope):
                return f"{ast.unparse(expr)} is a NumPy value ({self._why(func.value, scope)})"
            return None
        if isinstance(expr, ast.Subscript):
            return self._why(expr.value, scope)
        if isinstance(expr, ast.BinOp) and not isinstance(expr.op, ast.Div):
            return self._why(expr.left, scope) or self._why(expr.right, scope)
        if isinstance(expr, ast.UnaryOp):
            return self._why(expr.operand, scope)
        if isinstance(expr, ast.IfExp):
            return self._why(expr.body, scope) or self._why(expr.orelse, scope)
        return None

    def _name(self, name, scope):
        while True:
            bindings = self._bindings(scope).get(name)
            if bindings is not None or scope is self.tree:
                break
            scope = self._scope(scope)
        if not bindings or len(bindings) != 1 or bindings[0][0] is None:
            return None
        value, node = bindings[0]
        key = (id(scope), name)
        if key in self.visiting:
            return None
        self.visiting.add(key)
        try:
            if isinstance(value, tuple) and value[0] == "param":
                return self._parameter(value[1], value[2])
            if isinstance(value, tuple) and value[0] == "unpacked":
                source = self.dotted(value[1].func) if isinstance(value[1], ast.Call) else None
                if not (source and source.startswith("keras.datasets.") and source.endswith(".load_data")) \
                        and not self._why(value[1], scope):
                    return None
                return (f"`{name}` is unpacked at line {node.lineno} from {ast.unparse(value[1].func)}(...), "
                        "NumPy values")
            if self._why(value, scope) is None:
                return None
            return f"`{name}` is bound at line {node.lineno} to {ast.unparse(value)}, a NumPy value"
        finally:
            self.visiting.discard(key)

    def _parameter(self, function, name):
        """Why a call in the file can pass `function`'s parameter `name` a NumPy number, or None."""
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return None
        positional = [a.arg for a in [*function.args.posonlyargs, *function.args.args]]
        for call in [n for n in ast.walk(self.tree) if isinstance(n, ast.Call)]:
            if not (isinstance(call.func, ast.Name) and call.func.id == function.name):
                continue
            passed = next((k.value for k in call.keywords if k.arg == name), None)
            if passed is None and name in positional and positional.index(name) < len(call.args):
                passed = call.args[positional.index(name)]
                if any(isinstance(a, ast.Starred) for a in call.args[:positional.index(name) + 1]):
                    passed = None
            if passed is not None and self._why(passed, self._scope(call)):
                return (f"parameter `{name}` of {function.name}() is passed {ast.unparse(passed)} at line "
                        f"{call.lineno} ({self._why(passed, self._scope(call))})")
        return None


def _walk_scope(body):
    """The nodes of a scope's body, not descending into nested functions, lambdas, classes or comprehensions."""
    todo = list(body)
    while todo:
        node = todo.pop()
        yield node
        if isinstance(node, (*_SCOPES, ast.ClassDef)):
            todo.extend(node.decorator_list if hasattr(node, "decorator_list") else [])
            continue
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            continue
        todo.extend(ast.iter_child_nodes(node))


def _bound_names(node):
    """(name, value) for each name `node` binds in its scope; value None where not known."""
    if isinstance(node, ast.Assign):
        for target in node.targets:
            if isinstance(target, ast.Name):
                yield target.id, node.value if len(node.targets) == 1 else None
            elif isinstance(target, (ast.Tuple, ast.List)):
                for element in ast.walk(target):
                    if isinstance(element, ast.Name):
                        yield element.id, ("unpacked", node.value)
    elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        yield node.target.id, node.value
    elif isinstance(node, (ast.AugAssign, ast.For, ast.AsyncFor, ast.NamedExpr)):
        for element in ast.walk(node.target):
            if isinstance(element, ast.Name):
                yield element.id, None
    elif isinstance(node, (ast.With, ast.AsyncWith)):
        for item in node.items:
            for element in ast.walk(item.optional_vars) if item.optional_vars else ():
                if isinstance(element, ast.Name):
                    yield element.id, None
    elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        yield node.name, None
    elif isinstance(node, (ast.Import, ast.ImportFrom)):
        for alias in node.names:
            yield (alias.asname or alias.name).split(".")[0], None
    elif isinstance(node, ast.ExceptHandler) and node.name:
        yield node.name, None


def _path_argument(call):
    if call.args:
        return call.args[0]
    return _keyword(call, "filepath") or _keyword(call, "filename")


def _keyword(call, name):
    return next((k.value for k in call.keywords if k.arg == name), None)


def _value(literal):
    if isinstance(literal, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in literal.values)
    return literal.value


def _legacy_suffix(path):
    """The suffix Keras 3 refuses (".ckpt", ".h5", ".hdf5", or "" for none), or None if it takes the path."""
    if path.endswith((NEW_SUFFIX, ".keras")):
        return None
    for suffix in _LEGACY_SUFFIXES:
        if path.endswith(suffix):
            return suffix
    return "" if "." not in path.rsplit("/", 1)[-1] else None


def _replace_suffix(literal, old, new):
    """Give a string literal (or f-string) a new suffix, keeping its quotes and what follows it on the line."""
    content = formatting.get(literal, "content")
    if content is not None:
        match = None
        for match in re.finditer(re.escape(old) + r"(?=['\"])", content):
            pass
        if old == "":
            match = None
            for match in re.finditer(r"(?=['\"](\s*(#.*)?)$)", content.split("\n")[0]):
                pass
        if match is not None:
            formatting.set(literal, "content", content[:match.start()] + new + content[match.end():])
    if isinstance(literal, ast.JoinedStr):
        last = literal.values[-1]
        if isinstance(last, ast.Constant):
            last.value = last.value[:len(last.value) - len(old)] + new
        else:
            literal.values.append(ast.Constant(new))
    else:
        literal.value = literal.value[:len(literal.value) - len(old)] + new
