"""tf_upgrade_v2's change spec, extended with the tensorflow.contrib it lacks.

TFAPIChangeSpec already knows the TF 1 -> 2 renames; it lacks contrib's new
homes, and for slim's regularizers and initializers it writes Keras 3 objects
that tf_slim cannot use. This subclass keeps its tables, prunes the entries
about the contrib modules slimcompat covers (their tf_slim spelling keeps the
TF1 meaning, so TF's rewrites and "manual edit" warnings no longer apply) and,
per file, from the preprocess hook: rewrites contrib imports, adds exact
renames for contrib uses to `symbol_renames`, and adds the lines the file
needs to run. TF's own visitor then does the rest and logs every change.
"""

from tensorflow.tools.compatibility import tf_upgrade_v2

from slimcompat.keras2.era_meanings import is_keras2_era
from slimcompat.legacy.contrib import COVERED
from slimcompat.legacy.program import Evidence, analyse_tree
from slimcompat.migrate import (era, imports, keras1, keras2_kept, keras3, keras_fixes, numpy_names, prelude, usages,
                                v1_only)
from slimcompat.migrate.resolve import CONTRIB

__all__ = ["SlimChangeSpec"]

_PRUNED_TABLES = ("function_transformers", "function_warnings", "function_arg_warnings",
                  "function_keyword_renames", "function_reorders")


class SlimChangeSpec(tf_upgrade_v2.TFAPIChangeSpec):
    """TFAPIChangeSpec plus tensorflow.contrib -> tf_slim (see the module doc)."""

    def __init__(self, import_rename=False, upgrade_compat_v1_import=False):
        super().__init__(import_rename=import_rename,
                         upgrade_compat_v1_import=upgrade_compat_v1_import)
        self.symbol_renames = dict(self.symbol_renames)
        self._prune()

    def _prune(self):
        for table_name in _PRUNED_TABLES:
            table = getattr(self, table_name)
            setattr(self, table_name, {key: value for key, value in table.items()
                                       if not self._covered(key)})
        self.module_deprecations = {key: value for key, value in self.module_deprecations.items()
                                    if key != "tf.contrib"}

    def _covered(self, key):
        """Whether a table key names something in a covered contrib module that
        TF does not itself rename (TF's own renames keep their companions)."""
        root, _, rest = key.partition(".")
        if root == "tf":
            legacy = "tensorflow." + rest
        elif root == "slim":
            legacy = f"{CONTRIB}.slim.{rest}"
        elif root.startswith("contrib_"):
            legacy = f"{CONTRIB}.{root[len('contrib_'):]}.{rest}"
        else:
            return False
        parts = legacy.split(".")
        return (len(parts) > 2 and parts[1] == "contrib" and parts[2] in COVERED
                and key not in self.symbol_renames)

    def preprocess(self, root_node):
        root_node, logs, _ = super().preprocess(root_node)
        logs = list(logs)
        self._prune()
        legacy = imports.bindings(root_node)
        program = analyse_tree(root_node)
        tf1_file = bool(program.tf1())
        kept_on_keras2 = program.keras3_cannot or _keras_models_in_graph_mode(program, tf1_file)
        logs += imports.rewrite(root_node)
        modern = imports.bindings(root_node)
        top_level = imports.bindings(root_node, top_level=True)
        found = usages.scan(root_node, legacy, modern, top_level, handled=self.symbol_renames)
        logs += found.logs
        self.symbol_renames.update(found.renames)
        v1_renames, v1_served = v1_only.scan(root_node, legacy, tf1_file, self.symbol_renames)
        self.symbol_renames.update(v1_renames)
        needed = set(found.needed)
        if _uses_tf_slim(modern, needed):
            roots = [name for name, path in modern.items() if path == "tensorflow"]
            fixes = keras_fixes.transformers(roots)
            self.function_transformers.update(fixes)
            self.function_warnings.update(keras_fixes.warnings(roots))
            if keras_fixes.calls(root_node, fixes):
                needed.add("tf_slim")
        logs += keras1.merges(root_node, imports.bindings(root_node)) + numpy_names.rewrite(root_node, modern)
        if kept_on_keras2:
            logs += keras2_kept.rewrite(root_node, kept_on_keras2)
            keras_runtime = False
        else:
            self.symbol_renames = era.keras3_renames(self.symbol_renames)
            keras_logs, keras_runtime = keras3.rewrite(root_node, imports.bindings(root_node))
            logs += keras_logs
        era_logs, era_needs = era.rewrite(root_node, imports.bindings(root_node),
                                          metric_names=not (kept_on_keras2 and tf1_file),
                                          keras2_era=is_keras2_era(program))
        logs += era_logs
        keras1_logs, keras1_needs = keras1.rewrite(root_node, imports.bindings(root_node))
        logs += keras1_logs
        for module in sorted(keras1_needs | era_needs):
            logs += prelude.add_before(root_node, module, "a rewritten Keras 1 argument or Keras 1.x-2.3 default needs it")
        logs += prelude.add(root_node, needed, tf1_file)
        if v1_served:
            logs += prelude.add_before(root_node, "slimcompat", "its runtime repairs serve tf.estimator and "
                                       "TF1's tf.layers on TF 2.16+")
        if keras_runtime:
            logs += prelude.add_before(root_node, keras3.RUNTIME, "the Keras 2 code it calls or imports needs it")
        return root_node, logs, [log for log in logs if log[0] != "INFO"]


def _keras_models_in_graph_mode(program, tf1_file):
    """[Evidence] if the file builds Keras models and gets TF1 graph mode: Keras 3 cannot train in graph mode,
    tf-keras can (what `run` gives such a program), so the file keeps Keras 2."""
    if not tf1_file or program.keras3:
        return []
    models = [e for e in program.keras + program.tf_keras
              if any(part in e.construct for part in (".layers", ".models", "Sequential", "Model"))]
    tf1 = program.tf1()
    if not models:
        return []
    return [Evidence(f"Keras models in TF1 graph mode ({models[0].construct}, {tf1[0].construct})",
                     models[0].path, models[0].line)]


def _uses_tf_slim(modern, needed):
    return any(path.split(".")[0] == "tf_slim" for path in [*modern.values(), *needed])
