"""TF1 APIs TensorFlow's own rename table no longer knows: `tf.layers`, `tf.estimator`, TF1 summaries.

tf_upgrade_v2's table is generated from the installed TensorFlow's API; since
TF 2.16 that API has no `tf.compat.v1.layers` of its own (it routes to Keras)
and no `tf.estimator`, so `tf.layers.dense` and
`tf.estimator.inputs.numpy_input_fn` pass through unconverted and fail under
TF 2. In a TF1 file each use becomes its `tf.compat.v1` spelling (the v1
Estimator keeps `export_savedmodel`); in any file that uses them the file gets
`import slimcompat` before TensorFlow, whose runtime repairs serve both
(slimcompat.runtime.estimator, and tf-keras' TF1 layers under Keras 3).
`tf.summary.scalar` and its siblings kept their names in TF 2 but became
TensorBoard's eager writers, so the table has no rename for them either: in a
TF1 file they become `tf.compat.v1.summary.*`, the graph ops `merge_all`
collects.
"""

from slimcompat.migrate.usages import attribute_chains

__all__ = ["V1_ONLY", "scan"]

V1_ONLY = ("layers", "estimator", "summary.scalar", "summary.histogram", "summary.image", "summary.audio",
           "summary.text")
_SERVED = ("tensorflow.compat.v1.layers", "tensorflow.compat.v1.estimator", "tensorflow.compat.v2.estimator",
           "tensorflow.layers", "tensorflow.estimator", "tensorflow_estimator")


def scan(tree, bindings, tf1_file, handled):
    """({spelled chain: its tf.compat.v1 spelling}, whether the file needs slimcompat's repairs)."""
    renames, served = {}, any(_under(path, _SERVED) for path in bindings.values())
    for _, parts in attribute_chains(tree):
        if parts[0] not in bindings:
            continue
        full = ".".join([bindings[parts[0]], *parts[1:]])
        served = served or _under(full, _SERVED)
        if (tf1_file and bindings[parts[0]] == "tensorflow" and len(parts) > 2
                and _under(".".join(parts[1:]), V1_ONLY)
                and not any(".".join(parts[:k]) in handled for k in range(2, len(parts) + 1))):
            renames[".".join(parts)] = ".".join([parts[0], "compat", "v1", *parts[1:]])
    return renames, served


def _under(full, modules):
    return any(full == m or full.startswith(m + ".") for m in modules)
