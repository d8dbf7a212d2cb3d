"""`slimcompat demo`: the main job on the embedded example, end to end.

1. Runs the TF1 example program (slimcompat/examples/legacy_resnet_v2.py, the
   seed's slim resnet_v2_50 and forward benchmark) unmodified through the
   legacy launcher; it saves its weights with tf.train.Saver.
2. Migrates a copy with `slimcompat migrate`, runs it with plain python on the
   same weights, and checks the logits are bit-identical.
3. Converts the checkpoint to the canonical format with `slimcompat convert`,
   builds the Keras ResNetV2 faithful to slim from it, and checks its logits
   against the TF1 program's on the same input.
4. Checks parity endpoint by endpoint with `slimcompat parity` on the
   converted file: the TF1 slim graph against the same net as a TF2 eager
   layer, and against the faithful Keras model.
Each program runs in its own interpreter, as a user would run it.
"""

import os
import pathlib
import subprocess
import sys
import tempfile

import numpy as np

__all__ = ["EXAMPLE", "add_arguments", "run"]

EXAMPLE = pathlib.Path(__file__).resolve().parent.parent / "examples" / "legacy_resnet_v2.py"


def add_arguments(parser):
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--num-batches", type=int, default=10,
                        help="timed forward passes after 10 burn-in (the seed used 100)")
    parser.add_argument("--workdir", help="keep the migrated copy, logits and checkpoint here")


def _run(cmd, label, last_lines=None):
    print(f"$ {label}", flush=True)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL=os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"))
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    for line in proc.stdout.splitlines()[-last_lines if last_lines else 0:]:
        print(f"  {line}")
    if proc.returncode:
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        raise SystemExit(f"demo: `{label}` failed with exit {proc.returncode}:\n{tail}")


def run(args):
    with tempfile.TemporaryDirectory() as tmp:
        work = pathlib.Path(args.workdir or tmp)
        work.mkdir(parents=True, exist_ok=True)
        flags = [f"--batch_size={args.batch_size}", f"--image_size={args.image_size}", "--seed=1"]
        ckpt = str(work / "resnet_v2_50.ckpt")
        _run([sys.executable, "-m", "slimcompat", "run", str(EXAMPLE), *flags,
              f"--num_batches={args.num_batches}", f"--save_logits={work / 'run.npy'}",
              f"--save_input={work / 'input.npy'}", f"--save_checkpoint={ckpt}"],
             f"slimcompat run {EXAMPLE.name} (unmodified TF1 source)")
        migrated = work / "migrated"
        _run([sys.executable, "-m", "slimcompat", "migrate", str(EXAMPLE), "--output", str(migrated)],
             f"slimcompat migrate {EXAMPLE.name} --output {migrated}", last_lines=1)
        _run([sys.executable, str(migrated / EXAMPLE.name), *flags, "--num_batches=0",
              f"--restore_checkpoint={ckpt}", f"--save_logits={work / 'migrated.npy'}"],
             f"python migrated/{EXAMPLE.name} (restoring the same weights)")
        a, b = np.load(work / "run.npy"), np.load(work / "migrated.npy")
        identical = a.shape == b.shape and np.array_equal(a, b)
        print(f"logits {a.shape}: run vs migrate {'bit-identical' if identical else 'DIFFER'}"
              f" (max |diff| {float(np.max(np.abs(a - b))) if a.shape == b.shape else 'shape'})")
        canonical_file = work / "resnet_v2_50.h5"
        _run([sys.executable, "-m", "slimcompat", "convert", ckpt, str(canonical_file), "--quiet", "--force"],
             f"slimcompat convert resnet_v2_50.ckpt {canonical_file.name}")
        error = _keras_error(canonical_file, np.load(work / "input.npy"), a)
        converted = error < KERAS_TOLERANCE
        print(f"logits: TF1 slim graph vs faithful Keras ResNetV2 from {canonical_file.name}: "
              f"max |diff| / max |logit| = {error:.2e} ({'within' if converted else 'OUTSIDE'} "
              f"{KERAS_TOLERANCE:g})")
        for other in ("slim-eager", "keras-faithful"):
            _run([sys.executable, "-m", "slimcompat", "parity", "slim-graph", other, "--weights",
                  str(canonical_file), "--size", str(args.image_size), "--batch", "2"],
                 f"slimcompat parity slim-graph {other} --weights {canonical_file.name}", last_lines=1)
        return 0 if identical and converted else 1


KERAS_TOLERANCE = 1e-5


def _keras_error(canonical_file, images, slim_logits):
    """Max |keras - slim| / max |slim| of the faithful Keras model on the same input."""
    from slimcompat.weights import canonical, keras_io
    weights = canonical.read(canonical_file)
    model = keras_io.to_keras_model(weights, input_shape=images.shape[1:])
    logits = np.asarray(model.predict(images, batch_size=8, verbose=0))
    return float(np.max(np.abs(logits - slim_logits)) / np.max(np.abs(slim_logits)))
