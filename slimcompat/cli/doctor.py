"""`slimcompat doctor`: what this machine runs and what slimcompat repaired.

The first thing to paste into a bug report: package versions, the repairs
that applied (by feature detection, so this is the ground truth for this
machine), and the device facts that change numerics (GPU, TF32, oneDNN).
"""

import importlib
import importlib.metadata
import os

__all__ = ["collect", "add_arguments", "run"]

_PACKAGES = ("tensorflow", "tensorflow-cpu", "keras", "tf-keras", "tf-slim", "h5py", "numpy")


def _version(dist):
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def collect():
    """A dict of versions, repairs and device facts (imports TensorFlow)."""
    import tensorflow as tf
    import tf_slim  # noqa: F401  (the import that the repairs are about)

    from slimcompat.runtime import status

    gpus = tf.config.list_physical_devices("GPU")
    return {
        "packages": {name: _version(name) for name in _PACKAGES},
        "tensorflow_runtime": tf.__version__,
        "repairs": [{"name": n, "state": s, "symptom": sym} for n, s, sym in status()],
        "gpus": [g.name for g in gpus],
        "tf32": tf.config.experimental.tensor_float_32_execution_enabled(),
        "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default (on for x86 CPU builds)"),
        "eager": tf.executing_eagerly(),
    }


def add_arguments(parser):
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run(args):
    info = collect()
    if args.json:
        import json
        print(json.dumps(info, indent=1))
        return 0
    print("packages")
    for name, version in info["packages"].items():
        print(f"  {name:<15} {version or '-'}")
    print(f"  {'(tf runtime)':<15} {info['tensorflow_runtime']}")
    print("repairs")
    for r in info["repairs"]:
        print(f"  [{r['state']}] {r['name']}")
        if r["state"] != "not needed":
            print(f"      fixes: {r['symptom']}")
    print("devices")
    print(f"  GPU visible     {', '.join(info['gpus']) if info['gpus'] else 'no'}")
    print(f"  TF32            {'on' if info['tf32'] else 'off'}")
    print(f"  oneDNN          {info['onednn']}")
    failed = [r for r in info["repairs"] if r["state"].startswith("failed")]
    return 1 if failed else 0
