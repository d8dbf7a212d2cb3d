"""tf.estimator on TF 2.16+: tensorflow-estimator 2.15.0 plus slimcompat's repairs.

A program in the style of the TF 1.x Estimator tutorials (a `model_fn` with
`tf.layers`, `numpy_input_fn`, train / evaluate / predict, `export_savedmodel`)
and one with premade estimators on feature columns run through `slimcompat run`;
the tutorial program runs again after `slimcompat migrate` with plain python.
"""

import json
import textwrap

import pytest

from conftest import run_python, slimcompat

pytestmark = pytest.mark.programs  # whole era programs under run and migrated: tier programs

# Written for this test in the style of the TF 1.x "Creating Estimators in tf.estimator" tutorials.
TUTORIAL = textwrap.dedent('''
    """Three-class toy data, a two-layer network, trained, evaluated and exported with tf.estimator."""
    import json
    import sys

    import numpy as np
    import tensorflow as tf

    tf.logging.set_verbosity(tf.logging.ERROR)
    OUT, MODEL_DIR, EXPORT_DIR = sys.argv[1:4]


    def model_fn(features, labels, mode, params):
        hidden = tf.layers.dense(features["x"], params["hidden"], activation=tf.nn.relu)
        logits = tf.layers.dense(hidden, 3)
        predictions = {"classes": tf.argmax(logits, axis=1), "probabilities": tf.nn.softmax(logits)}
        if mode == tf.estimator.ModeKeys.PREDICT:
            return tf.estimator.EstimatorSpec(mode, predictions=predictions, export_outputs={
                "serving_default": tf.estimator.export.PredictOutput(predictions)})
        loss = tf.losses.sparse_softmax_cross_entropy(labels=labels, logits=logits)
        if mode == tf.estimator.ModeKeys.TRAIN:
            optimizer = tf.train.GradientDescentOptimizer(learning_rate=0.2)
            train_op = optimizer.minimize(loss, global_step=tf.train.get_global_step())
            return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train_op)
        accuracy = tf.metrics.accuracy(labels=labels, predictions=predictions["classes"])
        return tf.estimator.EstimatorSpec(mode, loss=loss, eval_metric_ops={"accuracy": accuracy})


    def serving_input_receiver_fn():
        x = tf.placeholder(tf.float32, [None, 4], name="x")
        return tf.estimator.export.ServingInputReceiver({"x": x}, {"x": x})


    def main(_):
        rng = np.random.RandomState(0)
        x = rng.randn(96, 4).astype(np.float32)
        y = ((x[:, 0] > 0).astype(np.int32) + (x[:, 1] > 0.5)).astype(np.int32)
        classifier = tf.estimator.Estimator(model_fn=model_fn, model_dir=MODEL_DIR, params={"hidden": 16})
        train_input = tf.estimator.inputs.numpy_input_fn({"x": x}, y, batch_size=32, num_epochs=None, shuffle=True)
        eval_input = tf.estimator.inputs.numpy_input_fn({"x": x}, y, num_epochs=1, shuffle=False)
        classifier.train(input_fn=train_input, steps=1)
        first = classifier.evaluate(input_fn=eval_input)
        classifier.train(input_fn=train_input, steps=40)
        last = classifier.evaluate(input_fn=eval_input)
        predicted = list(classifier.predict(tf.estimator.inputs.numpy_input_fn({"x": x[:4]}, shuffle=False)))
        export = classifier.export_savedmodel(EXPORT_DIR, serving_input_receiver_fn)
        with open(OUT, "w") as f:
            json.dump({"first": {k: float(v) for k, v in first.items()}, "last": {k: float(v) for k, v in last.items()},
                       "classes": [int(p["classes"]) for p in predicted],
                       "export": export.decode() if isinstance(export, bytes) else export}, f)


    if __name__ == "__main__":
        tf.app.run(main)
''')

# Premade estimators on feature columns, TF 1.x style.
PREMADE = textwrap.dedent('''
    import json
    import sys

    import numpy as np
    import tensorflow as tf

    tf.logging.set_verbosity(tf.logging.ERROR)
    rng = np.random.RandomState(1)
    x = rng.randn(64, 3).astype(np.float32)
    y = (x[:, 0] - x[:, 2] > 0).astype(np.int32)
    columns = [tf.feature_column.numeric_column("x", shape=[3])]
    results = {}
    for name, estimator in (("dnn", tf.estimator.DNNClassifier(hidden_units=[8], feature_columns=columns)),
                            ("linear", tf.estimator.LinearClassifier(feature_columns=columns))):
        train = tf.estimator.inputs.numpy_input_fn({"x": x}, y, batch_size=16, num_epochs=None, shuffle=True)
        estimator.train(train, steps=30)
        metrics = estimator.evaluate(tf.estimator.inputs.numpy_input_fn({"x": x}, y, shuffle=False))
        serving = tf.estimator.export.build_parsing_serving_input_receiver_fn(
            tf.feature_column.make_parse_example_spec(columns))
        export = estimator.export_saved_model(sys.argv[2] + "/" + name, serving)
        results[name] = {"accuracy": float(metrics["accuracy"]), "export": export.decode()}
    with open(sys.argv[1], "w") as f:
        json.dump(results, f)
''')

LOAD = "import sys, tensorflow as tf; m = tf.saved_model.load(sys.argv[1]); print(sorted(m.signatures))"


def _check_tutorial(result):
    assert result["last"]["loss"] < 0.8 * result["first"]["loss"], result
    assert {"accuracy", "loss", "global_step"} <= set(result["last"])
    assert result["last"]["global_step"] == 41 and result["last"]["accuracy"] > result["first"]["accuracy"]
    assert len(result["classes"]) == 4 and set(result["classes"]) <= {0, 1, 2}


def _check_export(export):
    from pathlib import Path
    assert (Path(export) / "saved_model.pb").is_file()
    assert "serving_default" in run_python("-c", LOAD, export).stdout


@pytest.fixture(scope="module")
def tutorial(module_tmp):
    folder = module_tmp("estimator")
    (folder / "tutorial.py").write_text(TUTORIAL)
    return folder


def test_a_tf1_tutorial_estimator_trains_evaluates_and_exports_under_run(tutorial):
    out = slimcompat("run", tutorial / "tutorial.py", tutorial / "run.json", tutorial / "model", tutorial / "export",
                     cwd=tutorial)
    banner = [line for line in out.stderr.splitlines() if line.startswith("slimcompat run:")]
    assert banner[0].startswith("slimcompat run: TF1 API in graph mode") and "Keras 2" in banner[0], banner
    assert "tf.estimator" in banner[0]
    result = json.loads((tutorial / "run.json").read_text())
    _check_tutorial(result)
    _check_export(result["export"])


def test_the_tutorial_after_migrate_runs_with_plain_python(tutorial, capsys):
    from slimcompat.cli.main import main
    assert main(["migrate", str(tutorial / "tutorial.py"), str(tutorial / "migrated.py")]) == 0
    migrated = (tutorial / "migrated.py").read_text()
    assert "tf.compat.v1.estimator.inputs.numpy_input_fn" in migrated and "import slimcompat" in migrated
    run_python(tutorial / "migrated.py", tutorial / "migrated.json", tutorial / "model2", tutorial / "export2",
               cwd=tutorial, env={"TF_USE_LEGACY_KERAS": None})
    result = json.loads((tutorial / "migrated.json").read_text())
    _check_tutorial(result)
    _check_export(result["export"])


def test_premade_estimators_on_feature_columns_run(tmp_path):
    (tmp_path / "premade.py").write_text(PREMADE)
    slimcompat("run", tmp_path / "premade.py", tmp_path / "out.json", tmp_path / "export", cwd=tmp_path)
    result = json.loads((tmp_path / "out.json").read_text())
    for name in ("dnn", "linear"):
        assert result[name]["accuracy"] > 0.7, result
        _check_export(result[name]["export"])


def test_estimator_repairs_are_listed_and_idempotent():
    out = run_python("-c", textwrap.dedent("""
        import sys, slimcompat, tensorflow as tf
        print('tensorflow_estimator' in sys.modules)
        from slimcompat.runtime import REPAIRS, apply_all
        import tensorflow_estimator
        apply_all(); apply_all()
        names = [r.name for r in REPAIRS if r.applied and ('estimator' in r.name or 'tpu' in r.name)]
        print(len(names), all(not r.needed() for r in REPAIRS), tf.estimator.Estimator.__module__)
        from tensorflow.python.tpu import tpu_embedding
        try:
            tpu_embedding.TPUEmbedding()
        except Exception as exc:
            print(type(exc).__name__, exc)
    """))
    lines = out.stdout.splitlines()
    assert lines[0] == "False"
    count, none_needed, module = lines[1].split()
    assert int(count) == 8 and none_needed == "True" and module.startswith("tensorflow_estimator.")
    assert lines[2].startswith("RemovedAPIError tensorflow.python.tpu.tpu_embedding.TPUEmbedding: TPUEstimator's")


def test_migrate_keeps_premade_estimators_on_keras2_set_before_tensorflow():
    """Premade estimators and feature columns are built on tf.keras 2 (DenseFeatures): the migrated file keeps
    Keras 2 by setting TF_USE_LEGACY_KERAS itself before TensorFlow is imported; a model_fn Estimator does not."""
    from slimcompat.migrate import migrate_source
    from slimcompat.migrate.keras2_kept import LEGACY_KERAS_LINE
    text, logs = migrate_source(PREMADE)
    assert text.index(LEGACY_KERAS_LINE) < text.index("import slimcompat") < text.index("import tensorflow as tf")
    assert "import os\n" + LEGACY_KERAS_LINE in text
    assert [m for level, _, _, m in logs if level == "INFO" and "TF_USE_LEGACY_KERAS" in m]
    assert "TF_USE_LEGACY_KERAS" not in migrate_source(TUTORIAL)[0]


@pytest.mark.slow
def test_premade_estimators_after_migrate_run_with_plain_python(tmp_path):
    from slimcompat.cli.main import main
    (tmp_path / "premade.py").write_text(PREMADE)
    assert main(["migrate", str(tmp_path / "premade.py"), str(tmp_path / "migrated.py")]) == 0
    run_python(tmp_path / "migrated.py", tmp_path / "out.json", tmp_path / "export", cwd=tmp_path,
               env={"TF_USE_LEGACY_KERAS": None})
    result = json.loads((tmp_path / "out.json").read_text())
    for name in ("dnn", "linear"):
        assert result[name]["accuracy"] > 0.7, result
        _check_export(result[name]["export"])
