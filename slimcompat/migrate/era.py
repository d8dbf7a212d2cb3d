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
- `ModelCheckpoint(period=1)` -> `save_freq='epoch'`; another period is
  warned about (Keras 3 counts `save_freq` in batches and refuses `period`).
"""

import ast

import pasta
from tensorflow.tools.compatibility.ast_edits import INFO, WARNING

from slimcompat.keras2.era_meanings import (METRIC_NAMES, MONITORING, OPTIMIZER_DEFAULTS, OPTIMIZER_STRINGS,
                                            is_keras2_era)
from slimcompat.legacy.program import analyse_tree, dotted_name

__all__ = ["rewrite"]


def rewrite(tree, bindings, metric_names=True, keras2_era=None):
    """Write the era's meanings out in `tree`; (log entries, modules the file must import).

    metric_names=False leaves `'acc'` as it is: tf-keras in TF1 graph mode (a file kept on Keras 2, in graph
    mode) still logs `metrics=['accuracy']` as `acc`, as Keras 2.2 did. keras2_era: whether the file was
    written for standalone Keras 1.x-2.3, as read before its imports were rewritten (default: read now).
    """
    logs, needed = [], set()
    era = is_keras2_era(analyse_tree(tree)) if keras2_era is None else keras2_era
    metrics = _compiled_metrics(tree)
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
                    _period(node, logs)
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


def _period(call, logs):
    keyword = next((k for k in call.keywords if k.arg == "period"), None)
    if keyword is None or any(k.arg == "save_freq" for k in call.keywords):
        return
    if isinstance(keyword.value, ast.Constant) and keyword.value.value == 1:
        keyword.arg, keyword.value = "save_freq", ast.Constant("epoch")
        logs.append((INFO, call.lineno, call.col_offset, "Changed period=1 to save_freq='epoch': Keras 3 has no "
                     "period"))
        return
    logs.append((WARNING, call.lineno, call.col_offset, f"period={ast.unparse(keyword.value)}: a checkpoint every "
                 "that many epochs, which Keras 3 refuses and cannot say (its save_freq counts batches): pass "
                 "save_freq=<period * steps per epoch>"))
