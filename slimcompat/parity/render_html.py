"""The parity report as one self-contained HTML page, with a per-endpoint error plot.

No scripts, fonts or images from anywhere: the plot is inline SVG drawn here
(relative error per endpoint on a log axis, the tolerance as a line, the first
divergence marked, endpoints whose shapes differ drawn at the top edge, and
identical endpoints, whose error is exactly 0 and has no place on a log axis,
in a band of their own under it, labelled "0 (identical)"). The text report
at the end wraps its long lines rather than running out of its box.
"""

import html
import math

from slimcompat.parity import render_text

__all__ = ["render", "plot"]

_W, _H, _LEFT, _RIGHT, _TOP, _BOTTOM = 900, 340, 80, 20, 20, 90
_ZERO_BAND = 26  # under the log axis: endpoints with exactly zero error
_FLOOR = 1e-9  # smallest error the log axis shows


def _axis_bottom():
    return _H - _BOTTOM - _ZERO_BAND


def _y(value, low, high):
    value = min(max(value, low), high)
    span = math.log10(high) - math.log10(low)
    return _TOP + (_axis_bottom() - _TOP) * (math.log10(high) - math.log10(value)) / span


def _identical(row):
    return row["comparable"] and row["relative"] == 0


def plot(report):
    """SVG of relative error per endpoint (log scale), tolerance line, first divergence circled."""
    rows = report["endpoints"]
    tol = report["tolerance"]["relative"]
    values = [r["relative"] for r in rows if r["comparable"] and r["relative"] > 0 and math.isfinite(r["relative"])]
    low = 10 ** math.floor(math.log10(min(values + [tol / 10, 1e-7])))
    high = 10 ** math.ceil(math.log10(max(values + [tol * 10, 1.0])))
    low = max(low, _FLOOR)
    step = (_W - _LEFT - _RIGHT) / max(len(rows), 1)
    zero_y = _axis_bottom() + _ZERO_BAND / 2
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{_H}" font-family="sans-serif" '
           f'font-size="10" role="img" aria-label="relative error per endpoint">',
           f'<rect x="{_LEFT}" y="{_TOP}" width="{_W - _LEFT - _RIGHT}" height="{_axis_bottom() - _TOP}" '
           f'fill="#fafafa" stroke="#999"/>',
           f'<rect x="{_LEFT}" y="{_axis_bottom()}" width="{_W - _LEFT - _RIGHT}" height="{_ZERO_BAND}" '
           f'fill="#eef7ee" stroke="#999"/>'
           f'<text x="{_LEFT - 6}" y="{zero_y + 3:.1f}" text-anchor="end">0 (identical)</text>']
    for e in range(int(math.log10(low)), int(math.log10(high)) + 1):
        y = _y(10.0 ** e, low, high)
        out.append(f'<line x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e4e4e4"/>'
                   f'<text x="{_LEFT - 6}" y="{y + 3:.1f}" text-anchor="end">1e{e}</text>')
    ty = _y(tol, low, high)
    out.append(f'<line x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{ty:.1f}" y2="{ty:.1f}" stroke="#c60" '
               f'stroke-dasharray="6 3"/><text x="{_W - _RIGHT - 4}" y="{ty - 4:.1f}" text-anchor="end" '
               f'fill="#c60">tolerance {tol:g}</text>')
    segments, marks = [[]], []
    for i, r in enumerate(rows):
        x = _LEFT + step * (i + 0.5)
        label = html.escape(r["endpoint"])
        out.append(f'<text transform="translate({x + 3:.1f},{_H - _BOTTOM + 8}) rotate(60)">{label}</text>')
        if not r["comparable"]:
            out.append(f'<text x="{x:.1f}" y="{_TOP + 12}" text-anchor="middle" fill="#b00">shape</text>')
            segments.append([])
            continue
        if _identical(r):
            marks.append(f'<rect x="{x - 3.5:.1f}" y="{zero_y - 3.5:.1f}" width="7" height="7" fill="#2a7" '
                         f'class="identical"><title>{label}: identical (max |a-b| = 0)</title></rect>')
            segments.append([])
            continue
        y = _y(max(r["relative"], low), low, high)
        segments[-1].append(f"{x:.1f},{y:.1f}")
        colour = "#2a7" if r["within"] else "#b00"
        tip = f'{label}: relative error {r["relative"]:.3g}, cosine {r["cosine"]:.6f}'
        marks.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}"><title>{tip}</title></circle>')
        if r["endpoint"] == report["first_divergence"]:
            marks.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="8" fill="none" stroke="#b00" stroke-width="2"/>')
    out += [f'<polyline points="{" ".join(points)}" fill="none" stroke="#88a"/>'
            for points in segments if len(points) > 1]
    out += marks
    out.append(f'<text x="14" y="{(_TOP + _axis_bottom()) / 2:.0f}" transform="rotate(-90 14 '
               f'{(_TOP + _axis_bottom()) / 2:.0f})" text-anchor="middle">max |a-b| / max |a|</text></svg>')
    return "\n".join(out)


_STYLE = """body{font-family:sans-serif;margin:2em;max-width:1100px;color:#222}
table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}
td:first-child,th:first-child{text-align:left}tr.out td{background:#fde8e8}tr.first td{background:#f6b8b8}
.pass{color:#170}.fail{color:#b00}
pre{background:#f4f4f4;padding:1em;font-size:12px;white-space:pre-wrap;overflow-wrap:anywhere}"""


def _table(report):
    head = "".join(f"<th>{html.escape(c)}</th>" for c in render_text.COLUMNS)
    body = []
    for r in report["endpoints"]:
        cells, _ = render_text.row_cells(r, report["first_divergence"])
        cls = "first" if r["endpoint"] == report["first_divergence"] else ("" if r["within"] else "out")
        body.append(f'<tr class="{cls}">' + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def render(report):
    """A complete HTML document: verdict, plot, per-endpoint table, diagnosis, the text report."""
    verdict = "pass" if report["ok"] else "fail"
    a, b = report["a"]["implementation"], report["b"]["implementation"]
    findings = "".join(f"<li><b>{html.escape(f['label'])}</b> ({html.escape(f['status'])}): "
                       f"{html.escape(f['evidence'])}</li>" for f in report["diagnosis"])
    text = render_text.render(report)
    summary = text.strip().splitlines()[-1]
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>parity {html.escape(a)} vs {html.escape(b)}</title>
<style>{_STYLE}</style></head><body>
<h1>Parity: {html.escape(a)} vs {html.escape(b)}</h1>
<p class="{verdict}"><b>{html.escape(summary)}</b></p>
<h2>Relative error per endpoint</h2>
{plot(report) if report["endpoints"] else "<p>no forward pass: the weights did not load</p>"}
<h2>Endpoints</h2>
{_table(report)}
<h2>Diagnosis</h2>
{f"<ul>{findings}</ul>" if findings else "<p>nothing to diagnose</p>"}
<h2>Full report</h2>
<pre>{html.escape(text)}</pre>
</body></html>
"""
