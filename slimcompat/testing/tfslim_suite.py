"""Run tf-slim's own shipped test suite with slimcompat active.

Every `*_test.py` inside the installed tf_slim package runs in its own process
(many call `disable_eager_execution` at module set-up, which cannot be undone in
one interpreter), under pytest with `import slimcompat` first. Prints one row
per file, every failure with its listed reason (or UNEXPECTED), and a closing
`N passed, N failed` line. Exits 1 when a failure is not in CANNOT_PASS.

CANNOT_PASS lists the tests that fail for reasons outside slimcompat's reach:
the test file itself uses an API NumPy 2 removed, or asserts a TensorFlow
internal that TensorFlow changed. `--port-numpy2-tests` runs a copy of each
test file with the NumPy 2 fixes in NUMPY2_TEST_PORT applied (the test files
only; tf-slim is untouched), to show the code under test passes once they are.

    python tools/tfslim_suite.py                 # all 35 files, slimcompat on
    python tools/tfslim_suite.py --without-slimcompat   # the as-is baseline
    python tools/tfslim_suite.py --port-numpy2-tests
    python tools/tfslim_suite.py -k layers/ -j 2 --json out.json
"""

import argparse
import concurrent.futures
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

HERE = pathlib.Path(__file__).resolve().parent
SHIMS = HERE / "tfslim_suite_shims"

_NUMPY2_IN_TEST = "NumPy 2 removed an API the test file itself uses"

# (test id suffix, reason): failures outside slimcompat's reach.
CANNOT_PASS = [
    *[(f"{f}::{t}", f"{_NUMPY2_IN_TEST}: int() of a 1-element array in the test's setUp")
      for f, tests in {
          "learning_test.py": [
              "TrainBNClassifierTest::testTrainWithNoInitAssignCanAchieveZeroLoss",
              "TrainBNClassifierTest::test_session", "TrainTest::*"],
          "training/training_test.py": ["TrainBatchNormClassifierTest::*", "TrainTest::*"],
          "training/evaluation_test.py": ["EvaluateOnceTest::*", "EvaluateRepeatedlyTest::*"],
      }.items() for t in tests],
    ("data/tfexample_decoder_test.py::TFExampleDecoderTest::testDecodeExampleWithR[Aa][Ww]Encoding*",
     f"{_NUMPY2_IN_TEST}: ndarray.tostring()"),
    ("layers/sparse_ops_test.py::DenseToSparseTensorTest::test_dense_to_sparse_tensor_1d_str*",
     f"{_NUMPY2_IN_TEST}: np.object"),
    ("losses/metric_learning_test.py::NpairsLossMultiLabelTest::testNpairsMultiLabel",
     f"{_NUMPY2_IN_TEST}: np.float"),
    ("metrics/metric_ops_large_test.py::StreamingPrecisionRecallAtEqualThresholdsLargeTest::testLargeCase",
     f"{_NUMPY2_IN_TEST}: np.product"),
    ("metrics/classification_test.py::F1ScoreTest::testSomeCorrect",
     "NumPy 2 (NEP 50) computes the test's `python float - float32` in float32, not float64: "
     "its 7-place assertAlmostEqual sees 6.0e-8 instead of 4.0e-8"),
    ("layers/layers_test.py::DropoutTest::testCreateDropout",
     "asserts the name of TensorFlow's internal dropout op ('mul_1'); TF 2.x builds it with SelectV2"),
    ("ops/variables_test.py::VariablesTest::testVariableWithReplicaDeviceSetter",
     "TF 2.x replica_device_setter no longer appends '/cpu:0' (plain tf.get_variable gives the same)"),
    ("metrics/metric_ops_test.py::CountTest::testReturnType",
     "TF 2.x resource variables no longer subclass tf.compat.v1.Variable (VariableV1), "
     "which the test's isinstance check names"),
    ("evaluation_test.py::SingleEvaluationTest::testAdditionalHooks",
     "TF 2.x removed DumpingDebugHook's log_usage argument, which the test passes"),
]

# (pattern, replacement, what NumPy 2 changed): applied to copies of the test files.
NUMPY2_TEST_PORT = [
    (r"\.tostring\(\)", ".tobytes()", "ndarray.tostring removed (tobytes is the same)"),
    (r"\bnp\.product\(", "np.prod(", "np.product removed (np.prod is the same)"),
    (r"\bnp\.float\b(?![\d_])", "float", "np.float alias of float removed"),
    (r"\bnp\.object\b(?!_)", "object", "np.object alias of object removed"),
    (r"int\(2 \* self\._labels\[i\] \+", "int(2 * self._labels[i].item() +",
     "int() of a 1-element array is an error"),
    (r"assertAlmostEqual\(2 \* 0\.5 \* 1 / \(1 \+ 0\.5\), f1\.eval\(\)\)",
     "assertAlmostEqual(2 * 0.5 * 1 / (1 + 0.5), float(f1.eval()))",
     "NEP 50: python float - float32 is float32 (NumPy 1 computed it in float64)"),
]


def port_numpy2(source):
    """(ported source, [descriptions of the rules that changed it])."""
    fired = []
    for pattern, replacement, what in NUMPY2_TEST_PORT:
        source, count = re.subn(pattern, replacement, source)
        if count:
            fired.append(f"{what} (x{count})")
    return source, fired


def reason_for(test_id):
    """The CANNOT_PASS reason for `file::Class::test`, or None."""
    import fnmatch
    for pattern, reason in CANNOT_PASS:
        if fnmatch.fnmatchcase(test_id, pattern):
            return reason
    return None


# tf.test.TestCase.test_session is a helper pytest collects; TF skips it so.
_NOT_A_TEST = "Not a test."

# Skips tf-slim's own test files make (skipTest in the test body), not ours.
SKIPPED_BY_TFSLIM = [
    "ops/variables_test.py::AssignFromCheckpointFnTest::"
    "testLoadExistingVariablesDifferentShapeDefaultDoesNotAllowReshape",
]

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


def run_file(path, root, activate, timeout, port=False):
    with tempfile.TemporaryDirectory() as tmp:
        xml_path = pathlib.Path(tmp) / "junit.xml"
        target, ported = path, []
        if port:
            source, ported = port_numpy2(path.read_text())
            if ported:
                target = pathlib.Path(tmp) / path.name
                target.write_text(source)
        env = dict(os.environ)
        # nose is unmaintained and fails to import on Python 3.10+; evaluation_test
        # only needs `nose.tools.nottest`, which the shim provides.
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SHIMS), env.get("PYTHONPATH")]))
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        cmd = [sys.executable, "-c", _CHILD.format(activate=activate), str(target), "-q",
               "-p", "no:cacheprovider", "-o", "addopts=", f"--junitxml={xml_path}",
               f"--rootdir={root}"]
        start = time.monotonic()
        try:
            proc = subprocess.run(cmd, env=env, cwd=tmp, capture_output=True, text=True, timeout=timeout)
            output = proc.stdout + proc.stderr
        except subprocess.TimeoutExpired:
            output = f"timed out after {timeout}s"
        seconds = time.monotonic() - start
        rel = str(path.relative_to(root))
        row = {"file": rel, "seconds": round(seconds, 1), "ported": ported,
               "passed": 0, "failed": 0, "errors": 0, "skipped": 0, "skipped_tests": [], "other_skips": [], "failures": []}
        if not xml_path.exists():
            row["errors"] = 1
            tail = output.strip().splitlines()[-1:]
            row["failures"].append({"test": f"{rel}::<collection>", "message": tail[0] if tail else "",
                                    "reason": None})
            return row
        for case in ET.parse(xml_path).getroot().iter("testcase"):
            name = f"{rel}::{case.get('classname', '').rsplit('.', 1)[-1]}::{case.get('name')}"
            bad = case.find("failure") if case.find("failure") is not None else case.find("error")
            skip = case.find("skipped")
            if skip is not None:
                row["skipped"] += 1
                row["skipped_tests"].append(name)
                if skip.get("message") != _NOT_A_TEST and name not in SKIPPED_BY_TFSLIM:
                    row["other_skips"].append(f"{name}: {skip.get('message')}")
            elif bad is not None:
                row["failed" if bad.tag == "failure" else "errors"] += 1
                message = (bad.get("message") or "").strip().splitlines()
                row["failures"].append({"test": name, "message": message[0][:300] if message else "",
                                        "reason": reason_for(name)})
            else:
                row["passed"] += 1
        return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-k", "--filter", action="append", default=[],
                        help="only files whose path contains this (repeatable)")
    parser.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--without-slimcompat", action="store_true", help="measure tf-slim as released")
    parser.add_argument("--port-numpy2-tests", action="store_true",
                        help="run copies of the test files with NUMPY2_TEST_PORT applied")
    parser.add_argument("--timeout", type=int, default=900, help="seconds per file")
    parser.add_argument("--json", help="write the per-file results here")
    parser.add_argument("--show-failures", type=int, default=5, help="failures printed per file")
    args = parser.parse_args(argv)

    root = tf_slim_dir()
    files = sorted(p for p in root.rglob("*_test.py")
                   if not args.filter or any(k in str(p.relative_to(root)) for k in args.filter))
    if not files:
        sys.exit(f"no tf-slim test files match {args.filter!r} under {root}")
    activate = not args.without_slimcompat
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        rows = list(pool.map(lambda p: run_file(p, root, activate, args.timeout, args.port_numpy2_tests),
                             files))

    width = max(len(r["file"]) for r in rows)
    print(f"tf-slim shipped tests, slimcompat {'ON' if activate else 'OFF'}, {len(rows)} files"
          f"{', NumPy 2 port of the test files' if args.port_numpy2_tests else ''}")
    print(f"{'file':<{width}}  {'pass':>5} {'fail':>5} {'error':>5} {'skip':>5} {'sec':>6}  result")
    for r in rows:
        bad = r["failed"] + r["errors"]
        print(f"{r['file']:<{width}}  {r['passed']:>5} {r['failed']:>5} {r['errors']:>5} {r['skipped']:>5} "
              f"{r['seconds']:>6.1f}  {'FAIL' if bad else 'ok'}{'  (ported)' if r['ported'] else ''}")
    failures = [f for r in rows for f in r["failures"]]
    listed = [f for f in failures if f["reason"]]
    unexpected = [f for f in failures if not f["reason"]]
    if listed:
        print(f"\nfailures listed as outside slimcompat's reach ({len(listed)}):")
        for reason in sorted({f["reason"] for f in listed}):
            tests = [f["test"] for f in listed if f["reason"] == reason]
            print(f"  {len(tests):>3} x {reason}")
            for test in tests[:args.show_failures]:
                print(f"        {test}")
    if unexpected:
        print(f"\nUNEXPECTED failures ({len(unexpected)}):")
        for f in unexpected:
            print(f"  {f['test']}: {f['message']}")
    passed = sum(r["passed"] for r in rows)
    skipped = sum(r["skipped"] for r in rows)
    other_skips = [s for r in rows for s in r["other_skips"]]
    by_tfslim = sum(name in SKIPPED_BY_TFSLIM for r in rows for name in r["skipped_tests"])
    print(f"\n{skipped} skipped: {skipped - by_tfslim - len(other_skips)} are TensorFlow's "
          f"TestCase.test_session helper ({_NOT_A_TEST!r}), {by_tfslim} skipped by tf-slim's own "
          f"test body (SKIPPED_BY_TFSLIM), {len(other_skips)} other")
    for skip in other_skips:
        print(f"  {skip}")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(rows, indent=1))
    print(f"{len(listed)} failures listed with a reason, {len(unexpected)} unexpected")
    print(f"{passed} passed, {len(failures)} failed")
    return 1 if unexpected else 0


if __name__ == "__main__":
    sys.exit(main())
