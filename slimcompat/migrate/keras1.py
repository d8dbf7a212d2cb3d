"""Keras 1 arguments -> Keras 3: the call sites `slimcompat run` converts at run time, rewritten once.

The renames are slimcompat.keras2.keras1_args' table, the same one `run` reads;
the positional kernel of `Convolution2D(64, 3, 3)` is rewritten where the
program analysis says Keras 1 meant it (`Convolution2D(64, (3, 3))`). Keras 3
also dropped what Keras 2 still had:

- `fit_generator`/`evaluate_generator`/`predict_generator` -> `fit`/`evaluate`/
  `predict` (positional arguments after the generator become keywords, since
  `fit`'s order differs; `workers`, `use_multiprocessing`, `max_queue_size` go:
  Keras 3 takes them on a PyDataset); `samples_per_epoch=N` becomes
  `steps_per_epoch=N // batch_size` as Keras 2.3 read it;
- Keras 1's `merge(inputs, mode='concat', concat_axis=1)` and `Merge(mode=...)`
  -> the Keras 2 merge function or layer of the mode (`concatenate(inputs,
  axis=1)`), as slimcompat.keras2.keras1_merge declares them for `run` too; the
  file's `from keras.layers import merge` imports the new name instead;
- optimizers' `lr=` -> `learning_rate=`, and `decay=d` (lr / (1 + d * t), Keras
  2's time-based decay) -> `learning_rate=keras.optimizers.schedules.
  InverseTimeDecay(lr, 1, d)`, the same rule in Keras 3.
"""

import ast

import pasta
from tensorflow.tools.compatibility.ast_edits import INFO, WARNING, full_name_node

from slimcompat.keras2 import keras1_args, keras1_merge
from slimcompat.legacy.program import analyse_tree, dotted_name
from slimcompat.migrate import prelude

__all__ = ["rewrite", "merges"]

# Keras 2's generator methods, their Keras 3 names and their parameters in order (tf-keras' signatures).
_GENERATOR_METHODS = {
    "fit_generator": ("fit", ("x", "steps_per_epoch", "epochs", "verbose", "callbacks", "validation_data",
                              "validation_steps", "validation_freq", "class_weight", "max_queue_size", "workers",
                              "use_multiprocessing", "shuffle", "initial_epoch")),
    "evaluate_generator": ("evaluate", ("x", "steps", "callbacks", "max_queue_size", "workers",
                                        "use_multiprocessing", "verbose")),
    "predict_generator": ("predict", ("x", "steps", "callbacks", "max_queue_size", "workers",
                                      "use_multiprocessing", "verbose")),
}
_RUNTIME = "slimcompat.keras2"
_DATASET_ONLY = ("max_queue_size", "workers", "use_multiprocessing")
_SCHEDULE = "keras.optimizers.schedules.InverseTimeDecay"
# What sets an optimizer's learning rate while it trains, which Keras 3 refuses on a schedule.
_SETS_LR = frozenset({"LearningRateScheduler", "ReduceLROnPlateau", "set_value"})


def rewrite(tree, bindings, filename="<file>"):
    """Rewrite Keras 1 arguments in `tree` for Keras 3; (log entries, modules the file must import)."""
    edit = _Keras1(tree, bindings, analyse_tree(tree, filename))
    edit.sets_lr = any(getattr(n, "id", getattr(n, "attr", None)) in _SETS_LR for n in ast.walk(tree))
    for node in list(ast.walk(tree)):
        if isinstance(node, ast.Call):
            edit.call(node)
        elif isinstance(node, ast.Attribute):
            edit.attribute(node)
    return edit.logs, edit.needed


def merges(tree, bindings):
    """Rewrite Keras 1's merge / Merge calls in `tree` as Keras 2's merge functions / layers; the log entries.

    Runs before the Keras 3 pass, so that a `from keras.layers import merge`
    that only served Keras 1's function is gone by then.
    """
    edit = _Merges(tree, bindings)
    for call in [n for n in ast.walk(tree) if isinstance(n, ast.Call)]:
        name = dotted_name(call.func, bindings) or ""
        callee = name.split(".")[-1]
        if callee in keras1_merge.CALLEES and name.split(".")[0] in ("keras", "tf_keras"):
            before = ast.unparse(call)
            why = edit.merge(call, callee)
            if why:
                edit.logs.append((INFO, call.lineno, call.col_offset,
                                  f"Changed {before!r} to {ast.unparse(call)!r}: {'; '.join(why)}"))
    edit.merge_imports(tree)
    if edit.needs_keras:
        edit.logs += prelude.add_before(tree, "keras", "Keras 1's merge became a function of keras.layers")
    return edit.logs


class _Keras1:
    def __init__(self, tree, bindings, program):
        self.bindings, self.logs, self.needed, self.sets_lr = bindings, [], set(), False
        self.kernel_lines = {line for _, line in program.kernel_sites()}

    def call(self, call):
        name = self._dotted(call.func) or ""
        callee = name.split(".")[-1]
        keras = bool({"keras", "tf_keras"} & set(name.split(".")[:-1]))
        before = ast.unparse(call)
        why = []
        if keras and callee in keras1_args.POSITIONAL_KERNEL and call.lineno in self.kernel_lines \
                and len(call.args) == keras1_args.POSITIONAL_KERNEL[callee] + 1:
            call.args[1:] = [ast.Tuple(elts=list(call.args[1:]), ctx=ast.Load())]
            why.append("Keras 1 read the numbers after the filters as the kernel size")
        method = isinstance(call.func, ast.Attribute) and callee in keras1_args.METHODS
        if keras or method:
            why += self._keywords(call, callee)
        if method and callee in _GENERATOR_METHODS:
            why += self._generator(call, callee)
        if keras and callee.lower() in {o.lower() for o in keras1_args.OPTIMIZERS} and "optimizers" in name:
            why += self._optimizer(call)
        if keras and name.endswith("backend." + callee) and callee in ("set_image_dim_ordering", "image_dim_ordering"):
            why += self._dim_ordering(call, callee)
        if why:
            self.logs.append((INFO, call.lineno, call.col_offset,
                              f"Changed {before!r} to {ast.unparse(call)!r}: {'; '.join(why)}"))

    def _keywords(self, call, callee):
        renames, why = keras1_args.keyword_renames(callee), []
        for keyword in list(call.keywords):
            if keyword.arg in renames and not any(k.arg == renames[keyword.arg] for k in call.keywords):
                old = keyword.arg
                keyword.arg = renames[old]
                values = keras1_args.VALUES.get(old, {})
                if isinstance(keyword.value, ast.Constant) and keyword.value.value in values:
                    keyword.value = ast.Constant(values[keyword.value.value])
                why.append(f"{old} is {keyword.arg} since Keras 2")
        for keyword in list(call.keywords):
            if (callee, keyword.arg) == ("BatchNormalization", "mode") and _constant(keyword.value) == 0:
                call.keywords.remove(keyword)
                why.append("mode=0 is BatchNormalization's only mode since Keras 2")
            elif keyword.arg == "forget_bias_init" and callee in ("LSTM", "GRU", "SimpleRNN"):
                keyword.arg, keyword.value = "unit_forget_bias", ast.Constant(_constant(keyword.value) == "one")
                why.append("forget_bias_init is unit_forget_bias since Keras 2")
            elif (callee, keyword.arg) == ("Embedding", "dropout"):
                call.func = full_name_node(f"{_RUNTIME}.Embedding")
                self.needed.add(_RUNTIME)
                why.append("Keras 3's Embedding refuses dropout; slimcompat.keras2.Embedding is Keras 3's with "
                           "Keras 1's word dropout")
        return why

    def _generator(self, call, callee):
        new, parameters = _GENERATOR_METHODS[callee]
        generator = call.args[0] if call.args else None
        call.keywords[:0] = [ast.keyword(arg=p, value=v) for p, v in zip(parameters[1:], call.args[1:])]
        call.args[1:] = []
        call.func.attr = new
        why = [f"Keras 3 has no {callee}; {new} takes generators"]
        for keyword in list(call.keywords):
            if keyword.arg in _DATASET_ONLY:
                call.keywords.remove(keyword)
                why.append(f"{keyword.arg} is a PyDataset's argument in Keras 3, not {new}'s")
        samples = next((k for k in call.keywords if k.arg == "samples_per_epoch"), None)
        if samples is not None:
            batch = _batch_size(generator)
            samples.arg = "steps_per_epoch"
            if batch is None:
                self.logs.append((WARNING, call.lineno, call.col_offset, "samples_per_epoch counted samples and "
                                  "Keras 2.3 divided it by the generator's batch_size, which is not visible here: "
                                  "steps_per_epoch is given the same number; divide it by the batch size"))
            else:
                samples.value = pasta.parse(f"({ast.unparse(samples.value)}) // {batch}").body[0].value
                why.append("samples_per_epoch counted samples; steps count batches, as Keras 2.3 converted it")
        return why

    def _optimizer(self, call):
        why = []
        callee = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
        proper = next((o for o in keras1_args.OPTIMIZERS if o.lower() == callee.lower()), callee)
        if proper != callee and isinstance(call.func, ast.Attribute):
            call.func.attr = proper   # Keras 2.x's lowercase aliases (`keras.optimizers.rmsprop`) are gone
            why.append(f"{callee} is {proper} since Keras 2.3")
        lr = next((k for k in call.keywords if k.arg == "lr"), None)
        if lr is not None:
            lr.arg = "learning_rate"
            why.append("lr is learning_rate since Keras 2.3")
        decay = next((k for k in call.keywords if k.arg == "decay"), None)
        if decay is not None and ".legacy." in f".{self._dotted(call.func)}.":
            return why   # tf-keras' legacy optimizers still take decay, with Keras 2's rule
        if decay is not None and self.sets_lr:
            self.logs.append((WARNING, call.lineno, call.col_offset, "decay= kept, and Keras 3 ignores it: Keras 2 "
                              "divided the learning rate by (1 + decay * step) on top of what the program sets "
                              "(LearningRateScheduler, ReduceLROnPlateau, set_value), and Keras 3 cannot set a "
                              "rate that a schedule computes; fold the decay into the program's own schedule"))
        elif decay is not None:
            rate = next((k for k in call.keywords if k.arg == "learning_rate"), None)
            initial = ast.unparse(rate.value) if rate is not None else ast.unparse(call.args[0]) if call.args \
                else None
            if initial is None:
                self.logs.append((WARNING, call.lineno, call.col_offset, "decay= without a learning rate: Keras 3 "
                                  "has no decay; pass learning_rate=keras.optimizers.schedules.InverseTimeDecay(...)"))
                return why
            schedule = pasta.parse(f"{_SCHEDULE}({initial}, 1, {ast.unparse(decay.value)})").body[0].value
            call.keywords.remove(decay)
            if rate is not None:
                rate.value = schedule
            else:
                call.args[0] = schedule
            self.needed.add("keras")
            why.append("Keras 2's decay (lr / (1 + decay * step)) is InverseTimeDecay(lr, 1, decay) in Keras 3")
        return why

    def attribute(self, node):
        """`model.optimizer.lr` is `model.optimizer.learning_rate` in Keras 3; predict_classes is gone."""
        if node.attr in ("predict_classes", "predict_proba"):
            self.logs.append((WARNING, node.lineno, node.col_offset, f"{node.attr} is gone since tf.keras 2.6 "
                              "(`slimcompat run` serves it): use predict(x).argmax(-1), or predict(x) > 0.5 for "
                              "one sigmoid unit" if node.attr == "predict_classes" else
                              "predict_proba is gone since tf.keras 2.6 (`slimcompat run` serves it): use predict"))
        if node.attr == "lr" and isinstance(node.value, ast.Attribute) and node.value.attr == "optimizer":
            before = ast.unparse(node)
            node.attr = "learning_rate"
            self.logs.append((INFO, node.lineno, node.col_offset,
                              f"Changed {before!r} to {ast.unparse(node)!r}: Keras 3's optimizers have no lr"))

    def _dim_ordering(self, call, callee):
        """Theano-era dimension ordering ('tf', 'th') as the data format Keras 2 renamed it to."""
        backend = ast.unparse(call.func.value) if isinstance(call.func, ast.Attribute) else None
        if backend is None:
            return []
        if callee == "image_dim_ordering" and not call.args:
            replacement = pasta.parse(f"{keras1_args.DIM_ORDERING!r}.get({backend}.image_data_format())").body[0].value
            call.func, call.args = replacement.func, replacement.args
            return ["image_dim_ordering() is image_data_format() since Keras 2"]
        if callee == "set_image_dim_ordering" and len(call.args) == 1 and \
                _constant(call.args[0]) in keras1_args.DATA_FORMAT:
            call.func.attr = "set_image_data_format"
            call.args[0] = ast.Constant(keras1_args.DATA_FORMAT[_constant(call.args[0])] or "channels_last")
            return ["set_image_dim_ordering is set_image_data_format since Keras 2"]
        return []

    def _dotted(self, node):
        return dotted_name(node, self.bindings)


class _Merges:
    def __init__(self, tree, bindings):
        self.bindings, self.logs, self.needs_keras = bindings, [], False
        self.imports = [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module and not n.level]
        self.merge_names = {}   # {ImportFrom binding Keras 1's merge: {Keras 2 names it must import}}
        self.defined = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)} | \
            {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}

    def merge(self, call, callee):
        """Keras 1's merge(inputs, mode=...) / Merge(mode=...) as the Keras 2 merge function / layer of the mode."""
        order = ("inputs" if callee == "merge" else "layers", "mode", "concat_axis", "dot_axes", "output_shape",
                 "output_mask", "arguments")
        given = {**dict(zip(order, call.args)), **{k.arg: k.value for k in call.keywords if k.arg}}
        mode = given.get("mode", ast.Constant(keras1_merge.DEFAULTS["mode"]))
        site = f"{callee}(mode={ast.unparse(mode)})"
        if not isinstance(mode, ast.Constant) or mode.value not in keras1_merge.MODES:
            self.logs.append((WARNING, call.lineno, call.col_offset, f"{site} left as it is: Keras 2 has no merge, "
                              f"and the mode is not a literal {', '.join(map(repr, keras1_merge.MODES))}: write the "
                              "Keras 2 merge layer it means (add, multiply, concatenate, average, maximum, dot) "
                              "or a Lambda"))
            return []
        if callee == "Merge" and given.get("layers") is not None:
            self.logs.append((WARNING, call.lineno, call.col_offset, f"Merge([...], mode={mode.value!r}) left as it "
                              "is: it made a Sequential model of several inputs (Keras 1), which Keras 2 has not; "
                              "build a functional Model on the models' outputs"))
            return []
        row = keras1_merge.MODES[mode.value]
        keywords = [ast.keyword(arg=new, value=given.get(old, ast.Constant(keras1_merge.DEFAULTS[old])))
                    for old, new in row.renames.items()]
        keywords += [ast.keyword(arg=k, value=ast.Constant(v)) for k, v in row.fixed.items()]
        keywords += [k for k in call.keywords if k.arg == "name" or k.arg is None]
        call.args = [given["inputs"]] if callee == "merge" and "inputs" in given else []
        call.keywords = keywords
        self._merge_callee(call, row.function if callee == "merge" else row.layer)
        dropped = [k for k in ("output_shape", "output_mask", "arguments") if k in given]
        return [f"Keras 2 replaced {site} by {ast.unparse(call.func)}"] + \
            [f"{', '.join(dropped)} applied only to a function mode"] * bool(dropped)

    def _merge_callee(self, call, new):
        """Call `new` from the module the file imported Keras 1's merge from, or keras.layers."""
        func = call.func
        statement = self._import_of(func.id) if isinstance(func, ast.Name) else None
        module = statement.module if statement is not None else \
            dotted_name(func.value, self.bindings) if isinstance(func, ast.Attribute) else None
        if statement is not None and module.endswith(".layers") and new not in self.defined and \
                self.bindings.get(new, f"{module}.{new}") == f"{module}.{new}":
            call.func = ast.Name(id=new, ctx=ast.Load())
            self.merge_names.setdefault(statement, set()).add(new)
        elif isinstance(func, ast.Attribute) and module is not None and module.endswith(".layers"):
            func.attr = new
        else:
            call.func = full_name_node(f"keras.layers.{new}")
            self.needs_keras = True

    def _import_of(self, name):
        return next((n for n in self.imports if any((a.asname or a.name) == name for a in n.names)), None)

    def merge_imports(self, tree):
        """The Keras 2 names the rewritten merges call, imported where `merge` was; `merge` dropped if unused."""
        used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        for statement, names in self.merge_names.items():
            bound = {a.asname or a.name for a in statement.names}
            at = next(i for i, a in enumerate(statement.names) if a.name in keras1_merge.CALLEES)
            added = [ast.alias(name=n) for n in sorted(names - bound)]
            statement.names[at + 1:at + 1] = added
            statement.names[:] = [a for a in statement.names
                                  if a.name not in keras1_merge.CALLEES or (a.asname or a.name) in used]
            self.logs.append((INFO, statement.lineno, statement.col_offset,
                              f"Changed {statement.module} imports: {', '.join(sorted(names))} for Keras 1's merge"))


def _batch_size(generator):
    """Source of the generator's batch size as Keras 2.3 read it (its batch_size), or None if unknowable."""
    if isinstance(generator, ast.Call):
        given = next((k.value for k in generator.keywords if k.arg == "batch_size"), None)
        return ast.unparse(given) if given is not None else None
    if isinstance(generator, (ast.Name, ast.Attribute)):
        return f"getattr({ast.unparse(generator)}, 'batch_size', 1)"
    return None


def _constant(node):
    return node.value if isinstance(node, ast.Constant) else None
