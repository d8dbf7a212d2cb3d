"""Probe: crafted files that declare gigabytes, each read by the command line in a fresh process.

Builds each crafted file of the security probe in a temporary folder (the builders of
slimcompat/testing/crafted.py), then runs `slimcompat COMMAND FILE` in-process in
a child interpreter and prints the child's exit code, its one line, its peak
RSS (resource.getrusage ru_maxrss) above that of a child reading a small
valid file the same way (imports included in both), and the documented bound
the read must stay within (give or take 32 MiB of the interpreter's own):

  units            canonical file whose description claims 1,000,000 units    knob ranges (weights/SPEC.md)
  units-st         the same description in a safetensors file's metadata       knob ranges
  7gib-described   207 KiB canonical file, datasets declaring 7.1 GiB (each    2^28 parameters
                   under 1 GiB), its description claiming them
  declared-zeros   canonical file whose datasets (748 MiB float64, each under  the file's own size
                   1 GiB) are declared but never written
  compressed       the same with gzip: 1.1 GiB declared                        1 GiB compressed in all
  npz-4gib         parity reference whose endpoint inflates to 4 GiB of zeros  2 GiB declared in all

    python tools/probe_memory.py [--cases units,npz-4gib] [--slimcompat CHECKOUT] [--keep DIR]

--slimcompat runs the children against another checkout (PYTHONPATH), e.g. an
older one to compare; no figure here is a test.
"""

import argparse
import os
import pathlib
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

_CHILD = """
import resource, sys, time
from slimcompat.cli.main import main
start = time.perf_counter()
rc = main(sys.argv[1:])
print(f"PROBE {rc} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss} {time.perf_counter() - start:.2f}")
"""

# Peak RSS above the baseline that is the interpreter's, not the file's (allocator, caches).
_NOISE = 32 << 20
MILLION_UNITS = {"family": "resnet", "depth": 3_000_002, "block": "bottleneck", "units": [1_000_000],
                 "stage_strides": [1]}


def _cases():
    """{name: (build(folder) -> (path, command), documented bound in bytes or None, bound in words)}."""
    from slimcompat.testing import crafted
    from slimcompat.arch.description import MAX_PARAMETERS
    from slimcompat.parity import reference
    from slimcompat.weights.hdf5_walk import MAX_FILTERED_BYTES

    def units(folder):
        return crafted.described_canonical(folder / "units.h5", MILLION_UNITS), "inspect"

    def units_st(folder):
        return crafted.described_safetensors(folder / "units.safetensors", MILLION_UNITS), "inspect"

    def described_7gib(folder):
        # ResNet-50 at base_width 576: 1.9G parameters, 7.1 GiB in float32, the largest tensor 0.7 GiB.
        spec = {"family": "resnet", "depth": 50, "base_width": 576}
        return crafted.declared_canonical(folder / "7gib.h5", spec, build=_unchecked), "validate"

    def declared_zeros(folder):
        import numpy as np
        spec = {"family": "resnet", "depth": 50, "base_width": 128}
        return crafted.declared_canonical(folder / "zeros.h5", spec, dtype=np.float64), "validate"

    def compressed(folder):
        import numpy as np
        spec = {"family": "resnet", "depth": 50, "base_width": 160}
        return crafted.declared_canonical(folder / "gzip.h5", spec, np.float64, compression="gzip"), "validate"

    def npz_4gib(folder):
        path = crafted.write_reference(folder / "ref.npz", {"schema": reference.SCHEMA}, {})
        return crafted.inflating_member(path, "endpoint:logits", (1, 1 << 30)), "parity"

    return {
        "units": (units, 0, "knob ranges (units: 1..5 stages of 1..128, depth 1..2000): nothing expanded"),
        "units-st": (units_st, 0, "knob ranges: nothing expanded"),
        "7gib-described": (described_7gib, 4 * MAX_PARAMETERS, f"{MAX_PARAMETERS:,} parameters in float32"),
        "declared-zeros": (declared_zeros, None, "datasets stored as is: at most the file's size"),
        "compressed": (compressed, MAX_FILTERED_BYTES, "compressed datasets: 1 GiB in all"),
        "npz-4gib": (npz_4gib, reference.MAX_REFERENCE_BYTES, "reference arrays: 2 GiB in all"),
    }


def _unchecked(spec):
    """The description `spec` without the ranges and cap (as an older reader takes it), to write its file."""
    from slimcompat.arch import description
    saved = description.MAX_PARAMETERS
    description.MAX_PARAMETERS = 1 << 62
    try:
        from slimcompat.arch import from_dict
        return from_dict(spec)
    finally:
        description.MAX_PARAMETERS = saved


def _declared(path):
    """Bytes the file declares: HDF5 datasets, or zip members inflated."""
    if path.suffix == ".h5":
        import h5py
        sizes = []
        with h5py.File(path, "r") as f:
            f.visititems(lambda _, o: sizes.append(o.size * o.dtype.itemsize) if isinstance(o, h5py.Dataset) else None)
        return sum(sizes)
    if path.suffix == ".npz":
        import zipfile
        with zipfile.ZipFile(path) as archive:
            return sum(i.file_size for i in archive.infolist())
    return 0


def _argv(command, path):
    return ["parity", "torch", "--reference", str(path)] if command == "parity" else [command, str(path)]


def _run(argv, checkout):
    env = dict(os.environ, PYTHONPATH=str(checkout), TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run([sys.executable, "-c", _CHILD, *argv], env=env, capture_output=True, text=True,
                          cwd=checkout)
    probe = [line for line in proc.stdout.splitlines() if line.startswith("PROBE ")]
    if not probe:
        return proc.returncode, None, None, (proc.stderr.strip().splitlines() or ["(nothing)"])[-1]
    _, rc, rss, seconds = probe[-1].split()
    lines = proc.stderr.strip().splitlines()
    return int(rc), int(rss) << 10, float(seconds), (f"{len(lines)} lines: " if len(lines) > 1 else "") + \
        (lines[-1] if lines else "")


def _baseline(folder, checkout):
    """Peak RSS of each command on a small file (interpreter and imports): a valid canonical file for inspect
    and validate, a missing reference for parity (refused once its modules are imported)."""
    from fixtures.weights import random_weights
    from slimcompat.weights import canonical
    small = folder / "small.h5"
    canonical.write(small, random_weights("inception10", seed=0))
    files = {"inspect": small, "validate": small, "parity": folder / "missing.npz"}
    return {command: _run(_argv(command, path), checkout)[1] for command, path in files.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", help="comma-separated case names (default: all)")
    parser.add_argument("--slimcompat", default=str(REPO), help="the checkout the children import (default: this)")
    parser.add_argument("--keep", help="build the files in this folder and keep them")
    args = parser.parse_args()
    from slimcompat.weights.hdf5_walk import human_bytes
    cases = _cases()
    chosen = args.cases.split(",") if args.cases else list(cases)
    with tempfile.TemporaryDirectory() as tmp:
        folder = pathlib.Path(args.keep or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        base = _baseline(folder, args.slimcompat)
        print(f"children import {args.slimcompat}; baseline peak RSS: " +
              ", ".join(f"{c} {human_bytes(r) if r else '?'}" for c, r in base.items()))
        for name in chosen:
            build, bound, words = cases[name]
            start = time.perf_counter()
            path, command = build(folder)
            built = time.perf_counter() - start
            rc, rss, seconds, said = _run(_argv(command, path), args.slimcompat)
            over = None if rss is None or base[command] is None else rss - base[command]
            limit = bound if bound is not None else path.stat().st_size
            verdict = "-" if over is None else ("within" if over <= limit + _NOISE else "OVER")
            print(f"\n{name}: {path.name}, {human_bytes(path.stat().st_size)} declaring "
                  f"{human_bytes(_declared(path))} (built in {built:.1f} s); slimcompat {command}")
            print(f"  exit {rc} after {seconds} s; peak RSS {human_bytes(rss) if rss else '?'}, "
                  f"{human_bytes(max(over, 0)) if over is not None else '?'} over the baseline; bound: {words} "
                  f"({human_bytes(limit)}): {verdict}")
            print(f"  said: {said[:240]}")


if __name__ == "__main__":
    main()
