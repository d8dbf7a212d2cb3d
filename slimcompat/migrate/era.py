"""Keras 1.x-2.3 meanings -> Keras 3: the defaults and names of slimcompat.keras2.era_meanings, written out.

`slimcompat run` keeps them at run time; after `migrate` the file says them:

- in a file written for standalone Keras 1.x-2.3 (era_meanings.is_keras2_era),
  an optimizer without a learning rate gets the era's (`Adadelta()` ->
  `Adadelta(learning_rate=1.0)`), and so does a string (`optimizer='adadelta'`
  -> `keras.optimizers.Adadelta(learning_rate=1.0)`);
- `'acc'` / `'val_acc'` as a callback's `monitor` or a key of `X.history` (`[]`, `.get`)
  become `'accuracy'` / `'val_accuracy'` where the file compiles with
  `metrics=['accuracy']` (Keras 2.2 logged it as `acc`); where the file does not
  say which metric it compiles, a warning names the site;
- `ModelCheckpoint(period=N)` (Keras 3 refuses `period`; its integer
  `save_freq` counts batches): `save_freq='epoch'` for N=1;
  `save_freq=N * steps` where the `fit` that gets the callback gives
  `steps_per_epoch`; otherwise `save_freq='epoch'` and a warning naming the
  site (it now saves every epoch, not every N).
- `m.reset_states()` -> `m.reset_state()` where `m` is bound only to Keras
  metrics (`m = tf.keras.metrics.Mean()`, `self.m = ...`): Keras 3's metrics
  dropped the plural name tf.keras kept as an alias (its stateful RNN layers
  still have `reset_states`, so other receivers are left alone).

tf_upgrade_v2 also renames `tf.keras.optimizers.Adam` to
`tf.keras.optimizers.legacy.Adam` (TF 2.11's name for the optimizers TF 1.x-2.10
had). Keras 3 has no legacy optimizers; its own take the same defaults (a test
holds the two to it), and `lr=` and `decay=` are written out by
slimcompat.migrate.keras1, so a file Keras 3 runs keeps Keras 3's (see
keras3_renames). A file kept on Keras 2 (slimcompat.migrate.keras2_kept)
wants the legacy ones.
"""

import ast
import builtins

import pasta
from tensorflow.tools.compatibility.ast_edits import INFO, WARNING

from slimcompat.keras2.era_meanings import (METRIC_NAMES, MONITORING, OPTIMIZER_DEFAULTS, OPTIMIZER_STRINGS,
                                            is_keras2_era)
from slimcompat.legacy.program import analyse_tree, dotted_name

__all__ = ["rewrite", "keras3_renames", "metric_objects"]

_LEGACY_OPTIMIZERS = "tf.keras.optimizers.legacy."
# Keras 2 metric methods under the name Keras 3 kept.
_METRIC_METHODS = {"reset_states": "reset_state"}


def keras3_renames(renames):
    """tf_upgrade_v2's `symbol_renames` less its moves to the legacy optimizers, for a file that runs Keras 3."""
    return {old: new for old, new in renames.items() if not new.startswith(_LEGACY_OPTIMIZERS)}


def rewrite(tree, bindings, metric_names=True, keras2_era=None):
    """Write the era's meanings out in `tree`; (log entries, modules the file must import).

    metric_names=False leaves `'acc'` as it is: tf-keras in TF1 graph mode (a file kept on Keras 2, in graph
    mode) still logs `metrics=['accuracy']` as `acc`, as Keras 2.2 did. keras2_era: whether the file was
    written for standalone Keras 1.x-2.3, as read before its imports were rewritten (default: read now).
    """
    logs, needed = [], set()
    era = is_keras2_era(analyse_tree(tree)) if keras2_era is None else keras2_era
    metrics = _compiled_metrics(tree)
    metric_receivers = metric_objects(tree, bindings)
    fits = _Fits(tree)
    for node in list(ast.walk(tree)):
        if isinstance(node, ast.Call):
            name = dotted_name(node.func, bindings) or ""
            callee = name.split(".")[-1]
            if era and "keras" in name and "optimizers" in name and callee in OPTIMIZER_DEFAULTS:
                _optimizer_defaults(node, callee, logs)
            if era and isinstance(node.func, ast.Attribute) and node.func.attr == "compile":
                if _optimizer_string(node, logs):
                    needed.add("keras")
            if metric_names and isinstance(node.func, ast.Attribute) and node.func.attr == "get" \
                    and _is_history(node.func.value) \
                    and node.args and isinstance(node.args[0], ast.Constant):
                _metric_name(node.args, 0, node.args[0], metrics, logs, "a key of History.history")
            if callee in MONITORING and "keras" in name:
                if metric_names:
                    _monitor(node, callee, metrics, logs)
                if callee == "ModelCheckpoint":
                    _period(node, fits, logs)
            if isinstance(node.func, ast.Attribute) and node.func.attr in _METRIC_METHODS \
                    and ast.unparse(node.func.value) in metric_receivers:
                _metric_method(node, logs)
        elif metric_names and isinstance(node, ast.Subscript) and _is_history(node.value) \
                and isinstance(node.slice, ast.Constant):
            _metric_name(node, "slice", node.slice, metrics, logs, "a key of History.history")
    return logs, needed


def _is_history(node):
    return isinstance(node, ast.Attribute) and node.attr == "history"


def _compiled_metrics(tree):
    """The string metrics the file's `compile` calls name (None if any is not a literal list of strings)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "compile":
            value = next((k.value for k in node.keywords if k.arg == "metrics"), None)
            if value is None:
                continue
            if not isinstance(value, (ast.List, ast.Tuple)):
                return None
            found |= {e.value for e in value.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)}
    return found


def _optimizer_defaults(call, callee, logs):
    defaults = OPTIMIZER_DEFAULTS[callee]
    given = {k.arg for k in call.keywords} | ({"learning_rate"} if call.args or any(
        k.arg == "lr" for k in call.keywords) else set())
    if callee == "Adagrad" and len(call.args) > 1:
        given.add("initial_accumulator_value")
    missing = {k: v for k, v in defaults.items() if k not in given}
    if not missing or any(k.arg is None for k in call.keywords):
        return
    before = ast.unparse(call)
    call.keywords[:0] = [ast.keyword(arg=k, value=ast.Constant(v)) for k, v in missing.items()]
    logs.append((INFO, call.lineno, call.col_offset, f"Changed {before!r} to {ast.unparse(call)!r}: Keras 1.x-2.3's "
                 f"default{'s' if len(missing) > 1 else ''}, which Keras 3 changed"))


def _optimizer_string(call, logs):
    keyword = next((k for k in call.keywords if k.arg == "optimizer"), None)
    holder, field = (keyword, "value") if keyword is not None else (call, None)
    value = keyword.value if keyword is not None else call.args[0] if call.args else None
    if not (isinstance(value, ast.Constant) and isinstance(value.value, str) and value.value in OPTIMIZER_STRINGS):
        return False
    cls = OPTIMIZER_STRINGS[value.value]
    shown = ", ".join(f"{k}={v!r}" for k, v in OPTIMIZER_DEFAULTS[cls].items())
    replacement = pasta.parse(f"keras.optimizers.{cls}({shown})").body[0].value
    if field:
        keyword.value = replacement
    else:
        call.args[0] = replacement
    logs.append((INFO, call.lineno, call.col_offset, f"Changed optimizer {value.value!r} to "
                 f"{ast.unparse(replacement)!r}: Keras 1.x-2.3's defaults, which Keras 3 changed"))
    return True


def _monitor(call, callee, metrics, logs):
    keyword = next((k for k in call.keywords if k.arg == "monitor"), None)
    if keyword is not None and isinstance(keyword.value, ast.Constant):
        _metric_name(keyword, "value", keyword.value, metrics, logs, f"{callee}'s monitor")


def _metric_name(holder, field, constant, metrics, logs, what):
    old = constant.value
    if old not in METRIC_NAMES:
        return
    new = METRIC_NAMES[old]
    if metrics is not None and "accuracy" in metrics and "acc" not in metrics:
        if isinstance(holder, list):
            holder[field] = ast.Constant(new)
        else:
            setattr(holder, field, ast.Constant(new))
        logs.append((INFO, constant.lineno, constant.col_offset, f"Changed {old!r} to {new!r} ({what}): Keras 2.2 "
                     f"logged metrics=['accuracy'] as {old!r}, Keras 3 as {new!r}"))
    elif metrics is None or "acc" not in metrics:
        logs.append((WARNING, constant.lineno, constant.col_offset, f"{old!r} ({what}): Keras 2.2 logged "
                     f"metrics=['accuracy'] as {old!r}, Keras 3 logs it as {new!r}, and this file does not say "
                     f"which it compiles; write {new!r} if the model compiles metrics=['accuracy']"))


def _metric_method(call, logs):
    old, new = call.func.attr, _METRIC_METHODS[call.func.attr]
    call.func.attr = new
    logs.append((INFO, call.lineno, call.col_offset, f"Changed {old}() to {new}() on the Keras metric "
                 f"{ast.unparse(call.func.value)}: Keras 3's metrics have no {old}"))


def metric_objects(tree, bindings):
    """The names (`m`, `self.m`) every assignment of which is a Keras metric object."""
    found, other = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            name = dotted_name(node.value.func, bindings) if isinstance(node.value, ast.Call) else None
            parts = (name or "").split(".")
            metric = bool({"keras", "tf_keras"} & set(parts)) and "metrics" in parts and parts[-1][:1].isupper()
            for target in node.targets:
                if isinstance(target, (ast.Name, ast.Attribute)):
                    (found if metric else other).add(ast.unparse(target))
    return found - other


class _Fits:
    """The file's `fit` calls (fit_generator too: the Keras 1 pass renames it) and where names are assigned."""

    def __init__(self, tree):
        self.calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)
                      and isinstance(node.func, ast.Attribute) and node.func.attr in ("fit", "fit_generator")]
        self.assigned, self.bound = {}, {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                self.assigned.setdefault(node.id, []).append(node.lineno)
            elif isinstance(node, ast.arg):
                self.assigned.setdefault(node.arg, []).append(node.lineno)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    self.assigned.setdefault(alias.asname or alias.name.split(".")[0], []).append(node.lineno)
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                self.bound[id(node.value)] = node.targets[0].id

    def steps_per_epoch(self, checkpoint):
        """The `steps_per_epoch` of the fit calls given `checkpoint` (one and the same), or None if unknown.

        The checkpoint is given inline or through a name bound once to it;
        the steps are literal, or name only what is assigned once, before the
        checkpoint is made, so the expression means there what it meant at fit.
        """
        name = self.bound.get(id(checkpoint))
        if name is not None and len(self.assigned.get(name, [])) != 1:
            return None
        steps = set()
        for fit in self.calls:
            callbacks = next((k.value for k in fit.keywords if k.arg == "callbacks"), None)
            if callbacks is None:
                continue
            given = {id(e) for e in ast.walk(callbacks)}
            if id(checkpoint) not in given and not any(isinstance(e, ast.Name) and e.id == name
                                                       for e in ast.walk(callbacks)):
                continue
            value = next((k.value for k in fit.keywords if k.arg == "steps_per_epoch"), None)
            if value is None or not self._known_at(value, checkpoint.lineno):
                return None
            steps.add(ast.unparse(value))
        return pasta.parse(steps.pop()).body[0].value if len(steps) == 1 else None

    def _known_at(self, node, line):
        names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and n.id not in dir(builtins)}
        return all(len(self.assigned.get(n, [])) == 1 and self.assigned[n][0] < line for n in names)


def _period(call, fits, logs):
    """Keras 2's `period=N` (a checkpoint every N epochs) as Keras 3's `save_freq`, which counts batches."""
    keyword = next((k for k in call.keywords if k.arg == "period"), None)
    if keyword is None or any(k.arg == "save_freq" for k in call.keywords):
        return
    period = ast.unparse(keyword.value)
    if isinstance(keyword.value, ast.Constant) and keyword.value.value == 1:
        keyword.arg, keyword.value = "save_freq", ast.Constant("epoch")
        logs.append((INFO, call.lineno, call.col_offset, "Changed period=1 to save_freq='epoch': Keras 3 has no "
                     "period"))
        return
    steps = fits.steps_per_epoch(call)
    keyword.arg = "save_freq"
    if steps is not None:
        keyword.value = _unplaced(pasta.parse(f"{_operand(keyword.value)} * {_operand(steps)}").body[0].value)
        logs.append((INFO, call.lineno, call.col_offset, f"Changed period={period} to save_freq="
                     f"{ast.unparse(keyword.value)}: Keras 3 has no period and counts save_freq in batches; the "
                     f"fit given this callback runs steps_per_epoch={ast.unparse(steps)}"))
        return
    keyword.value = ast.Constant("epoch")
    logs.append((WARNING, call.lineno, call.col_offset, f"Changed period={period} to save_freq='epoch': Keras 3 "
                 "refuses period and counts save_freq in batches, and no fit here says its steps_per_epoch, so this "
                 f"checkpoint is now saved every epoch instead of every {period}; for the old rhythm write "
                 f"save_freq={period} * <steps per epoch>"))


def _unplaced(node):
    """`node` without source positions, so pasta prints it where it now stands (not by its snippet's line 1)."""
    for inner in ast.walk(node):
        for field in ("lineno", "col_offset", "end_lineno", "end_col_offset"):
            if hasattr(inner, field):
                delattr(inner, field)
    return node


def _operand(node):
    text = ast.unparse(node)
    return f"({text})" if isinstance(node, (ast.BinOp, ast.BoolOp, ast.IfExp, ast.Compare, ast.Lambda)) else text
