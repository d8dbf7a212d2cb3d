"""Defaults and names whose meaning changed since Keras 1.x-2.3 keep the author's meaning, never silently.

Each program here is run through `slimcompat run` (a subprocess: it sets interpreter-wide
state) and prints what it saw at run time; `migrate` is checked on the same programs,
migrated and run on Keras 3.
"""

import json
import re
import textwrap

import pytest

from conftest import run_python, slimcompat

pytestmark = pytest.mark.programs  # whole era programs under run and migrated: tier programs

# A Keras 1/2.2 program as its author published it: string optimizer, 'val_acc', history['acc'].
ERA_PROGRAM = """
import json, os, sys
import numpy as np
from keras.models import Sequential
from keras.layers import Dense, Embedding, Flatten
from keras.optimizers import Adadelta, Adagrad
from keras.callbacks import ModelCheckpoint, EarlyStopping, ReduceLROnPlateau
from keras import backend as K
x = np.random.RandomState(0).randint(0, 20, (16, 4))
y = np.eye(2)[np.random.RandomState(1).randint(0, 2, 16)]
model = Sequential()
model.add(Embedding(20, 3, input_length=4, dropout=0.5))
model.add(Flatten())
model.add(Dense(2, activation='softmax'))
model.compile(loss='categorical_crossentropy', optimizer='adadelta', metrics=['accuracy'])
best = os.path.join(sys.argv[2], 'best.h5')
history = model.fit(x, y, validation_data=(x, y), epochs=1, batch_size=8, verbose=0, callbacks=[
    ModelCheckpoint(best, monitor='val_acc', save_best_only=True),
    EarlyStopping(monitor='val_acc', patience=2),
    ReduceLROnPlateau(monitor='val_acc', patience=2)])
emb = model.layers[0]
table = K.get_value(emb.embeddings)
ids = np.tile(np.arange(20), 2)[None]
trained = emb(ids, training=True).numpy()[0]
scales = [float(np.round(trained[i] / table[i % 20], 4).mean()) for i in range(40)]
json.dump({
    "compiled_lr": float(K.get_value(model.optimizer.learning_rate)),
    "adadelta_lr": float(K.get_value(Adadelta().learning_rate)),
    "adagrad": [float(K.get_value(Adagrad().learning_rate)), Adagrad().get_config()["initial_accumulator_value"]],
    "acc": history.history['acc'], "val_acc": history.history.get('val_acc'),
    "saved": os.path.exists(best),
    "scales": scales,
    "inference": bool(np.allclose(emb(ids, training=False).numpy()[0], np.tile(table, (2, 1)))),
}, open(sys.argv[1], 'w'))
"""


@pytest.fixture(scope="module")
def era_run(module_tmp):
    folder = module_tmp("era")
    program = folder / "era_program.py"
    program.write_text(textwrap.dedent(ERA_PROGRAM))
    result = slimcompat("run", program, folder / "out.json", folder, cwd=folder)
    return result, json.loads((folder / "out.json").read_text())


def test_optimizers_without_a_rate_get_the_keras_2_default_by_string_and_by_class(era_run):
    result, out = era_run
    assert out["compiled_lr"] == 1.0 and out["adadelta_lr"] == 1.0
    assert out["adagrad"][0] == pytest.approx(0.01) and out["adagrad"][1] == 0.0
    assert "era_program.py:15: Adadelta without learning_rate: learning_rate=1.0" in result.stderr
    assert re.search(r"era_program.py:\d+: Adagrad without learning_rate, initial_accumulator_value: "
                     r"learning_rate=0.01, initial_accumulator_value=0.0", result.stderr)


def test_val_acc_is_watched_and_history_answers_acc(era_run):
    result, out = era_run
    assert out["saved"], "ModelCheckpoint(monitor='val_acc', save_best_only=True) saved nothing"
    assert len(out["acc"]) == 1 and len(out["val_acc"]) == 1
    for line in ("era_program.py:18: ModelCheckpoint(monitor='val_acc'): tf-keras logs it as 'val_accuracy'",
                 "era_program.py:19: EarlyStopping(monitor='val_acc')",
                 "era_program.py:20: ReduceLROnPlateau(monitor='val_acc')",
                 "history['acc']: tf-keras logs it as 'accuracy'"):
        assert line in result.stderr
    assert "skipping" not in result.stderr


def test_embedding_dropout_drops_whole_words_as_keras_1_did(era_run):
    result, out = era_run
    scales = out["scales"]
    assert set(scales) == {0.0, 2.0}                            # dropped, or kept and scaled by 1 / (1 - 0.5)
    assert scales[:20] == scales[20:]                           # a word is dropped at every position
    assert out["inference"]
    assert "era_program.py:12: UserWarning: Update your `Embedding` call to the Keras 2 API: dropout=0.5" in \
        result.stderr


def test_tf_keras_code_keeps_tf_keras_defaults(write, tmp_path):
    program = write("tfk.py", textwrap.dedent("""
        import sys
        import tensorflow as tf
        open(sys.argv[1], 'w').write(str(float(tf.keras.optimizers.Adadelta().learning_rate.numpy())))
    """))
    result = slimcompat("run", "--keras", "2", program, tmp_path / "lr.txt", cwd=tmp_path)
    assert (tmp_path / "lr.txt").read_text() == "0.0010000000474974513"
    assert "Adadelta without" not in result.stderr


def test_the_table_holds_what_the_libraries_now_say():
    """Each `now` in the table is tf-keras' and Keras 3's default today: the table describes a real change."""
    import inspect
    import keras
    import tf_keras
    from slimcompat.keras2 import era_meanings
    for subject, defaults in era_meanings.OPTIMIZER_DEFAULTS.items():
        for library in (tf_keras, keras):
            parameters = inspect.signature(getattr(library.optimizers, subject).__init__).parameters
            for meaning in (m for m in era_meanings.MEANINGS if m.subject == subject):
                assert parameters[meaning.what].default == meaning.now != meaning.then, (library, meaning)


def test_after_migrate_the_program_means_the_same_on_keras3(era_run, tmp_path):
    _, ran = era_run
    program = tmp_path / "era_program.py"
    program.write_text(textwrap.dedent(ERA_PROGRAM))
    report = slimcompat("migrate", program, cwd=tmp_path).stdout
    source = program.read_text()
    for written in ("optimizer=keras.optimizers.Adadelta(learning_rate=1.0)", "monitor='val_accuracy'",
                    "Adagrad(learning_rate=0.01, initial_accumulator_value=0.0)", "history.history['accuracy']",
                    "slimcompat.keras2.Embedding(20, 3, input_length=4, dropout=0.5)"):
        assert written in source, (written, source)
    assert "0 error(s)" in report
    run_python(program, tmp_path / "out.json", tmp_path, cwd=tmp_path, env={"TF_USE_LEGACY_KERAS": None})
    out = json.loads((tmp_path / "out.json").read_text())
    for key in ("compiled_lr", "adadelta_lr", "adagrad", "saved", "inference"):
        assert out[key] == pytest.approx(ran[key]), key
    assert len(out["acc"]) == len(out["val_acc"]) == 1
    assert set(out["scales"]) == {0.0, 2.0} and out["scales"][:20] == out["scales"][20:]


# imdb.load_data(nb_words=) on a stand-in imdb.npz: the vocabulary is bound as the author asked.
IMDB_PROGRAM = """
import sys
from keras.datasets import imdb
sys.modules[imdb.load_data.__module__].get_file = lambda *args, **kwargs: sys.argv[1]
(x, _), _ = imdb.load_data(nb_words=50)
open(sys.argv[2], 'w').write(str(max(max(review) for review in x)))
"""


@pytest.fixture
def imdb_npz(tmp_path):
    import numpy as np
    reviews = np.empty(4, dtype=object)
    reviews[:] = [list(range(1, 200, 7)) for _ in range(4)]
    path = tmp_path / "imdb.npz"
    np.savez(path, x_train=reviews, y_train=np.zeros(4), x_test=reviews, y_test=np.zeros(4))
    return path


@pytest.mark.parametrize("mode", ["run", "migrate"])
def test_nb_words_bounds_the_vocabulary(write, tmp_path, imdb_npz, mode):
    program = write("imdb_program.py", textwrap.dedent(IMDB_PROGRAM))
    if mode == "run":
        slimcompat("run", program, imdb_npz, tmp_path / "max.txt", cwd=tmp_path)
    else:
        slimcompat("migrate", program, cwd=tmp_path)
        assert "imdb.load_data(num_words=50)" in program.read_text()
        run_python(program, imdb_npz, tmp_path / "max.txt", cwd=tmp_path, env={"TF_USE_LEGACY_KERAS": None})
    assert int((tmp_path / "max.txt").read_text()) < 50


def test_migrate_writes_period_as_save_freq_and_warns_what_it_cannot_say():
    from slimcompat.migrate import migrate_source
    text, logs = migrate_source(textwrap.dedent("""
        import keras
        from keras.callbacks import ModelCheckpoint
        every = ModelCheckpoint('w.keras', period=1)
        third = ModelCheckpoint('w.keras', period=3)
        model.fit(x, y, callbacks=[keras.callbacks.EarlyStopping(monitor='val_acc')])
    """))
    assert "ModelCheckpoint('w.keras', save_freq='epoch')" in text
    assert any(level == "WARNING" and line == 5 and "period=3" in message for level, line, _, message in logs)
    # No compile in this file says which metric 'val_acc' is: kept, and warned at its site.
    assert "monitor='val_acc'" in text
    assert any(level == "WARNING" and line == 6 and "'val_acc'" in message for level, line, _, message in logs)


def test_migrate_writes_period_times_the_fit_steps_and_otherwise_warns_every_epoch():
    """Keras 3 refuses `period` and counts an integer save_freq in batches: N epochs are N * steps_per_epoch
    batches where the fit given the callback says its steps (literally or through names bound before the
    callback); elsewhere the checkpoint becomes per-epoch, and the warning says so at its site."""
    from slimcompat.migrate import migrate_source
    text, logs = migrate_source(textwrap.dedent("""
        from tensorflow import keras
        STEPS = 100
        literal = keras.callbacks.ModelCheckpoint('a-{epoch}.weights.h5', save_weights_only=True, period=2)
        named = keras.callbacks.ModelCheckpoint('b-{epoch}.weights.h5', period=5)
        unknown = keras.callbacks.ModelCheckpoint('c-{epoch}.weights.h5', period=3)
        later = keras.callbacks.ModelCheckpoint('d-{epoch}.weights.h5', period=4)
        model.fit(ds, epochs=4, steps_per_epoch=50, callbacks=[literal])
        model.fit(ds, epochs=9, steps_per_epoch=STEPS // 2, callbacks=[named])
        model.fit(x, y, epochs=9, callbacks=[unknown])
        steps = 7
        model.fit(ds, epochs=9, steps_per_epoch=steps, callbacks=[later])
    """))
    assert "ModelCheckpoint('a-{epoch}.weights.h5', save_weights_only=True, save_freq=2 * 50)" in text
    assert "ModelCheckpoint('b-{epoch}.weights.h5', save_freq=5 * (STEPS // 2))" in text
    for name, line, period in (("c", 6, 3), ("d", 7, 4)):
        assert f"ModelCheckpoint('{name}-{{epoch}}.weights.h5', save_freq='epoch')" in text
        assert [m for level, at, _, m in logs if level == "WARNING" and at == line
                and f"every epoch instead of every {period}" in m], logs
    assert "period" not in "".join(line for line in text.splitlines() if "ModelCheckpoint" in line)


def test_tf_keras_optimizers_stay_keras3s_where_the_file_runs_keras3():
    """tf_upgrade_v2 moves tf.keras optimizers to `.legacy`, which Keras 3 lacks; Keras 3's own have the
    same defaults, and lr=/decay= are written out as Keras 3's learning rate and InverseTimeDecay."""
    from slimcompat.migrate import migrate_source
    text, _ = migrate_source(textwrap.dedent("""
        import tensorflow as tf
        a = tf.keras.optimizers.Adam()
        b = tf.keras.optimizers.SGD(lr=0.1, decay=1e-3, momentum=0.9)
    """))
    assert "legacy" not in text
    assert "a = tf.keras.optimizers.Adam()" in text
    assert ("tf.keras.optimizers.SGD(learning_rate=keras.optimizers.schedules.InverseTimeDecay(0.1, 1, 0.001), "
            "momentum=0.9)") in text


def test_the_legacy_optimizers_and_keras3s_take_the_same_defaults():
    """Why no default is written out when tf.keras' optimizers (tf-keras' legacy ones) become Keras 3's."""
    import inspect
    import keras
    import tf_keras
    from tensorflow.tools.compatibility import renames_v2
    moved = [new.rpartition(".")[2] for new in renames_v2.renames.values()
             if new.startswith("tf.keras.optimizers.legacy.") and new != "tf.keras.optimizers.legacy.Optimizer"]
    assert len(moved) >= 8
    for name in moved:
        def defaults(cls):
            return {k: p.default for k, p in inspect.signature(cls.__init__).parameters.items()
                    if p.default is not inspect.Parameter.empty and k != "name"}
        legacy, now = defaults(getattr(tf_keras.optimizers.legacy, name)), defaults(getattr(keras.optimizers, name))
        assert {k: v for k, v in legacy.items() if k in now} == {k: now[k] for k in legacy if k in now}, name
        assert set(legacy) <= set(now), name


def test_reset_states_of_a_keras_metric_becomes_reset_state():
    from slimcompat.migrate import migrate_source
    text, logs = migrate_source(textwrap.dedent("""
        import tensorflow as tf
        train_loss = tf.keras.metrics.Mean(name='train_loss')
        train_loss.reset_states()
        lstm = tf.keras.layers.LSTM(4, stateful=True)
        lstm.reset_states()
    """))
    assert "train_loss.reset_state()\n" in text and "lstm.reset_states()" in text
    assert [m for level, line, _, m in logs if level == "INFO" and line == 4 and "reset_state()" in m]
