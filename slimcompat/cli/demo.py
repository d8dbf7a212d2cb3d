"""`slimcompat demo`: the main job on the embedded example, end to end.

Runs the TF1 example program (slimcompat/examples/legacy_resnet_v2.py, the
seed's slim resnet_v2_50 and forward benchmark) unmodified through the legacy
launcher, migrates a copy with `slimcompat migrate` and runs that with plain
python, then checks both gave bit-identical logits for the same input and
weights. Each program runs in its own interpreter, as a user would run it.
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
              f"--save_checkpoint={ckpt}"],
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
        return 0 if identical else 1
