"""Numerical parity on aligned endpoints, in forward order, and the first one that leaves tolerance."""

from slimcompat.parity.metrics import compare

__all__ = ["endpoint_parity"]


def endpoint_parity(a_points, b_points, order, tolerance):
    """JSON-ready: one row of metrics per endpoint (b against reference a), `first_divergence`, `ok`."""
    rows = []
    for name in order:
        if name not in a_points or name not in b_points:
            row = {"endpoint": name, "comparable": False, "missing": "a" if name not in a_points else "b"}
        else:
            row = {"endpoint": name, **compare(a_points[name], b_points[name])}
        row["within"] = bool(row["comparable"] and row["relative"] <= tolerance)
        row["identical"] = bool(row["comparable"] and row["max_abs"] == 0)
        rows.append(row)
    first = next((r["endpoint"] for r in rows if not r["within"]), None)
    return {"tolerance": tolerance, "endpoints": rows, "first_divergence": first, "ok": first is None}
