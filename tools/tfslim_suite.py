"""Run tf-slim's own shipped test suite with slimcompat active.

Every `*_test.py` inside the installed tf_slim package runs in its own process
(many call `disable_eager_execution` at module set-up, which cannot be undone in
one interpreter), under pytest with `import slimcompat` first. Prints one row
per file and a closing `N passed, N failed` line; exits 1 when any test failed
or errored, 0 otherwise.

    python tools/tfslim_suite.py                 # all 35 files, slimcompat on
    python tools/tfslim_suite.py --without-slimcompat   # the as-is baseline
    python tools/tfslim_suite.py -k layers/ -j 2 --json out.json
"""

import argparse
import concurrent.futures
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

HERE = pathlib.Path(__file__).resolve().parent
SHIMS = HERE / "tfslim_suite_shims"

# Runs inside each child: optionally activate slimcompat, then pytest.
_CHILD = """
import sys
if {activate!r}:
    import slimcompat
import pytest
sys.exit(pytest.main(sys.argv[1:]))
"""


def tf_slim_dir():
    import importlib.util
    spec = importlib.util.find_spec("tf_slim")
    if spec is None:
        sys.exit("tf_slim is not installed: run tools/install.sh first")
    return pathlib.Path(spec.origin).parent


def run_file(path, root, activate, timeout):
    with tempfile.TemporaryDirectory() as tmp:
        xml_path = pathlib.Path(tmp) / "junit.xml"
        env = dict(os.environ)
        # nose is unmaintained and fails to import on Python 3.10+; evaluation_test
        # only needs `nose.tools.nottest`, which the shim provides.
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SHIMS), env.get("PYTHONPATH")]))
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        cmd = [sys.executable, "-c", _CHILD.format(activate=activate), str(path), "-q",
               "-p", "no:cacheprovider", "-o", "addopts=", f"--junitxml={xml_path}",
               f"--rootdir={root}"]
        start = time.monotonic()
        try:
            proc = subprocess.run(cmd, env=env, cwd=tmp, capture_output=True, text=True, timeout=timeout)
            output = proc.stdout + proc.stderr
        except subprocess.TimeoutExpired:
            output = f"timed out after {timeout}s"
        seconds = time.monotonic() - start
        row = {"file": str(path.relative_to(root)), "seconds": round(seconds, 1),
               "passed": 0, "failed": 0, "errors": 0, "skipped": 0, "failures": []}
        if not xml_path.exists():
            row["errors"] = 1
            row["failures"].append({"test": "<collection>", "message": output.strip().splitlines()[-1:] or ""})
            return row
        for case in ET.parse(xml_path).getroot().iter("testcase"):
            name = f"{case.get('classname', '')}.{case.get('name')}"
            bad = case.find("failure") if case.find("failure") is not None else case.find("error")
            if case.find("skipped") is not None:
                row["skipped"] += 1
            elif bad is not None:
                row["failed" if bad.tag == "failure" else "errors"] += 1
                message = (bad.get("message") or "").strip().splitlines()
                row["failures"].append({"test": name, "message": message[0][:300] if message else ""})
            else:
                row["passed"] += 1
        return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-k", "--filter", default="", help="only files whose path contains this")
    parser.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--without-slimcompat", action="store_true", help="measure tf-slim as released")
    parser.add_argument("--timeout", type=int, default=900, help="seconds per file")
    parser.add_argument("--json", help="write the per-file results here")
    parser.add_argument("--show-failures", type=int, default=5, help="failures printed per file")
    args = parser.parse_args(argv)

    root = tf_slim_dir()
    files = sorted(p for p in root.rglob("*_test.py") if args.filter in str(p.relative_to(root)))
    if not files:
        sys.exit(f"no tf-slim test files match {args.filter!r} under {root}")
    activate = not args.without_slimcompat
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        rows = list(pool.map(lambda p: run_file(p, root, activate, args.timeout), files))

    width = max(len(r["file"]) for r in rows)
    print(f"tf-slim shipped tests, slimcompat {'ON' if activate else 'OFF'}, {len(rows)} files")
    print(f"{'file':<{width}}  {'pass':>5} {'fail':>5} {'error':>5} {'skip':>5} {'sec':>6}  result")
    for r in rows:
        bad = r["failed"] + r["errors"]
        print(f"{r['file']:<{width}}  {r['passed']:>5} {r['failed']:>5} {r['errors']:>5} {r['skipped']:>5} "
              f"{r['seconds']:>6.1f}  {'FAIL' if bad else 'ok'}")
        for failure in r["failures"][:args.show_failures]:
            print(f"    {failure['test']}: {failure['message']}")
    passed = sum(r["passed"] for r in rows)
    failed = sum(r["failed"] + r["errors"] for r in rows)
    skipped = sum(r["skipped"] for r in rows)
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(rows, indent=1))
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
