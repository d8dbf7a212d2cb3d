"""`slimcompat doctor`: what this machine runs and what slimcompat repaired.

The first thing to paste into a bug report: package versions (TensorFlow by
the distribution that provides it: tensorflow, tensorflow-cpu,
tensorflow-macos...), the repairs that applied (by feature detection, so this
is the ground truth for this machine), and the device facts that change
numerics (GPU, TF32, oneDNN), reported as `slimcompat parity` reports them.
The last line is the verdict; the exit status is 1 when it names a problem.
"""

__all__ = ["collect", "problems", "add_arguments", "run"]


def collect():
    """A dict of versions, repairs and device facts (imports TensorFlow)."""
    import tensorflow as tf
    import tf_keras  # noqa: F401  (the imports the repairs are about: each waits for its package)
    import tf_slim  # noqa: F401

    from slimcompat.parity import environment
    from slimcompat.runtime import status

    gpus = tf.config.list_physical_devices("GPU")
    return {
        "packages": environment.packages(),
        "tensorflow_distribution": [name for name, _ in environment.tensorflow_distribution()],
        "tensorflow_runtime": tf.__version__,
        "repairs": [{"name": n, "state": s, "symptom": sym} for n, s, sym in status()],
        "gpus": [g.name for g in gpus],
        "tf32": environment.tf32_active(),
        "tf32_state": environment.tf32_label(),
        "onednn": environment.onednn(),
        "eager": tf.executing_eagerly(),
    }


def problems(info):
    """What in `info` will break slimcompat's work, one phrase each."""
    found = [f"repair {r['name']} {r['state']}" for r in info["repairs"] if r["state"].startswith("failed")]
    if len(info["tensorflow_distribution"]) > 1:
        found.append(f"two TensorFlow distributions installed over each other "
                     f"({', '.join(info['tensorflow_distribution'])}): uninstall all but one")
    tf_minor = ".".join(info["tensorflow_runtime"].split(".")[:2])
    tf_keras = info["packages"].get("tf-keras")
    if tf_keras and ".".join(tf_keras.split(".")[:2]) != tf_minor:
        found.append(f"tf-keras {tf_keras} does not match TensorFlow {info['tensorflow_runtime']} "
                     f"(pip install --no-deps 'tf-keras~={tf_minor}.0')")
    return found


def add_arguments(parser):
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run(args):
    info = collect()
    found = problems(info)
    if args.json:
        import json
        print(json.dumps({**info, "problems": found}, indent=1))
        return 1 if found else 0
    print("packages")
    dist = info["tensorflow_distribution"]
    for name, version in info["packages"].items():
        note = f" (installed as {', '.join(dist)})" if name == "tensorflow" and dist else ""
        print(f"  {name:<15} {version or '-'}{note}")
    print(f"  {'(tf runtime)':<15} {info['tensorflow_runtime']}")
    print("repairs")
    for r in info["repairs"]:
        print(f"  [{r['state']}] {r['name']}")
        if r["state"] != "not needed":
            print(f"      fixes: {r['symptom']}")
    print("devices")
    print(f"  GPU visible     {', '.join(info['gpus']) if info['gpus'] else 'no'}")
    print(f"  TF32            {info['tf32_state']}")
    print(f"  oneDNN          {info['onednn']}")
    applied = sum(r["state"] == "applied" for r in info["repairs"])
    device = f"{len(info['gpus'])} GPU(s)" if info["gpus"] else "CPU only"
    head = (f"TensorFlow {info['tensorflow_runtime']} ({', '.join(dist) or 'distribution unknown'}) on {device}; "
            f"{applied} of {len(info['repairs'])} repairs applied")
    print()
    print(f"doctor: PROBLEM: {head}; {'; '.join(found)}" if found else f"doctor: OK: {head}, none failed")
    return 1 if found else 0
