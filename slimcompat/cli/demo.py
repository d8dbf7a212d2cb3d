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
5. A Keras-era program (slimcompat/examples/keras_era_resnet.py, a tf.keras
   ResNet-18 with auto-named layers that saves a TF-format checkpoint) runs
   through `slimcompat run`; its model is recognised by structure and its
   checkpoint converted with its code (`convert --model`), the faithful Keras
   model from the canonical file must give the program's outputs, and
   `slimcompat diff` lists how it differs from torchvision's resnet18.
Each program runs in its own interpreter, as a user would run it. The five
checks end in one verdict line; every file the demo made stays in --workdir
(default ./slimcompat-demo) to look at afterwards.
"""

import os
import pathlib
import re
import subprocess
import sys
import time

import numpy as np

__all__ = ["EXAMPLE", "KERAS_ERA_EXAMPLE", "WORKDIR", "add_arguments", "run", "keras_era_step"]

EXAMPLE = pathlib.Path(__file__).resolve().parent.parent / "examples" / "legacy_resnet_v2.py"
KERAS_ERA_EXAMPLE = EXAMPLE.with_name("keras_era_resnet.py")
WORKDIR = "slimcompat-demo"
KERAS_TOLERANCE = 1e-5
# tf_upgrade_v2 flags every `<anything>.save(` call because Keras' model.save changed its default
# format in TF 2; a Saver's or numpy's save is untouched by that change.
_SAVE_WARNING = re.compile(r":(\d+):\d+: WARNING: \*\.save requires manual check")


def add_arguments(parser):
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--num-batches", type=int, default=10,
                        help="timed forward passes after 10 burn-in (the seed used 100)")
    parser.add_argument("--workdir", default=WORKDIR,
                        help=f"where the checkpoint, converted file, migrated copy, logits and parity reports "
                             f"are written and kept (default ./{WORKDIR})")


def _run(cmd, label, last_lines=None, must_pass=True):
    """Run one step as a user would; returns (exit status, stdout)."""
    print(f"$ {label}", flush=True)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL=os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"))
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    for line in proc.stdout.splitlines()[-last_lines if last_lines else 0:]:
        print(f"  {line}")
    if proc.returncode and must_pass:
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        raise SystemExit(f"demo: `{label}` failed with exit {proc.returncode}:\n{tail}")
    return proc.returncode, proc.stdout


def _explain_save_warnings(output):
    """One line on tf_upgrade_v2's `*.save requires manual check` warnings: which calls, and why nothing to do."""
    lines = sorted({int(m.group(1)) for m in _SAVE_WARNING.finditer(output)})
    if not lines:
        return
    source = EXAMPLE.read_text().splitlines()
    calls = sorted({re.sub(r"\(.*", "(...)", source[n - 1].strip()) for n in lines})
    print(f"  the {len(lines)} warning(s) are tf_upgrade_v2's `*.save requires manual check` (lines "
          f"{', '.join(map(str, lines))}), meant for Keras model.save, whose default format changed in TF 2; "
          f"here the calls are {', '.join(calls)}: a Saver's and numpy's save, unchanged, nothing to do")


def run(args):
    start = time.perf_counter()
    work = pathlib.Path(args.workdir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    checks = []
    flags = [f"--batch_size={args.batch_size}", f"--image_size={args.image_size}", "--seed=1"]
    ckpt = str(work / "resnet_v2_50.ckpt")
    _run([sys.executable, "-m", "slimcompat", "run", str(EXAMPLE), *flags,
          f"--num_batches={args.num_batches}", f"--save_logits={work / 'run.npy'}",
          f"--save_input={work / 'input.npy'}", f"--save_checkpoint={ckpt}"],
         f"slimcompat run {EXAMPLE.name} (unmodified TF1 source)")
    migrated = work / "migrated"
    _, out = _run([sys.executable, "-m", "slimcompat", "migrate", str(EXAMPLE), "--output", str(migrated)],
                  f"slimcompat migrate {EXAMPLE.name} --output {migrated}", last_lines=1)
    _explain_save_warnings(out)
    _run([sys.executable, str(migrated / EXAMPLE.name), *flags, "--num_batches=0",
          f"--restore_checkpoint={ckpt}", f"--save_logits={work / 'migrated.npy'}"],
         f"python migrated/{EXAMPLE.name} (restoring the same weights)")
    a, b = np.load(work / "run.npy"), np.load(work / "migrated.npy")
    identical = a.shape == b.shape and np.array_equal(a, b)
    checks.append(identical)
    print(f"logits {a.shape}: run vs migrate {'bit-identical' if identical else 'DIFFER'}"
          f" (max |diff| {float(np.max(np.abs(a - b))) if a.shape == b.shape else 'shape'})")
    canonical_file = work / "resnet_v2_50.h5"
    _run([sys.executable, "-m", "slimcompat", "convert", ckpt, str(canonical_file), "--quiet", "--force"],
         f"slimcompat convert resnet_v2_50.ckpt {canonical_file.name}")
    error = _keras_error(canonical_file, np.load(work / "input.npy"), a)
    checks.append(error < KERAS_TOLERANCE)
    print(f"logits: TF1 slim graph vs faithful Keras ResNetV2 from {canonical_file.name}: "
          f"max |diff| / max |logit| = {error:.2e} ({'within' if checks[-1] else 'OUTSIDE'} "
          f"{KERAS_TOLERANCE:g})")
    for other in ("slim-eager", "keras-faithful"):
        report = work / f"parity-{other}"
        status, _ = _run([sys.executable, "-m", "slimcompat", "parity", "slim-graph", other, "--weights",
                          str(canonical_file), "--size", str(args.image_size), "--batch", "2",
                          "--html", f"{report}.html", "--json", f"{report}.json"],
                         f"slimcompat parity slim-graph {other} --weights {canonical_file.name}",
                         last_lines=1, must_pass=False)
        checks.append(status == 0)
    checks.append(keras_era_step(work))
    seconds = time.perf_counter() - start
    print(f"\ndemo: {sum(checks)}/{len(checks)} checks passed in {seconds:.0f} s; files kept in {work} "
          f"(checkpoint, canonical file, migrated program, logits, parity reports .html/.json, keras_era/)")
    return 0 if all(checks) else 1


def _keras_error(canonical_file, images, slim_logits):
    """Max |keras - slim| / max |slim| of the faithful Keras model on the same input."""
    from slimcompat.weights import canonical, keras_io
    weights = canonical.read(canonical_file)
    model = keras_io.to_keras_model(weights, input_shape=images.shape[1:])
    logits = np.asarray(model.predict(images, batch_size=8, verbose=0))
    return float(np.max(np.abs(logits - slim_logits)) / np.max(np.abs(slim_logits)))


def keras_era_step(work):
    """Step 5: the Keras-era example recognised, converted with its code, diffed; True when its outputs hold."""
    from slimcompat.weights import canonical, keras_io
    work = pathlib.Path(work) / "keras_era"
    work.mkdir(parents=True, exist_ok=True)
    name = KERAS_ERA_EXAMPLE.name
    _run([sys.executable, "-m", "slimcompat", "run", str(KERAS_ERA_EXAMPLE), f"--workdir={work}"],
         f"slimcompat run {name} (Keras-era tf.keras code, TF-format checkpoint)")
    code = f"{KERAS_ERA_EXAMPLE}:build_model()"
    converted = work / "resnet18.h5"
    _run([sys.executable, "-m", "slimcompat", "convert", str(work / "checkpoint" / "resnet18.ckpt"), str(converted),
          "--model", code, "--force"], f"slimcompat convert checkpoint/resnet18.ckpt {converted.name} "
                                       f"--model {name}:build_model()", last_lines=3)
    images, probs = np.load(work / "check_input.npy"), np.load(work / "check_probs.npy")
    model = keras_io.to_keras_model(canonical.read(converted), input_shape=images.shape[1:])
    error = float(np.max(np.abs(np.asarray(model(images, training=False)) - probs)) / np.max(np.abs(probs)))
    proc_label = f"slimcompat diff {name}:build_model() resnet18"
    print(f"$ {proc_label}", flush=True)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL=os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"))
    proc = subprocess.run([sys.executable, "-m", "slimcompat", "diff", code, "resnet18"], env=env,
                          capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        print(f"  {line}")
    if proc.returncode not in (0, 1):
        raise SystemExit(f"demo: `{proc_label}` failed with exit {proc.returncode}:\n{proc.stderr[-2000:]}")
    within = error <= KERAS_TOLERANCE
    differences = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else "no diff output"
    print(f"keras-era example: recognised and converted with its code; faithful Keras model from {converted.name} vs "
          f"the program's outputs: max |diff| / max = {error:.2e} ({'within' if within else 'OUTSIDE'} "
          f"{KERAS_TOLERANCE:g}); against resnet18: {differences}")
    return within
