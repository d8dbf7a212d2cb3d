"""TF 1's `tf.contrib.image` transforms, served under `run` and after `migrate` (slimcompat.legacy.contrib_image).

The numbers are checked against NumPy, not against the formulas: a quarter turn is np.rot90, a
translation by whole pixels is a shifted array with zeros, a composition equals the transforms
applied in turn. Each test builds a graph of its own and runs it in a v1 Session, as TF1
programs (and `slimcompat run`) do.
"""

import textwrap

import numpy as np
import pytest
import tensorflow as tf

from conftest import run_python, slimcompat
from slimcompat import migrate
from slimcompat.legacy import contrib_image as ci


def evaluate(build):
    """The values of the tensors `build()` makes, in a graph of their own."""
    with tf.Graph().as_default():
        out = build()
        with tf.compat.v1.Session() as session:
            return session.run(out)


@pytest.mark.parametrize("size", [5, 6])
def test_a_quarter_turn_counterclockwise_is_rot90_about_the_centre(size):
    image = np.arange(size * size * 3, dtype=np.float32).reshape(size, size, 3)
    batch = np.stack([image, image[::-1]])
    hwc, hw, nhwc, half = evaluate(lambda: (
        ci.rotate(image, np.pi / 2),
        ci.rotate(image[:, :, 0], np.pi / 2),
        ci.rotate(batch, [np.pi / 2, -np.pi / 2]),
        ci.rotate(image, np.pi, interpolation="bilinear")))
    np.testing.assert_array_equal(hwc, np.rot90(image))
    np.testing.assert_array_equal(hw, np.rot90(image[:, :, 0]))
    np.testing.assert_array_equal(nhwc, [np.rot90(batch[0]), np.rot90(batch[1], -1)])
    np.testing.assert_allclose(half, image[::-1, ::-1], atol=1e-3)


def test_translate_moves_content_by_whole_pixels_and_fills_with_zeros():
    image = np.arange(1, 5 * 6 + 1, dtype=np.uint8).reshape(5, 6)
    batch = np.stack([image, image])[..., None]
    one, each = evaluate(lambda: (ci.translate(image, [2, 1]),
                                  ci.translate(batch, [[1, 0], [0, -2]])))
    expected = np.zeros_like(image)
    expected[1:, 2:] = image[:-1, :-2]
    assert one.dtype == np.uint8
    np.testing.assert_array_equal(one, expected)
    right, up = np.zeros_like(image), np.zeros_like(image)
    right[:, 1:], up[:-2] = image[:, :-1], image[2:]
    np.testing.assert_array_equal(each[..., 0], [right, up])


def test_bilinear_reads_neighbours_outside_the_image_as_zero():
    row = np.array([[2.0, 4.0, 8.0]], np.float32)
    out = evaluate(lambda: ci.translate(row, [0.5, 0], interpolation="BILINEAR"))
    np.testing.assert_allclose(out, [[1.0, 3.0, 6.0]])


def test_compose_equals_the_transforms_applied_in_turn():
    image = np.random.default_rng(0).random((2, 7, 7, 1)).astype(np.float32)
    flip = np.array([-1, 0, 6, 0, 1, 0, 0, 0], np.float32)    # mirror left-right

    def build():
        shift = ci.translations_to_projective_transforms([[2, -1], [1, 3]])
        return (ci.transform(ci.transform(image, shift), flip),
                ci.transform(image, ci.compose_transforms(shift, np.stack([flip, flip]))))
    in_turn, composed = evaluate(build)
    np.testing.assert_array_equal(composed, in_turn)
    np.testing.assert_array_equal(in_turn[0, :, :, 0], np.fliplr(np.pad(image[0, :, :, 0], ((0, 1), (2, 0)))[1:, :7]))


def test_angles_to_projective_transforms_keeps_the_centre_and_takes_per_image_angles():
    transforms = evaluate(lambda: ci.angles_to_projective_transforms([0.0, 0.7], 9.0, 5.0))
    assert transforms.shape == (2, 8)
    np.testing.assert_allclose(transforms[0], [1, 0, 0, 0, 1, 0, 0, 0], atol=1e-6)
    matrix = evaluate(lambda: ci.flat_transforms_to_matrices(transforms[1]))[0]
    np.testing.assert_allclose(matrix @ [2.0, 4.0, 1.0], [2.0, 4.0, 1.0], atol=1e-5)   # (W-1)/2, (H-1)/2


def test_matrices_and_flat_transforms_convert_both_ways():
    flat = np.array([[1, 2, 3, 4, 5, 6, 7, 8], [2, 0, 1, 0, 2, 1, 0, 0]], np.float32)
    matrices, back, scaled = evaluate(lambda: (
        ci.flat_transforms_to_matrices(flat),
        ci.matrices_to_flat_transforms(ci.flat_transforms_to_matrices(flat)),
        ci.matrices_to_flat_transforms(2 * np.eye(3, dtype=np.float32))))
    np.testing.assert_array_equal(matrices[1], [[2, 0, 1], [0, 2, 1], [0, 0, 1]])
    np.testing.assert_array_equal(back, flat)
    np.testing.assert_array_equal(scaled, [[1, 0, 0, 0, 1, 0, 0, 0]])
    with pytest.raises(ValueError, match="1D or 2D"):
        ci.flat_transforms_to_matrices(np.zeros((1, 1, 8), np.float32))


def test_transform_takes_an_output_shape_and_passes_gradients_to_the_images():
    image = np.ones((1, 4, 4, 1), np.float32)

    def build():
        x = tf.constant(image)
        out = ci.transform(x, [1, 0, 0, 0, 1, 0, 0, 0], output_shape=[2, 6])
        return out, tf.gradients(tf.reduce_sum(ci.rotate(x, 0.3, "BILINEAR")), x)[0]
    out, grad = evaluate(build)
    np.testing.assert_array_equal(out[0, :, :, 0], [[1, 1, 1, 1, 0, 0]] * 2)
    assert grad.shape == image.shape and grad.sum() > 0


def test_bad_input_fails_in_one_line_as_tf1_did():
    with pytest.raises(TypeError, match="Invalid dtype bool"):
        ci.transform(np.zeros((2, 2), bool), [1, 0, 0, 0, 1, 0, 0, 0])
    with pytest.raises(TypeError, match="rank between 2 and 4, found rank 5"):
        ci.transform(np.zeros((1, 1, 2, 2, 1), np.float32), [1, 0, 0, 0, 1, 0, 0, 0])


def test_a_function_not_served_fails_in_one_line_naming_it():
    with pytest.raises(AttributeError, match=r"tensorflow.contrib.image.dense_image_warp is not provided by "
                                             r"slimcompat \(TF 2 moved it to TensorFlow Addons"):
        ci.dense_image_warp
    with pytest.raises(AttributeError, match="no attribute 'no_such_op'"):
        ci.no_such_op


LEGACY_USES = textwrap.dedent("""
    import numpy as np
    import tensorflow as tf
    import tensorflow.contrib.image as contrib_image
    from tensorflow.contrib.image import rotate

    x = tf.placeholder(tf.float32, [None, 4, 4, 1])
    turned = tf.contrib.image.transform(x, tf.contrib.image.angles_to_projective_transforms(np.pi / 2, 4., 4.))
    moved = contrib_image.translate(rotate(x, np.pi), [1, 0])
    with tf.Session() as sess:
        a, b = sess.run([turned, moved], {x: np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)})
    print('turned', a[0, :, :, 0].astype(int).ravel().tolist())
    print('moved', b[0, :, :, 0].astype(int).ravel().tolist())
""")

EXPECTED = ["turned " + str(np.rot90(np.arange(16).reshape(4, 4)).ravel().tolist()),
            "moved " + str(np.pad(np.arange(16).reshape(4, 4)[::-1, ::-1], ((0, 0), (1, 0)))[:, :4].ravel().tolist())]


def test_migrate_names_the_served_module_and_reports_what_is_not_served():
    text, report = migrate.migrate_source(LEGACY_USES + "w = tf.contrib.image.sparse_image_warp(x, x, x)\n")
    assert "import slimcompat.legacy.contrib_image as contrib_image" in text
    assert "from slimcompat.legacy.contrib_image import rotate" in text
    assert "slimcompat.legacy.contrib_image.transform(x, slimcompat.legacy.contrib_image.angles_to_" in text
    errors = [message for level, *_, message in report if level == "ERROR"]
    assert len(errors) == 1 and "tf.contrib.image.sparse_image_warp is not migrated" in errors[0]


@pytest.mark.slow
def test_served_under_run_and_after_migrate(tmp_path):
    (tmp_path / "prog.py").write_text(LEGACY_USES)
    out = slimcompat("run", tmp_path / "prog.py", cwd=tmp_path).stdout
    assert all(line in out for line in EXPECTED), out
    slimcompat("migrate", tmp_path / "prog.py", tmp_path / "migrated.py")
    out = run_python(tmp_path / "migrated.py", cwd=tmp_path).stdout
    assert all(line in out for line in EXPECTED), out
