"""Numerical parity on aligned endpoints, in forward order, and the first one that leaves tolerance."""

import numpy as np

from slimcompat.parity.metrics import compare

__all__ = ["endpoint_parity"]


def endpoint_parity(a_points, b_points, order, tolerance):
    """JSON-ready: one row of metrics per endpoint (b against reference a), `first_divergence`, `ok`."""
    rows = []
    sizes = [np.size(a_points[name]) for name in order if name in a_points and name in b_points]
    buffer = np.empty(max(sizes, default=0), np.float32)  # |a - b| of each endpoint in turn
    for name in order:
        if name not in a_points or name not in b_points:
            row = {"endpoint": name, "comparable": False, "missing": "a" if name not in a_points else "b"}
        else:
            row = {"endpoint": name, **compare(a_points[name], b_points[name], buffer)}
        row["within"] = bool(row["comparable"] and row["relative"] <= tolerance)
        row["identical"] = bool(row["comparable"] and row["max_abs"] == 0)
        rows.append(row)
    first = next((r["endpoint"] for r in rows if not r["within"]), None)
    return {"tolerance": tolerance, "endpoints": rows, "first_divergence": first, "ok": first is None}
