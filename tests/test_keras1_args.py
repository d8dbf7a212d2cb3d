"""Keras 1 arguments in Keras-era programs: `run` converts them as Keras 2.0-2.3 did, never silently otherwise."""

import inspect
import json
import re
import textwrap

import pytest

from conftest import run_python, slimcompat
from slimcompat.keras2 import keras1_args
from slimcompat.legacy.program import analyse

pytestmark = pytest.mark.programs  # whole era programs under run and migrated: tier programs

# A program of 2017 in Keras 1 style (as keras/examples/mnist_cnn.py was), which Keras 2.2 ran with warnings.
KERAS1_PROGRAM = """
import json, sys
import numpy as np
from keras.models import Sequential, Model
from keras.layers import Input, Dense, Dropout, Activation, Flatten, BatchNormalization
from keras.layers import Convolution2D, Conv2D, MaxPooling2D
from keras.optimizers import SGD
from keras.preprocessing.image import ImageDataGenerator
from keras import backend as K
K.set_image_dim_ordering('tf')
nb_filters, kernel_size = 4, (3, 3)
x = np.random.RandomState(0).rand(16, 12, 12, 1).astype('float32')
y = np.eye(3)[np.random.RandomState(1).randint(0, 3, 16)]
model = Sequential()
model.add(Convolution2D(nb_filters, kernel_size[0], kernel_size[1], border_mode='valid', input_shape=(12, 12, 1)))
model.add(BatchNormalization(mode=0, gamma_init='one'))
model.add(Activation('relu'))
model.add(Conv2D(nb_filters, 3, 3, init='he_normal'))
model.add(MaxPooling2D(pool_size=(2, 2), dim_ordering='tf'))
model.add(Dropout(p=0.25))
model.add(Flatten())
model.add(Dense(output_dim=3, activation='softmax'))
inp = Input(shape=(12, 12, 1))
functional = Model(input=inp, output=model(inp))
functional.compile(loss='categorical_crossentropy', optimizer=SGD(lr=0.1, decay=0.5), metrics=['accuracy'])
functional.fit_generator(ImageDataGenerator().flow(x, y, batch_size=4), samples_per_epoch=8, nb_epoch=1, verbose=0)
functional.fit(x, y, batch_size=8, nb_epoch=1, verbose=0)
optimizer = functional.optimizer
json.dump({
    "shapes": [list(layer.output.shape[1:]) for layer in model.layers[:5]],
    "ordering": K.image_dim_ordering(),
    "optimizer": type(optimizer).__module__,
    "decayed_lr": float(optimizer._decayed_lr('float32') if hasattr(optimizer, '_decayed_lr')
                        else optimizer.learning_rate),
    "iterations": int(optimizer.iterations.numpy()),
    "classes": model.predict_classes(x[:4]).tolist() if hasattr(model, 'predict_classes') else
               model.predict(x[:4]).argmax(-1).tolist(),
    "argmax": model.predict(x[:4]).argmax(-1).tolist(),
}, open(sys.argv[1], 'w'))
"""


@pytest.fixture(scope="module")
def keras1_run(module_tmp):
    """The Keras 1 program, run once through `slimcompat run`: (its folder, the run, what it wrote)."""
    folder = module_tmp("keras1")
    program = folder / "keras1_mnist.py"
    program.write_text(textwrap.dedent(KERAS1_PROGRAM))
    result = slimcompat("run", program, folder / "run.json", cwd=folder)
    return folder, result, json.loads((folder / "run.json").read_text())


def test_a_keras1_program_runs_with_keras_2_3s_readings(keras1_run):
    _, result, out = keras1_run
    # Convolution2D(4, 3, 3) and, in this Keras 1 program, Conv2D(4, 3, 3): 3x3 kernels with strides 1.
    assert out["shapes"] == [[10, 10, 4], [10, 10, 4], [10, 10, 4], [8, 8, 4], [4, 4, 4]]
    assert out["ordering"] == "tf"
    assert out["classes"] == out["argmax"]  # Sequential.predict_classes, gone since tf.keras 2.6
    # `decay` is Keras 2's time-based decay: lr / (1 + decay * iterations), after 2 + 2 steps.
    assert out["optimizer"].startswith("tf_keras.src.optimizers.legacy") and out["iterations"] == 4
    assert out["decayed_lr"] == pytest.approx(0.1 / (1 + 0.5 * 4))
    for update in ("`Dense` call to the Keras 2 API: output_dim=3 -> units=3",
                   "`Model` call to the Keras 2 API: input -> inputs, output -> outputs",
                   "`fit_generator` call to the Keras 2 API: nb_epoch=1 -> epochs=1, samples_per_epoch=8",
                   "`MaxPooling2D` call to the Keras 2 API: dim_ordering='tf' -> data_format='channels_last'"):
        assert update in result.stderr


def test_after_migrate_the_keras1_program_runs_on_keras3_with_the_same_readings(keras1_run, tmp_path):
    folder, _, ran = keras1_run
    program = tmp_path / "keras1_mnist.py"
    program.write_text((folder / "keras1_mnist.py").read_text())
    migrated = slimcompat("migrate", program, cwd=tmp_path)
    report = migrated.stdout + migrated.stderr
    source = program.read_text()
    for rewritten in ("Convolution2D(nb_filters, (kernel_size[0], kernel_size[1]), padding='valid'",
                      "Conv2D(nb_filters, (3, 3), kernel_initializer='he_normal')",
                      "learning_rate=keras.optimizers.schedules.InverseTimeDecay(0.1, 1, 0.5)",
                      "functional.fit(ImageDataGenerator().flow(x, y, batch_size=4), steps_per_epoch=(8) // 4",
                      "BatchNormalization(gamma_initializer='one')", "K.set_image_data_format('channels_last')",
                      "Model(inputs=inp, outputs=model(inp))", "data_format='channels_last'", "Dense(units=3"):
        assert rewritten in source, (rewritten, source)
    assert re.search(r"keras1_mnist.py:\d+:\d+: INFO: Changed \"Convolution2D\(nb_filters, kernel_size", report)
    assert "0 error(s)" in report
    run_python(program, tmp_path / "migrated.json", cwd=tmp_path, env={"TF_USE_LEGACY_KERAS": None})
    migrated = json.loads((tmp_path / "migrated.json").read_text())
    assert migrated["optimizer"].startswith("keras.src.optimizers")  # Keras 3's own
    for key in ("shapes", "ordering", "iterations"):
        assert migrated[key] == ran[key], key
    assert migrated["decayed_lr"] == pytest.approx(ran["decayed_lr"], rel=1e-6)


def test_samples_per_epoch_counts_batches_as_keras_2_3_did(write, tmp_path):
    # 8 samples in batches of 4: two steps; then fit's two steps of 8. Four in all (checked above too).
    program = write("steps.py", textwrap.dedent(KERAS1_PROGRAM).replace("functional.fit(x, y", "0 and functional.fit(x, y"))
    slimcompat("run", program, tmp_path / "out.json", cwd=tmp_path)
    assert json.loads((tmp_path / "out.json").read_text())["iterations"] == 2


@pytest.mark.parametrize("keras1_elsewhere, shape", [
    (False, [5, 5, 2]),    # tf.keras' reading: kernel 3, strides 2
    (True, [10, 11, 2]),   # Keras 2.0-2.3's reading: a 3x2 kernel, strides 1
])
def test_conv2d_with_three_numbers_is_read_by_the_programs_era_and_never_silently(write, tmp_path, keras1_elsewhere,
                                                                                   shape):
    source = textwrap.dedent(f"""
        import sys
        from keras.layers import Conv2D, Dense, Input
        inp = Input(shape=(12, 12, 1))
        out = Conv2D(2, 3, 2)(inp)
        {"Dense(output_dim=2)" if keras1_elsewhere else "Dense(units=2)"}
        open(sys.argv[1], 'w').write(str(list(out.shape[1:])))
        """)
    program = write("conv.py", source)
    result = slimcompat("run", program, tmp_path / "out.txt", cwd=tmp_path)
    assert (tmp_path / "out.txt").read_text() == str(shape)
    if keras1_elsewhere:
        assert "`Conv2D` call to the Keras 2 API: Conv2D(..., 3, 2) -> kernel_size=(3, 2)" in result.stderr
    else:
        line = next(line for line in result.stderr.splitlines() if "Conv2D(2, 3, 2) is read" in line)
        assert "kernel_size=3, strides=2" in line and "write Conv2D(2, (3, 2)) if that was meant" in line
        assert line.startswith("slimcompat run: warning: ") and line.endswith("(conv.py:5)")


def test_a_removed_batchnorm_mode_is_one_line(write, tmp_path):
    program = write("bn.py", "from keras.layers import BatchNormalization\nBatchNormalization(mode=2)\n")
    result = slimcompat("run", program, cwd=tmp_path, check=False)
    assert result.returncode != 0
    assert "BatchNormalization(mode=2): Keras 2 removed modes 1 and 2" in result.stderr


def test_the_analysis_names_keras1_evidence_and_the_kernel_sites(write):
    program = analyse(write("p.py", textwrap.dedent("""
        from keras.layers import Conv2D, Convolution2D
        a = Convolution2D(8, 3, 3)
        b = Conv2D(8, 3,
                   3)
        c = Conv2D(8, 3, 3, padding='same')
        """)))
    assert [str(e) for e in program.keras1] == ["Convolution2D() at p.py:3"]
    assert program.keras_version()[0] == "2"
    assert {line for _, line in program.kernel_sites()} == {3, 4, 5}


# Arguments both libraries take through **kwargs, not in the signature (checked by constructing below).
_FROM_KWARGS = {"LSTM": {"implementation"}, "GRU": {"implementation"}, "SimpleRNN": {"implementation"}}


def _parameters(cls):
    names = set()
    for klass in inspect.getmro(cls):
        if "__init__" in vars(klass):
            names |= set(inspect.signature(klass.__init__).parameters)
    return names


def test_every_rename_lands_on_an_argument_tf_keras_and_keras3_take():
    """The table is data: a typo in a Keras 2 name would pass Keras 1's argument on as an unknown keyword."""
    import keras
    import tf_keras
    from keras.src.models.functional import Functional as Keras3Functional
    from tf_keras.src.engine.functional import Functional
    for library, functional in ((tf_keras, Functional), (keras, Keras3Functional)):
        for layer, renames in keras1_args.LAYERS.items():
            accepted = _parameters(getattr(library.layers, layer)) | _FROM_KWARGS.get(layer, set())
            assert set(renames.values()) <= accepted, (library.__name__, layer, set(renames.values()) - accepted)
        assert set(keras1_args.MODEL.values()) <= _parameters(functional)
    for method, renames in keras1_args.METHODS.items():
        assert set(renames.values()) <= set(inspect.signature(getattr(tf_keras.Model, method)).parameters), method
        for layer in ("LSTM", "GRU"):
            getattr(library.layers, layer)(2, implementation=1)  # taken, not refused
    for name, argument in keras1_args.OPTIMIZERS.items():
        legacy = getattr(tf_keras.optimizers.legacy, name)(**{argument: 0.5})
        assert float(legacy.decay) == 0.5  # Nadam keeps its schedule_decay there
        with pytest.raises(Exception):
            getattr(tf_keras.optimizers, name)(**{argument: 0.5})  # why the legacy one is served
