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
  embeddings arguments, which tf-keras already ignored, removed;
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

from slimcompat.keras2.modules import KERAS3_REQUIRED, LEGACY, keras3_home, keras3_refused
from slimcompat.keras2.weights import NEW_SUFFIX
from slimcompat.legacy.program import dotted_name
from slimcompat.migrate import pasta_edit

__all__ = ["rewrite", "RUNTIME"]

RUNTIME = "slimcompat.keras2"
_LEGACY_SUFFIXES = (".ckpt", ".hdf5", ".h5")
_TF_FORMAT = (".ckpt",)
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
    if any(level == INFO for level, *_ in edit.logs):
        edit.losses()
    edit.warnings()
    return edit.logs, edit.needs_runtime


class _Keras3:
    def __init__(self, tree, bindings):
        self.tree, self.bindings = tree, bindings
        self.logs, self.needs_runtime = [], False
        self.strings = _string_bindings(tree)

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

    def _save_helper(self, call, why):
        """`X.save_weights(p)` -> `slimcompat.keras2.save_weights(X, p)`; whether it was such a call."""
        if not (isinstance(call.func, ast.Attribute) and call.func.attr == "save_weights"):
            return False
        model = call.func.value
        call.args = [model, *call.args]
        call.func = full_name_node(f"{RUNTIME}.save_weights")
        self.needs_runtime = True
        self.logs.append((INFO, call.lineno, call.col_offset,
                          f"Changed {ast.unparse(model)}.save_weights(...) to {RUNTIME}.save_weights"
                          f"({ast.unparse(model)}, ...): {why}"))
        return True

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
        model = call.func.value
        why = (f"loads the file Keras 3 now writes, or else {old!r}, written before migration" if old
               else "Keras 3 cannot read TF-format checkpoints")
        call.args = [model, *call.args]
        call.func = full_name_node(f"{RUNTIME}.load_weights")
        self.needs_runtime = True
        self.logs.append((INFO, call.lineno, call.col_offset,
                          f"Changed {ast.unparse(model)}.load_weights(...) to {RUNTIME}.load_weights"
                          f"({ast.unparse(model)}, ...): {why}"))

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
