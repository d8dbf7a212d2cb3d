"""Where each `tensorflow.contrib` module TF1 slim code imports lives now.

Declared once and used twice: by the import hook (`slimcompat run`, and
`slimcompat.legacy.enable()`) to serve the old names at run time, and by
`slimcompat migrate` to rewrite the import statements in source.

PREFIXES maps a legacy package to the tf_slim package that replaced it, with
every submodule following (`tensorflow.contrib.slim.python.slim.nets.resnet_v2`
-> `tf_slim.nets.resnet_v2`). COMPOSITES are legacy namespaces whose names now
come from several modules, looked up in order. CALL_ONLY are modules with no
TF 2 equivalent that well-known programs import at top level but call only
behind a flag (research/slim's train_image_classifier.py imports
`tensorflow.contrib.quantize` and calls it only with `--quantize_delay`): they
import, and a call fails with one line naming what was called.
"""

from slimcompat.runtime.aliases import resolve_prefix

__all__ = ["PREFIXES", "COMPOSITES", "CALL_ONLY", "UNSUPPORTED", "COVERED", "modern_name"]

PREFIXES = {
    "tensorflow.contrib.slim": "tf_slim",
    "tensorflow.contrib.slim.nets": "tf_slim.nets",
    "tensorflow.contrib.slim.python.slim": "tf_slim",
    "tensorflow.contrib.slim.python.slim.nets": "tf_slim.nets",
    "tensorflow.contrib.layers.python.layers": "tf_slim.layers",
    "tensorflow.contrib.framework.python.ops": "tf_slim.ops",
    "tensorflow.contrib.losses.python.losses": "tf_slim.losses",
    "tensorflow.contrib.losses.python.metric_learning": "tf_slim.losses.metric_learning",
    "tensorflow.contrib.metrics.python.ops": "tf_slim.metrics",
    "tensorflow.contrib.training.python.training": "tf_slim.training",
    # contrib.learn's MNIST reader, which TF 1.x tutorials and programs load their data with
    "tensorflow.contrib.learn.python.learn.datasets.mnist": "slimcompat.legacy.tf1_mnist",
    "tensorflow.contrib.learn.datasets.mnist": "slimcompat.legacy.tf1_mnist",
    # contrib.image's projective transforms (rotate, translate, transform), on TF 2's own kernel
    "tensorflow.contrib.image": "slimcompat.legacy.contrib_image",
}

COMPOSITES = {
    "tensorflow.contrib.layers": (
        ("tf_slim.layers", "tf_slim"),
        "tf.contrib.layers, served by tf_slim.layers (layers, initializers, regularizers, "
        "optimizers, summaries)."),
    "tensorflow.contrib.framework": (
        ("tf_slim.ops.arg_scope", "tf_slim.ops.variables", "tensorflow.compat.v1.train",
         "tensorflow.compat.v1"),
        "tf.contrib.framework, served by tf_slim.ops (arg_scope, variables) and tf.compat.v1."),
    "tensorflow.contrib.losses": (
        ("tf_slim.losses",), "tf.contrib.losses, served by tf_slim.losses."),
    "tensorflow.contrib.metrics": (
        ("tf_slim.metrics",), "tf.contrib.metrics, served by tf_slim.metrics."),
    "tensorflow.contrib.training": (
        ("tf_slim.training.training", "tf_slim.training.evaluation"),
        "tf.contrib.training, served by tf_slim.training (create_train_op, train, "
        "evaluate_repeatedly)."),
}

_CALL_ONLY_REASON = ("removed in TF 2 with tensorflow.contrib; slimcompat lets programs import it "
                     "but cannot run it ({})")

CALL_ONLY = {
    "tensorflow.contrib.quantize": _CALL_ONLY_REASON.format(
        "quantization-aware training now lives in tensorflow_model_optimization"),
    "tensorflow.contrib.tpu": _CALL_ONLY_REASON.format("TPU training now uses tf.distribute.TPUStrategy"),
    "tensorflow.contrib.cluster_resolver": _CALL_ONLY_REASON.format(
        "cluster resolvers now live in tf.distribute.cluster_resolver"),
}

COVERED = sorted({name.split(".")[2] for name in [*PREFIXES, *COMPOSITES]})

UNSUPPORTED = {
    "tensorflow.contrib": (
        "this tensorflow.contrib module was removed in TF 2 and slimcompat does not provide it "
        f"(provided: {', '.join('tensorflow.contrib.' + c for c in COVERED)})"),
}


def modern_name(legacy):
    """The module a `tensorflow.contrib...` import now names, or None.

    Composites have no single modern module and return None.
    """
    return resolve_prefix(PREFIXES, legacy)
