"""A structural Diff as a terminal table, JSON (schema `slimcompat-diff/1`) or one self-contained HTML page.

JSON keys: `schema`, `same`, `a` and `b` ({`label`, `name`, `description`}),
`input` ([H, W] the multiply-adds are counted at), `parameters`, `trainable`,
`macs` ({`a`, `b`, `difference`}), `units` ({`a`, `b`}: canonical units),
`rows` ([{`knob`, `label`, `effect` (shape | output | training | head), `a`,
`b`, `params`, `trainable`, `macs` (A minus B), `outputs`, `units`}]) and
`notes`. The HTML page is in the style of the parity report: verdict first,
an inline SVG bar per row of what it costs in parameters, the table, both
descriptions.
"""

import html
import json

__all__ = ["text", "to_json", "to_html", "COLUMNS"]

COLUMNS = ("difference", "A", "B", "params (all)", "trainable", "mult-adds", "outputs differ", "units")


def _value(value):
    if isinstance(value, tuple):
        return "x".join(map(str, value))
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _signed(n):
    return f"{n:+,d}" if n else "0"


def _macs(n):
    """Multiply-adds in G or M; exact below a million."""
    for scale, unit in ((1e9, "G"), (1e6, "M")):
        if abs(n) >= scale:
            return f"{n / scale:+.2f} {unit}"
    return _signed(n)


def _units(units):
    if not units:
        return ""
    if len(units) <= 3:
        return ", ".join(units)
    return f"{len(units)}: {units[0]}, {units[1]}, ... {units[-1]}"


def _cells(row):
    return [row.label, _value(row.a), _value(row.b), _signed(row.params), _signed(row.trainable), _macs(row.macs),
            row.outputs, _units(row.units)]


def _verdict(d):
    if d.same:
        return f"SAME: {d.a.name} and {d.b.name} compute the same network ({d.params_a:,} parameters)"
    shape = sum(bool(r.params or r.trainable) for r in d.rows)
    training = sum(r.effect == "training" for r in d.rows)
    output = len(d.rows) - shape - training
    return (f"DIFFERENT: {len(d.rows)} structural differences ({shape} change the parameters, {output} only the "
            f"outputs, {training} training only); A - B = {_signed(d.params_a - d.params_b)} parameters")


def _stages(units):
    counts = {}
    for unit in units:
        stage = unit.split("/")[0]
        counts[stage] = counts.get(stage, 0) + 1
    return "-".join(map(str, counts.values())) or "none"


def text(d):
    """The terminal report: sides, alignment, one row per difference, totals that reconcile, verdict last."""
    lines = [f"diff  A = {d.a_label}", f"      B = {d.b_label}",
             f"units A {len(d.units_a)} ({_stages(d.units_a)}), B {len(d.units_b)} ({_stages(d.units_b)}): aligned "
             f"unit by unit through canonical names; multiply-adds at {d.input_hw[0]}x{d.input_hw[1]}"]
    if d.rows:
        table = [list(COLUMNS)] + [_cells(r) for r in d.rows]
        total = ["total (A - B)", "", "", _signed(d.params_a - d.params_b), _signed(d.trainable_a - d.trainable_b),
                 _macs(d.macs_a - d.macs_b), "", ""]
        table.append(total)
        widths = [max(len(row[i]) for row in table) for i in range(len(COLUMNS))]
        lines.append("")
        for i, row in enumerate(table):
            if i == len(table) - 1:
                lines.append("  ".join("-" * w for w in widths))
            lines.append("  ".join(c.ljust(w) if j < 3 or j > 5 else c.rjust(w)
                                   for j, (c, w) in enumerate(zip(row, widths))).rstrip())
    totals = [("parameters (all weights, as Keras counts)", d.params_a, d.params_b),
              ("trainable (as PyTorch counts)", d.trainable_a, d.trainable_b),
              (f"multiply-adds at {d.input_hw[0]}x{d.input_hw[1]}", d.macs_a, d.macs_b)]
    width = max(len(label) for label, _, _ in totals)
    lines.append("")
    lines += [f"{label + ':':{width + 1}} A {a:,} = B {b:,} {_signed(a - b)}" for label, a, b in totals]
    lines += [f"note: {n}" for n in d.notes]
    lines += ["", _verdict(d)]
    return "\n".join(lines) + "\n"


def to_json(d):
    return json.dumps(d.to_dict(), indent=1) + "\n"


_STYLE = """body{font-family:sans-serif;margin:2em;max-width:1200px;color:#222}
table{border-collapse:collapse;font-size:12px;margin-bottom:1.5em}td,th{border:1px solid #ccc;padding:3px 6px}
td.n{text-align:right;font-variant-numeric:tabular-nums}tr.total td{font-weight:bold;background:#f2f2f2}
tr.shape td{background:#fdf0e0}tr.training td{color:#777}.same{color:#170}.different{color:#b00}
pre{background:#f4f4f4;padding:1em;overflow:auto;font-size:12px}"""
_BAR_W, _BAR_H, _LABEL = 900, 18, 330


def _bars(d):
    """SVG: one bar per row, its parameter difference (A - B) on a symmetric linear axis."""
    rows = [r for r in d.rows if r.params]
    if not rows:
        return "<p>no difference in parameters</p>"
    scale = max(abs(r.params) for r in rows)
    mid = _LABEL + (_BAR_W - _LABEL) / 2
    half = (_BAR_W - _LABEL) / 2 - 90
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{_BAR_W}" height="{(len(rows) + 1) * _BAR_H + 10}" '
           f'font-family="sans-serif" font-size="11" role="img" aria-label="parameters per difference">',
           f'<line x1="{mid}" x2="{mid}" y1="0" y2="{(len(rows) + 1) * _BAR_H}" stroke="#999"/>']
    for i, r in enumerate(rows):
        y = i * _BAR_H + 4
        width = half * abs(r.params) / scale
        x = mid if r.params > 0 else mid - width
        colour = "#c84" if r.params > 0 else "#48c"
        label = html.escape(r.label)
        out.append(f'<text x="{_LABEL - 6}" y="{y + 11}" text-anchor="end">{label}</text>'
                   f'<rect x="{x:.1f}" y="{y}" width="{max(width, 1):.1f}" height="{_BAR_H - 6}" fill="{colour}">'
                   f'<title>{label}: {r.params:+,d} parameters</title></rect>'
                   f'<text x="{(x + width + 4) if r.params > 0 else (x - 4):.1f}" y="{y + 11}" '
                   f'text-anchor="{"start" if r.params > 0 else "end"}">{r.params:+,d}</text>')
    out.append(f'<text x="{mid}" y="{(len(rows) + 1) * _BAR_H + 4}" text-anchor="middle" fill="#555">parameters, '
               f'A - B</text></svg>')
    return "\n".join(out)


def _table(d):
    head = "".join(f"<th>{html.escape(c)}</th>" for c in COLUMNS)
    body = []
    for r in d.rows:
        cells = _cells(r)
        cls = "shape" if r.params else ("training" if r.effect == "training" else "")
        body.append(f'<tr class="{cls}">' + "".join(
            f'<td class="{"n" if 3 <= i <= 5 else ""}">{html.escape(c)}</td>' for i, c in enumerate(cells)) + "</tr>")
    body.append('<tr class="total"><td>total (A - B)</td><td></td><td></td>' + "".join(
        f'<td class="n">{html.escape(v)}</td>' for v in (_signed(d.params_a - d.params_b),
                                                          _signed(d.trainable_a - d.trainable_b),
                                                          _macs(d.macs_a - d.macs_b))) + "<td></td><td></td></tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _knobs(d):
    rows = "".join(f"<tr><td>{html.escape(label)}</td><td>{html.escape(_value(getattr(d.a, k)))}</td>"
                   f"<td>{html.escape(_value(getattr(d.b, k)))}</td></tr>"
                   for k, label, _ in d.a.knobs()) if type(d.a) is type(d.b) else ""
    return f"<table><tr><th>knob</th><th>A</th><th>B</th></tr>{rows}</table>" if rows else ""


def to_html(d):
    """A complete HTML document: verdict, bars, the table of differences, both descriptions, the text report."""
    verdict = _verdict(d)
    title = f"diff {html.escape(d.a.name)} vs {html.escape(d.b.name)}"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>{_STYLE}</style></head><body>
<h1>Structure: {html.escape(d.a_label)} vs {html.escape(d.b_label)}</h1>
<p class="{'same' if d.same else 'different'}"><b>{html.escape(verdict)}</b></p>
<h2>What each difference costs in parameters</h2>
{_bars(d)}
<h2>Differences</h2>
{_table(d) if d.rows else "<p>none</p>"}
<h2>Descriptions</h2>
{_knobs(d)}
<h2>Full report</h2>
<pre>{html.escape(text(d))}</pre>
</body></html>
"""
