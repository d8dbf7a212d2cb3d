"""PyTorch on every device it sees against CPU TensorFlow references: one command, one table.

    python tools/gpu_parity.py [DIR]       # make the references here if TensorFlow is installed, then check
    python tools/gpu_parity.py make DIR    # TensorFlow on the CPU: DIR/<model>.npz (about 2 MB each)
    python tools/gpu_parity.py check DIR [--devices cpu,cuda] [--json FILE] [--markdown FILE]   # PyTorch only

Models, batch 2 x 64 x 64 of seeded pixels: resnet_v2_50 from a tf_slim
checkpoint (slim conventions, 1001 classes; reference: the slim graph),
resnet50 from the Keras-1 file as published (reference: the Keras-1 model),
resnext_50_32x4d from a slim checkpoint (reference: the slim graph). Their
weights are seeded `synthetic.random_tensors`, written in each source format by
the real tools (tf_slim's Saver; the Keras-1 layout by
slimcompat/testing/keras1_writer.py) and read back by slimcompat's readers; each
reference records the seed and a digest per tensor, so `check` regenerates the
weights with numpy and verifies them, and DIR carries only endpoints (a GPU
machine needs no weight files and no TensorFlow).

Modes: CPU float32 and bfloat16; on each GPU float32 with TF32 off, with TF32
on, and bfloat16 (the whole module cast). One row per model, device and mode:
the tolerance row of slimcompat.parity.environment, the worst endpoint and its
relative error, the logits' error. Exit 0 when every row is within tolerance.
"""

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile

SOURCE_ROOT = pathlib.Path(__file__).resolve().parents[2]   # where `slimcompat` imports from
SHAPE = (2, 64, 64, 3)
# model: (architecture, how its weights are written, TensorFlow reference implementation, seed)
MODELS = {
    "resnet_v2_50": ("resnet_v2_50", "slim", "slim-graph", 11),
    "resnet50_keras1": ("keras1:resnet_v1_50", "keras1", "keras-legacy", 12),
    "resnext_50_32x4d": ("resnext_50_32x4d", "slim", "slim-graph", 13),
}
# (label, dtype, TF32) per device kind
MODES = {"cpu": [("float32", "float32", False), ("bfloat16", "bfloat16", False)],
         "gpu": [("float32, TF32 off", "float32", False), ("float32, TF32 on", "float32", True),
                 ("bfloat16", "bfloat16", False)]}


def _source_file(folder, architecture, kind, seed):
    """Seeded weights written by the real tools of their source format; the path to read back."""
    from slimcompat.weights import convert, synthetic
    if kind == "keras1":
        from slimcompat.testing.keras1_writer import write_keras1_resnet50
        path = folder / "resnet50_weights_tf_dim_ordering_tf_kernels.h5"
        write_keras1_resnet50(path, seed=seed)
        return path
    path = folder / "model.ckpt"
    convert.save(path, synthetic.random_weights(architecture, seed=seed), "slim")
    return path


def make(out):
    """Write one reference per model into `out` (TensorFlow, CPU, float32)."""
    import numpy as np
    from slimcompat.parity import environment, inputs, reference
    from slimcompat.parity.implementation import create
    from slimcompat.weights import convert
    from slimcompat.weights.synthetic import random_tensors
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    environment.configure(False)
    batch = inputs.random_batch(SHAPE, seed=1)
    for model, (architecture, kind, side, seed) in MODELS.items():
        with tempfile.TemporaryDirectory() as folder:
            weights = convert.load(_source_file(pathlib.Path(folder), architecture, kind, seed))
        regenerated = random_tensors(weights.meta.description.tensors(), seed)
        if not all(np.array_equal(regenerated[n], t) for n, t in weights.tensors.items()):
            raise SystemExit(f"{model}: the weights read back are not random_tensors(seed {seed})")
        a = create(side, weights, SHAPE[1:], "CPU").load()
        path = reference.save(out / f"{model}.npz", a, batch, a.endpoints(batch.for_side(a)),
                              environment.record("CPU"), seed=seed)
        print(f"{path}: {side} {weights.meta.architecture} from {weights.meta.source_kind}")


def devices():
    """Every device PyTorch sees: cpu, then cuda:0, cuda:1, ..."""
    import torch
    return ["cpu"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]


def check(folder, device_list=None):
    """[row] of every model, device and mode (PyTorch only; TensorFlow is not imported)."""
    from slimcompat.parity import reference, torch_side
    rows = []
    for model in MODELS:
        saved = reference.Reference(pathlib.Path(folder) / f"{model}.npz")
        for device in device_list or devices():
            kind = "cpu" if device == "cpu" else "gpu"
            for label, dtype, tf32 in MODES[kind]:
                report = torch_side.check_reference(saved, None, device, dtype, tf32, run_diagnosis=False)
                rows.append(_row(model, label, report))
    return rows


def _row(model, mode, report):
    points = [r for r in report["endpoints"] if r["comparable"]]
    worst = max(points, key=lambda r: r["relative"])
    logits = next((r["relative"] for r in points if r["endpoint"] == "logits"), None)
    env = report["environment"]
    return {"model": model, "device": env["device"], "device_description": env["device_description"],
            "mode": mode, "tolerance": report["tolerance"]["relative"], "worst_endpoint": worst["endpoint"],
            "worst_relative": worst["relative"], "logits_relative": logits, "ok": report["ok"],
            "torch": env["torch_runtime"], "cuda": env["cuda"], "cudnn": env["cudnn"],
            "endpoints": {r["endpoint"]: r["relative"] for r in points},
            "reference": f"TensorFlow {env['reference']['tensorflow_runtime']} on {env['reference']['device']}"}


def markdown(rows):
    lines = ["| model | device | mode | tolerance | worst endpoint | worst rel. error | logits rel. error | within |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['device']} ({r['device_description']}) | {r['mode']} | {r['tolerance']:g} | "
                     f"{r['worst_endpoint']} | {r['worst_relative']:.2e} | {r['logits_relative']:.2e} | "
                     f"{'yes' if r['ok'] else 'NO'} |")
    first = rows[0] if rows else {}
    lines.append(f"\nPyTorch {first.get('torch')}, CUDA {first.get('cuda')}, cuDNN {first.get('cudnn')}; "
                 f"references: {first.get('reference')}; batch 2 x 64 x 64.")
    return "\n".join(lines) + "\n"


def _tensorflow_installed():
    return subprocess.run([sys.executable, "-c", "import tensorflow"], capture_output=True).returncode == 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", nargs="?", default="all", choices=("all", "make", "check"))
    parser.add_argument("folder", nargs="?", default="gpu_references", help="where the references are (made)")
    parser.add_argument("--devices", help="comma-separated PyTorch devices (default: cpu and every GPU)")
    parser.add_argument("--json", help="write every row, with per-endpoint errors, to this file")
    parser.add_argument("--markdown", help="write the table to this file")
    args = parser.parse_args(argv)
    folder = pathlib.Path(args.folder)
    if args.command == "make":
        make(folder)
        return 0
    if args.command == "all" and not all((folder / f"{m}.npz").is_file() for m in MODELS):
        if not _tensorflow_installed():
            raise SystemExit(f"{folder} holds no references and TensorFlow is not installed here: run "
                             f"`python tools/gpu_parity.py make {folder}` on a machine with it, then bring {folder}")
        env = dict(os.environ, CUDA_VISIBLE_DEVICES="", TF_CPP_MIN_LOG_LEVEL="2",   # TensorFlow on the CPU only
                   PYTHONPATH=os.pathsep.join(filter(None, [str(SOURCE_ROOT), os.environ.get("PYTHONPATH")])))
        subprocess.run([sys.executable, "-m", "slimcompat.testing.gpu_parity", "make", str(folder)], env=env,
                       check=True)
    rows = check(folder, args.devices.split(",") if args.devices else None)
    table = markdown(rows)
    print(table, end="")
    if args.markdown:
        pathlib.Path(args.markdown).write_text(table)
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
