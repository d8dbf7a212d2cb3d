"""Benchmark: converting a resnet_v2_152 slim checkpoint to the canonical format.

Builds a real checkpoint once (tf_slim's resnet_v2_152 graph, random weights,
tf.compat.v1.train.Saver), then in alternating rounds, side by side, each to a
destination that does not exist yet:
  copy     - a plain copy of the checkpoint's bytes (shutil.copyfile of each file;
             on Linux the kernel copies, the bytes never reach user memory)
  rw copy  - the same bytes read into memory and written out (what any reader
             that looks at the values must at least do)
  convert  - slim checkpoint -> canonical .h5, in a process where TensorFlow, h5py
             and slimcompat are already imported (interpreter and library start-up
             excluded); the conversion itself is the first in that process
Peak memory: the convert process's peak RSS minus that of a process that only
imports the same modules (the interpreter's baseline), against the model's bytes.
Also reported: the conversion's CPU time (its process and the child that hashes
the source), which a loaded machine stretches far less than the wall time, and
the load average before and after the rounds.
Targets: convert within 2x the read+write copy (issue 21; issue 3 had 3x of both
copies); peak memory no more than the model's bytes + 300 MB over the baseline.

    python tools/bench_convert.py [--rounds 3] [--arch resnet_v2_152] [--workdir DIR]
"""

import argparse
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

_BUILD = """
import sys, numpy as np, slimcompat, tensorflow.compat.v1 as tf, tf_slim as slim
from tf_slim.nets import resnet_v2, resnet_v1
tf.disable_eager_execution()
arch, prefix = sys.argv[1], sys.argv[2]
family = resnet_v2 if arch.startswith('resnet_v2') else resnet_v1
with tf.Graph().as_default():
    x = tf.placeholder(tf.float32, [1, 64, 64, 3])
    with slim.arg_scope(family.resnet_arg_scope()):
        getattr(family, arch)(x, 1001, is_training=False)
    tf.set_random_seed(0)
    with tf.Session() as s:
        s.run(tf.global_variables_initializer())
        tf.train.Saver().save(s, prefix, write_meta_graph=False, write_state=False)
"""

# Imports everything a conversion needs, then converts (or not) and reports peak RSS.
_CONVERT = """
import json, resource, sys, time
import h5py, tensorflow, slimcompat
from slimcompat.weights import canonical, convert, slim_checkpoint
src, dst = sys.argv[1], sys.argv[2]
seconds = cpu = None
def cpu_now():
    return sum(resource.getrusage(w).ru_utime + resource.getrusage(w).ru_stime
               for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
if dst != '-':
    start, cpu = time.perf_counter(), cpu_now()
    weights = convert.load(src, 'slim')
    convert.save(dst, weights, 'canonical', overwrite=True)
    seconds, cpu = time.perf_counter() - start, cpu_now() - cpu
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({'seconds': seconds, 'cpu': cpu, 'peak_rss': peak}))
"""


def _child(code, *args):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    out = subprocess.run([sys.executable, "-c", code, *map(str, args)], env=env,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1]) if out.stdout.strip() else None


def _checkpoint_files(prefix):
    return sorted(p for p in prefix.parent.iterdir() if p.name.startswith(prefix.name + "."))


def _read_write(src, dst):
    with open(src, "rb") as f, open(dst, "wb") as g:
        g.write(f.read())


def _timed_copy(files, work, copy):
    targets = [work / f"copy.{p.name}" for p in files]
    for t in targets:
        t.unlink(missing_ok=True)
    start = time.perf_counter()
    for p, t in zip(files, targets):
        copy(p, t)
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", default="resnet_v2_152")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--workdir", help="keep the checkpoint here (reused when present)")
    args = parser.parse_args(argv)

    work = pathlib.Path(args.workdir or tempfile.mkdtemp(prefix="bench_convert_"))
    work.mkdir(parents=True, exist_ok=True)
    prefix = work / f"{args.arch}.ckpt"
    if not _checkpoint_files(prefix):
        print(f"building {prefix} with tf_slim's {args.arch} and Saver ...", flush=True)
        _child(_BUILD, args.arch, prefix)
    files = _checkpoint_files(prefix)
    model_bytes = sum(p.stat().st_size for p in files)

    copies, rw_copies, converts, cpus, peaks = [], [], [], [], []
    load_before = os.getloadavg()[0]
    baseline = _child(_CONVERT, prefix, "-")["peak_rss"]
    for _ in range(args.rounds):
        copies.append(_timed_copy(files, work, shutil.copyfile))
        rw_copies.append(_timed_copy(files, work, _read_write))
        (work / "out.h5").unlink(missing_ok=True)  # a new destination, as a conversion normally has
        result = _child(_CONVERT, prefix, work / "out.h5")
        converts.append(result["seconds"])
        cpus.append(result["cpu"])
        peaks.append(result["peak_rss"])
    for p in work.glob("copy.*"):
        p.unlink()

    load_after = os.getloadavg()[0]
    copy_s, rw_s, convert_s = (statistics.median(x) for x in (copies, rw_copies, converts))
    over = max(peaks) - baseline
    mib = 2 ** 20
    report = {
        "arch": args.arch, "rounds": args.rounds, "checkpoint_mib": round(model_bytes / mib, 1),
        "copy_s": round(copy_s, 3), "rw_copy_s": round(rw_s, 3), "convert_s": round(convert_s, 3),
        "convert_cpu_s": round(statistics.median(cpus), 3), "convert_s_each": [round(x, 3) for x in converts],
        "rw_copy_s_each": [round(x, 3) for x in rw_copies],
        "convert_over_copy": round(convert_s / copy_s, 2), "convert_over_rw_copy": round(convert_s / rw_s, 2),
        "load_average_1min": [round(load_before, 1), round(load_after, 1)], "cores": os.cpu_count(),
        "baseline_rss_mib": round(baseline / mib), "peak_rss_mib": round(max(peaks) / mib),
        "peak_over_baseline_mib": round(over / mib),
        "budget_mib": round((model_bytes + 300 * mib) / mib),
    }
    print(json.dumps(report, indent=1))
    print(f"convert {convert_s:.2f}s vs copy {copy_s:.2f}s: {report['convert_over_copy']}x, "
          f"vs read+write copy {rw_s:.2f}s: {report['convert_over_rw_copy']}x (target <= 2x); "
          f"convert CPU {report['convert_cpu_s']:.2f}s; load {load_before:.1f} -> {load_after:.1f} "
          f"on {os.cpu_count()} cores; "
          f"peak memory {report['peak_over_baseline_mib']} MiB over baseline vs budget "
          f"{report['budget_mib']} MiB (model {report['checkpoint_mib']} MiB + 300)")
    if not args.workdir:
        shutil.rmtree(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
