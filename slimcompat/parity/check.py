"""One parity run: names first, then endpoints from one forward pass per side, then the diagnosis.

`build` creates and loads both implementations (the part a user pays once);
`compare` is the parity run proper and returns the report dictionary that the
renderers turn into a table, JSON or HTML (keys: see `slimcompat.parity`).
"""

import time

from slimcompat.errors import SlimcompatError
from slimcompat.parity import environment
from slimcompat.parity.diagnosis import diagnose, structural
from slimcompat.parity.implementation import create
from slimcompat.parity.name_parity import name_parity
from slimcompat.parity.numeric import endpoint_parity

__all__ = ["build", "compare", "parity", "side_record", "SCHEMA"]

SCHEMA = "slimcompat-parity/1"


def build(a_key, b_key, weights, input_shape, weights_b=None, device="CPU"):
    """(A, B, name parity of their variables); neither side is loaded yet."""
    a = create(a_key, weights, input_shape, device)
    b = create(b_key, weights_b or weights, input_shape, device)
    names = name_parity(a.variables(), b.variables())
    return a, b, names


def side_record(impl):
    """The report's record of one side (keys: see `slimcompat.parity`); a saved reference keeps its own."""
    if getattr(impl, "recorded_side", None) is not None:
        return dict(impl.recorded_side)
    weights = impl.source
    return {"implementation": impl.key, "title": impl.title, "architecture": impl.arch.name,
            "conventions": impl.conventions.as_dict(), "weights": weights.meta.source_file or "(in memory)",
            "weights_source_kind": weights.meta.source_kind}


def compare(a, b, names, batch, device="CPU", tf32=False, run_diagnosis=True, *, tolerance=None, env=None,
            points=None):
    """The report of one parity run (a dict, JSON-ready); `a` is the reference side.

    tolerance (label, relative) and env (the environment record) default to
    TensorFlow's for `device`; `points`, a dict, receives both sides' endpoints.
    """
    label, tolerance = tolerance or environment.tolerance(device, tf32)
    report = {
        "schema": SCHEMA,
        "a": side_record(a), "b": side_record(b),
        "input": {"description": batch.describe(), "shape": list(batch.values.shape),
                  "preprocessing": "each side's own" if batch.pixels else "bypassed (same model input to both)"},
        "environment": env or environment.record(device),
        "tolerance": {"device": label, "relative": tolerance,
                      "metric": "max |a - b| / max |a| per endpoint, a = reference side"},
        "names": names,
    }
    try:
        for side in (a, b):
            if getattr(side, "weights", None) is not side.source:
                side.load()
    except SlimcompatError as exc:  # a mapping the names check has listed: report it, not a traceback
        report.update(load_error=str(exc), endpoints=[], first_divergence=None,
                      diagnosis=structural(a, b, batch.values.shape[1:3]), ok=False, verdict="fail")
        return report
    start = time.perf_counter()
    a_points = a.endpoints(batch.for_side(a))
    b_points = b.endpoints(batch.for_side(b))
    order = a.arch.endpoint_names()
    if points is not None:
        points.update(a=a_points, b=b_points)
    numeric = endpoint_parity(a_points, b_points, order, tolerance)
    report["timing"] = {"compare_seconds": time.perf_counter() - start}
    report.update(endpoints=numeric["endpoints"], first_divergence=numeric["first_divergence"])
    findings = []
    if run_diagnosis and not numeric["ok"]:
        start = time.perf_counter()
        findings = diagnose(a, b, batch, a_points, b_points, numeric, tolerance)
        report["timing"]["diagnosis_seconds"] = time.perf_counter() - start
    report["diagnosis"] = findings
    report["ok"] = bool(names["ok"] and numeric["ok"])
    report["verdict"] = "pass" if report["ok"] else "fail"
    return report


def parity(a_key, b_key, weights, batch, weights_b=None, device="CPU", tf32=False, run_diagnosis=True):
    """Build both sides and run `compare`: the whole check in one call."""
    environment.configure(tf32)
    a, b, names = build(a_key, b_key, weights, batch.values.shape[1:], weights_b, device)
    return compare(a, b, names, batch, device, tf32, run_diagnosis)
