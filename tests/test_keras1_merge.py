"""Keras 1's merge(mode=...) and Merge: `run` serves them as Keras 2's merge layers, `migrate` rewrites them."""

import importlib.util
import inspect
import textwrap

import keras
import numpy as np
import pytest
import tf_keras

from conftest import slimcompat
from slimcompat import migrate
from slimcompat.keras2 import keras1_merge, modules
from slimcompat.legacy.program import analyse


def _migrate(source):
    text, logs = migrate.migrate_source(textwrap.dedent(source))
    return text, sorted((level, line, message) for level, line, _, message in logs)


@pytest.mark.parametrize("library", [tf_keras, keras])
def test_every_mode_lands_on_a_function_and_layer_both_libraries_take(library):
    for mode, row in keras1_merge.MODES.items():
        for name in (row.function, row.layer):
            taken = set(inspect.signature(getattr(library.layers, name)).parameters)
            wanted = {*row.renames.values(), *row.fixed} - ({"kwargs"} if "kwargs" in taken else set())
            assert wanted <= taken | ({"normalize"} if "kwargs" in taken else set()), (mode, name)


def _served_merge(version):
    """Keras 2's `keras.layers.merge` module as `run` serves it, made without touching sys.modules."""
    finder = next(f for f in modules.finders(version) if f.root == "keras")
    spec = finder.find_spec("keras.layers.merge")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_served_keras_layers_merge_is_keras1s_function_and_still_the_module():
    merge = _served_merge("2")
    assert merge.Concatenate is tf_keras.layers.Concatenate
    a, b = tf_keras.Input((4,)), tf_keras.Input((4,))
    with pytest.warns(UserWarning, match=r"Update your `merge` call to the Keras 2 API: merge\(mode='concat'\) -> "
                                         r"concatenate\(axis=1\)"):
        out = merge([a, b], mode="concat", concat_axis=1)
    assert tuple(out.shape) == (None, 8)


def test_each_mode_means_what_keras_1_2_2_computed():
    a, b = tf_keras.Input((3,)), tf_keras.Input((3,))
    x, y = np.array([[1., 2., 2.]]), np.array([[2., 0., 1.]])
    expected = {"sum": x + y, "mul": x * y, "ave": (x + y) / 2, "max": np.maximum(x, y),
                "concat": np.concatenate([x, y], -1), "dot": np.array([[4.]]), "cos": np.array([[4. / (3 * 5 ** .5)]])}
    with pytest.warns(UserWarning):
        for mode, value in expected.items():
            model = tf_keras.Model([a, b], keras1_merge.merge([a, b], mode=mode))
            np.testing.assert_allclose(model.predict([x, y], verbose=0), value, rtol=1e-5, err_msg=mode)
        model = tf_keras.Model([a, b], keras1_merge.Merge(mode="mul")([a, b]))
        np.testing.assert_allclose(model.predict([x, y], verbose=0), x * y)
        difference = keras1_merge.merge([a, b], mode=lambda t: t[0] - t[1], output_shape=(3,))
        np.testing.assert_allclose(tf_keras.Model([a, b], difference).predict([x, y], verbose=0), x - y)


def test_a_sequential_merge_of_models_fails_in_one_line():
    with pytest.raises(TypeError, match=r"Keras 2's Sequential has one input: build a functional Model of "
                                        r"concatenate\(axis=1\)"):
        keras1_merge.Merge([object(), object()], mode="concat", concat_axis=1)


def test_the_analysis_reads_keras_merge_calls_as_keras1_and_no_other_merge(write):
    program = analyse(write("p.py", textwrap.dedent("""\
        from keras.layers import Input, merge
        import pandas as pd
        a = Input(shape=(3,))
        m = merge([a, a], mode='sum')
        t = pd.merge(x, y, how='left')
        """)))
    assert [str(e) for e in program.keras1] == ["merge() at p.py:4"]
    assert program.keras_version()[0] == "2"


def test_migrate_rewrites_literal_modes_and_the_import():
    text, logs = _migrate("""\
        from keras.layers import Input, merge, Merge
        import keras
        a, b = Input(shape=(4,)), Input(shape=(4,))
        c = merge([a, b], mode='concat', concat_axis=1)
        s = merge([a, b])
        d = merge([a, b], mode='cos', dot_axes=1, name='similarity')
        m = Merge(mode='max')([a, b])
        k = keras.layers.merge([a, b], mode='ave')
        """)
    assert text == textwrap.dedent("""\
        from keras.layers import Input, Add, Maximum, add, concatenate, dot
        import keras
        a, b = Input(shape=(4,)), Input(shape=(4,))
        c = concatenate([a, b], axis=1)
        s = add([a, b])
        d = dot([a, b], axes=1, normalize=True, name='similarity')
        m = Maximum()([a, b])
        k = keras.layers.average([a, b])
        """).replace("Add, ", "")
    assert ("INFO", 4, "Changed \"merge([a, b], mode='concat', concat_axis=1)\" to 'concatenate([a, b], axis=1)': "
            "Keras 2 replaced merge(mode='concat') by concatenate") in logs


def test_migrate_warns_where_the_mode_is_not_a_literal_and_keeps_merge():
    text, logs = _migrate("""\
        from keras.layers import Input, merge
        a = Input(shape=(4,))
        how = 'sum'
        m = merge([a, a], mode=how)
        """)
    assert "merge([a, a], mode=how)" in text and "import Input, merge" in text
    assert [entry for entry in logs if entry[0] == "WARNING" and "mode=" in entry[2]] == [
        ("WARNING", 4, "merge(mode=how) left as it is: Keras 2 has no merge, and the mode is not a literal 'sum', "
                       "'mul', 'ave', 'max', 'concat', 'dot', 'cos': write the Keras 2 merge layer it means (add, "
                       "multiply, concatenate, average, maximum, dot) or a Lambda")]


def test_merge_from_keras1s_engine_becomes_keras_layers():
    text, _ = _migrate("""\
        from keras.engine.topology import merge
        from keras.layers import Input
        a = Input(shape=(4,))
        m = merge([a, a], mode='mul')
        """)
    assert "import keras\n" in text and "m = keras.layers.multiply([a, a])" in text


@pytest.mark.slow
def test_a_keras1_merge_program_runs_under_run(write, tmp_path):
    program = write("towers.py", textwrap.dedent("""\
        from keras.layers import Input, Dense, merge
        a = Input(shape=(4,))
        print(merge([Dense(2)(a), Dense(3)(a)], mode='concat').shape)
        """))
    result = slimcompat("run", program, cwd=tmp_path)
    assert result.stdout.strip() == "(None, 5)"
    assert f"{program}:3: UserWarning: Update your `merge` call to the Keras 2 API: merge(mode='concat') -> " \
           "concatenate(axis=-1)" in result.stderr
