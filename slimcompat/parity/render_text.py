"""The parity report as a terminal table: the verdict last, where the eye lands."""

import pathlib

__all__ = ["render", "row_cells", "weights_line", "COLUMNS"]

COLUMNS = ("endpoint", "shape A", "shape B", "max abs", "mean abs", "p99 abs", "rel err", "cosine", "worst at")


def _num(value):
    return "-" if value is None else f"{value:.2e}"


def _shape(shape):
    return "x".join(map(str, shape)) if shape else "-"


def _env_line(env):
    if env.get("framework") == "torch":
        ref = env.get("reference") or {}
        against = f"; reference: TensorFlow {ref['tensorflow_runtime']} on {ref['device']}" if ref else ""
        return (f"PyTorch {env['torch_runtime']} {env['dtype']}; {env['device']}: {env['device_description']}; "
                f"TF32 {'on' if env['tf32'] else 'off'}; deterministic {env['deterministic']}{against}")
    p = env["packages"]
    tf_version = p.get("tensorflow") or env["tensorflow_runtime"]
    dist = ", ".join(env.get("tensorflow_distribution") or [])
    tf32 = env.get("tf32_state") or ("on" if env["tf32"] else "off")
    return (f"TensorFlow {tf_version}{f' ({dist})' if dist else ''}, Keras {p.get('keras', '-')}, "
            f"tf-keras {p.get('tf-keras', '-')}, tf-slim {p.get('tf-slim', '-')}; {env['device']}: "
            f"{env['device_description']}; TF32 {tf32}; oneDNN {env['onednn']}; "
            f"op determinism {env['op_determinism']}")


def weights_line(side):
    """The weights file as the user gave it, then where its tensors came from (a canonical file's source)."""
    given, origin, kind = side.get("weights_file"), side["weights"], side.get("weights_source_kind")
    if not given:
        return origin
    if origin and origin != pathlib.PurePath(given).name:
        return f"{given} (converted from {origin}, {kind})"
    return f"{given} ({kind})" if kind else given


def _names_line(names):
    head = f"{names['variables_a']} variables in A, {names['variables_b']} in B, {names['matched']} matched"
    if names["ok"]:
        return head + ": every variable maps to exactly one, shapes equal"
    parts = []
    for key, label in (("only_a", "only in A"), ("only_b", "only in B"), ("unmapped_a", "unmapped in A"),
                       ("unmapped_b", "unmapped in B"), ("duplicated_a", "duplicated in A"),
                       ("duplicated_b", "duplicated in B"), ("shape_mismatch", "other shape")):
        items = names[key]
        if items:
            shown = [i if isinstance(i, str) else i.get("canonical", "") for i in list(items)[:3]]
            parts.append(f"{len(items)} {label} ({', '.join(shown)}{', ...' if len(items) > 3 else ''})")
    return head + "; " + "; ".join(parts)


def row_cells(r, first):
    """(cells as strings, marker) of one endpoint row."""
    mark = "" if r["within"] else ("  <- FIRST DIVERGENCE" if r["endpoint"] == first else "  x")
    if not r["comparable"]:
        cells = [r["endpoint"], _shape(r.get("shape_a")), _shape(r.get("shape_b"))] + ["shape differs"] + [""] * 5
        return cells[:len(COLUMNS)], mark
    worst = ",".join(map(str, r["worst_index"]))
    cosine = f"{r['cosine']:.6f}"
    return [r["endpoint"], _shape(r["shape_a"]), _shape(r["shape_b"]), _num(r["max_abs"]), _num(r["mean_abs"]),
            _num(r["p99_abs"]), _num(r["relative"]), cosine, worst], mark


def render(report):
    """Text: sides, input, environment, names, one row per endpoint, diagnosis, verdict."""
    a, b = report["a"], report["b"]
    lines = [f"parity  A = {a['implementation']} ({a['title']})  vs  B = {b['implementation']} ({b['title']})",
             f"weights  A: {weights_line(a)}  B: {weights_line(b)}",
             f"input    {report['input']['description']}; shape {_shape(report['input']['shape'])}",
             f"env      {_env_line(report['environment'])}",
             f"tolerance {report['tolerance']['device']}: {report['tolerance']['metric']} <= "
             f"{report['tolerance']['relative']:g}",
             f"names    {_names_line(report['names'])}"]
    if report.get("load_error"):
        lines.append(f"load     {report['load_error']}")
    rows = [row_cells(r, report["first_divergence"]) for r in report["endpoints"]]
    if rows:
        table = [list(COLUMNS)] + [cells for cells, _ in rows]
        widths = [max(len(row[i]) for row in table) for i in range(len(COLUMNS))]
        lines.append("")
        for i, row in enumerate(table):
            mark = rows[i - 1][1] if i else ""
            lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() + mark)
    if report["diagnosis"]:
        lines += ["", "diagnosis"]
        lines += [f"  [{f['status']}] {f['label']}: {f['evidence']}" for f in report["diagnosis"]]
    lines.append("")
    if report["ok"]:
        lines.append(f"PASS: names map one-to-one and all {len(report['endpoints'])} endpoints are within tolerance")
    else:
        found = [f["label"] for f in report["diagnosis"] if f["status"] == "found"]
        where = f"first divergence at {report['first_divergence']}" if report["first_divergence"] else \
            "layer names do not map" if not report["names"]["ok"] else "weights do not load"
        cause = f"; cause{'s' if len(found) > 1 else ''} found: {', '.join(found)}" if found else \
            ("; no known cause found" if report["diagnosis"] else "")
        lines.append(f"FAIL: {where}{cause}")
    return "\n".join(lines) + "\n"
