"""research/slim's contrib-era train and eval scripts, as tests/research_slim reproduces them, through `slimcompat run`.

They import `tensorflow.contrib.quantize` at top level and call it only behind a
flag: the import must not kill the program, and the call must fail in one line
naming what was called.
"""

import shutil

import numpy as np
import pytest
import tensorflow as tf

from conftest import REPO, slimcompat

pytestmark = pytest.mark.programs

PROGRAMS = REPO / "tests" / "research_slim"
SPLITS = {"train": 12, "validation": 8}
COMMON = ["--dataset_name=tiny", "--model_name=tiny_cnn", "--batch_size=4", "--num_preprocessing_threads=1"]


def _write_tiny(folder):
    """The `tiny` data set: 16x16 PNGs in tf.Example records, 3 classes told apart by colour."""
    rng = np.random.default_rng(0)
    for split, count in SPLITS.items():
        with tf.io.TFRecordWriter(str(folder / f"tiny_{split}.tfrecord")) as writer:
            for i in range(count):
                label = i % 3
                image = rng.integers(0, 40, (16, 16, 3), dtype=np.uint8)
                image[..., label] += 200
                feature = {
                    "image/encoded": tf.train.Feature(bytes_list=tf.train.BytesList(
                        value=[tf.io.encode_png(image).numpy()])),
                    "image/format": tf.train.Feature(bytes_list=tf.train.BytesList(value=[b"png"])),
                    "image/class/label": tf.train.Feature(int64_list=tf.train.Int64List(value=[label])),
                }
                writer.write(tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString())


@pytest.fixture(scope="module")
def workspace(module_tmp):
    root = module_tmp("research_slim")
    shutil.copytree(PROGRAMS, root / "slim")
    (root / "data").mkdir()
    _write_tiny(root / "data")
    return root


def test_train_then_evaluate_a_few_steps_unmodified(workspace):
    train = slimcompat("run", workspace / "slim" / "train_image_classifier.py", *COMMON,
                       f"--dataset_dir={workspace / 'data'}", f"--train_dir={workspace / 'train'}",
                       "--max_number_of_steps=3", "--num_readers=1", "--log_every_n_steps=1", "--optimizer=sgd",
                       cwd=workspace)
    assert "slimcompat run: TF1 API in graph mode" in train.stderr
    assert "global step 3: loss = " in train.stderr
    assert tf.train.latest_checkpoint(str(workspace / "train")).endswith("model.ckpt-3")

    evaluation = slimcompat("run", workspace / "slim" / "eval_image_classifier.py", *COMMON,
                            f"--dataset_dir={workspace / 'data'}", "--dataset_split_name=validation",
                            f"--checkpoint_path={workspace / 'train'}", f"--eval_dir={workspace / 'eval'}",
                            cwd=workspace)
    text = evaluation.stderr
    assert "Evaluating " + str(workspace / "train" / "model.ckpt-3") in text
    accuracy = float(text.split("eval/Accuracy[")[1].split("]")[0])
    recall = float(text.split("eval/Recall_2[")[1].split("]")[0])
    assert 0.0 <= accuracy <= recall <= 1.0
    assert "Finished evaluation" in text and list((workspace / "eval").glob("events.out.tfevents.*"))


def test_quantize_behind_its_flag_fails_in_one_line_naming_the_call(workspace):
    out = slimcompat("run", workspace / "slim" / "train_image_classifier.py", *COMMON,
                     f"--dataset_dir={workspace / 'data'}", f"--train_dir={workspace / 'train_q'}",
                     "--max_number_of_steps=1", "--num_readers=1", "--quantize_delay=0", cwd=workspace, check=False)
    errors = [line for line in out.stderr.splitlines() if line.startswith("slimcompat: error:")]
    assert out.returncode == 1 and len(errors) == 1 and "Traceback" not in out.stderr
    assert errors[0].startswith("slimcompat: error: tensorflow.contrib.quantize.create_training_graph: ")
    assert "tensorflow_model_optimization" in errors[0]
    assert not (workspace / "train_q").exists() or tf.train.latest_checkpoint(str(workspace / "train_q")) is None
