"""Why two implementations diverge: the known causes, each tested rather than guessed.

Starting points are the conventions the two sides declare (see conventions)
and the shapes their endpoints came out in. Each suspected cause is then put to
an experiment on the same batch, B fed A's model input so that the network
alone is tested (preprocessing is tested on its own):

- every knob of the description that changes outputs only (stem pooling,
  BatchNorm epsilon, stride placement, activation, padding, ...): one side is
  rebuilt with the other's value (the faithful Keras model and the slim graph
  can be rebuilt with any knob; stock models cannot).
  If aligning every suspect restores parity, each suspect is left out in turn;
  a cause is *found* when leaving it out breaks parity again (the first
  divergence of that run is reported), and a declared difference that changes
  nothing measurable at this tolerance says so.
- stride placement also shows without any rerun: units whose resolution
  differs inside a stage.
- background class: logits of C+1 and C classes compared with index 0 dropped.
- preprocessing: B fed A's model input; colour order: B fed its input with the
  channels reversed. Either restoring parity is the finding.
- weight values (two weight files): the tensors that differ, and the endpoint
  that first contains one.
- structure: every knob in which the two sides' descriptions differ (a user's
  model recognised by structure against a reference, say) is named with what
  it costs and where outputs start to differ (slimcompat.structure.diff);
  status "structural difference" unless an experiment above found it.
"""

import numpy as np

from slimcompat.arch import FAMILIES
from slimcompat.parity.conventions import adjustable, differences
from slimcompat.parity.endpoints import endpoint_of
from slimcompat.parity.metrics import compare
from slimcompat.parity.numeric import endpoint_parity

__all__ = ["diagnose", "structural", "CAUSES"]

CAUSES = {
    **{knob: label for family in FAMILIES.values() for knob, label, _ in family.knobs()},
    "family": "network family",
    "color": "colour order",
    "background": "background-class offset",
    "preprocessing": "preprocessing mismatch",
    "weights": "weight values",
}


def _finding(cause, status, evidence, **detail):
    return {"cause": cause, "label": CAUSES[cause], "status": status, "evidence": evidence, **detail}


class _Context:
    def __init__(self, a, b, batch, a_points, b_points, result, tolerance):
        self.a, self.b, self.batch, self.a_points, self.b_points = a, b, batch, a_points, b_points
        self.result, self.tolerance = result, tolerance
        self.order = [r["endpoint"] for r in result["endpoints"]]
        self.background = None
        self.b_on_a_input = None
        self.mirrored = False

    def run(self, side, model_input=None):
        """Endpoint parity against A of `side` (standing in for B), fed A's model input unless told otherwise.

        A's input isolates the network from preprocessing, which is tested on its own.
        """
        points = side.endpoints(self.batch.for_side(self.a) if model_input is None else model_input)
        return endpoint_parity(self.a_points, points, self.order, self.tolerance)

    def restored(self, parity):
        """Parity, except logits whose only difference is the background class already found."""
        return parity["ok"] or (parity["first_divergence"] == "logits" and self.background is not None)


def diagnose(a, b, batch, a_points, b_points, result, tolerance):
    """[finding] for a failed endpoint parity `result` of b against a (see module doc)."""
    ctx = _Context(a, b, batch, a_points, b_points, result, tolerance)
    declared = {field: (va, vb) for field, va, vb in differences(a.conventions, b.conventions)}
    findings = []
    findings += _background(ctx)
    findings += _strides(ctx, declared)
    findings += _adjustable(ctx, declared)
    findings += _preprocessing(ctx, declared)
    findings += _weights(ctx)
    findings += _color(ctx, declared, findings)
    findings += structural(a, b, batch.values.shape[1:3])
    return _merged(findings)


def structural(a, b, input_hw=(224, 224)):
    """[finding] per knob whose difference between A's and B's descriptions changes what the network computes."""
    if a.arch == b.arch:
        return []
    from slimcompat.structure.diff import diff
    out = []
    for row in diff(a.arch, b.arch, input_hw=tuple(input_hw)).rows:
        if row.effect == "training":
            continue
        cost = f"{row.params:+,d} parameters, {row.macs:+,d} multiply-adds (A - B)" if row.params or row.macs else \
            "no parameters"
        out.append(_finding(row.knob, "structural difference",
                            f"A {_shown(row.a)}, B {_shown(row.b)}: {cost}; outputs differ {row.outputs}"))
    return out


def _shown(value):
    return "x".join(map(str, value)) if isinstance(value, tuple) else str(value)


def _merged(findings):
    """One finding per cause: found if any experiment found it, the evidence of each kept."""
    out = {}
    for f in findings:
        if f["cause"] not in out:
            out[f["cause"]] = f
            continue
        kept = out[f["cause"]]
        first, second = (kept, f) if _rank(kept) >= _rank(f) else (f, kept)
        out[f["cause"]] = {**second, **first, "evidence": f"{first['evidence']}; {second['evidence']}"}
    return list(out.values())


def _rank(finding):
    """Which status a merged finding keeps: a finding, then any experiment's result, then the structural
    difference, then a difference only declared."""
    return {"found": 3, "structural difference": 1, "declared, not tested": 0}.get(finding["status"], 2)


def _background(ctx):
    la, lb = ctx.a_points.get("logits"), ctx.b_points.get("logits")
    if la is None or lb is None or la.shape == lb.shape:
        return []
    if la.shape[1] == lb.shape[1] + 1:
        error = compare(la[:, 1:], lb)
        which = "A's logits[:, 1:] against B's logits"
    elif lb.shape[1] == la.shape[1] + 1:
        error = compare(la, lb[:, 1:])
        which = "A's logits against B's logits[:, 1:]"
    else:
        return []
    if error["relative"] <= ctx.tolerance:
        ctx.background = which
        return [_finding("background", "found", f"{la.shape[1]} vs {lb.shape[1]} classes; {which}: relative "
                                                f"error {error['relative']:.1e}, within tolerance")]
    return [_finding("background", "ruled out", f"{la.shape[1]} vs {lb.shape[1]} classes, but {which} still "
                                                f"differ (relative error {error['relative']:.1e})")]


def _resolutions(ctx):
    """[(endpoint, A's H x W, B's H x W)] of units whose spatial size differs although the stem's agrees."""
    rows = {r["endpoint"]: r for r in ctx.result["endpoints"]}
    stem = rows.get("stem")
    if stem is None or stem["shape_a"] != stem["shape_b"]:
        return []
    return [(name, r["shape_a"][1:3], r["shape_b"][1:3]) for name, r in rows.items()
            if name.startswith("stage") and len(r.get("shape_a", [])) == 4 and r["shape_a"][1:3] != r["shape_b"][1:3]]


def _strides(ctx, declared):
    differing = _resolutions(ctx)
    if not differing:
        return []
    by_stage = {}
    for name, ha, hb in differing:
        by_stage.setdefault(name.split("/")[0], []).append(f"{name.split('/')[1]} {_hw(ha)} vs {_hw(hb)}")
    listing = "; ".join(f"{stage}: {', '.join(units)}" for stage, units in by_stage.items())
    said = declared.get("stride_placement")
    cause = f" (declared: A {said[0]}, B {said[1]})" if said else ""
    return [_finding("stride_placement", "found", f"unit resolutions differ inside stages{cause}: {listing}",
                     units=[{"endpoint": n, "hw_a": a, "hw_b": b} for n, a, b in differing])]


def _hw(shape):
    return "x".join(map(str, shape))


def _rebuilt(ctx, fields, declared):
    """Endpoint parity with `fields` aligned, or None if neither side can be rebuilt with them.

    B is rebuilt with A's values; where B cannot be (the slim graph rebuilds only
    epsilon), A is rebuilt with B's values instead and compared with B, both fed
    A's model input.
    """
    if not fields:
        return ctx.run(ctx.b)
    side = ctx.b.variant(**{f: declared[f][0] for f in fields})
    if side is not None:
        return ctx.run(side)
    mirror = ctx.a.variant(**{f: declared[f][1] for f in fields})
    if mirror is None:
        return None
    model_input = ctx.batch.for_side(ctx.a)
    if ctx.b_on_a_input is None:
        ctx.b_on_a_input = ctx.b.endpoints(model_input)
    ctx.mirrored = True
    return endpoint_parity(mirror.endpoints(model_input), ctx.b_on_a_input, ctx.order, ctx.tolerance)


def _adjustable(ctx, declared):
    suspects = [f for f in adjustable(ctx.a.arch) if f in declared]
    if not suspects:
        return []
    everything = _rebuilt(ctx, suspects, declared)
    if everything is None:
        return [_finding(f, "declared, not tested", f"A {declared[f][0]}, B {declared[f][1]}; neither {ctx.a.key} "
                                                    f"nor {ctx.b.key} can be rebuilt with another {CAUSES[f]}")
                for f in suspects]
    rebuilt = "A rebuilt with B's" if ctx.mirrored else "B rebuilt with A's"
    if not ctx.restored(everything):
        return [_finding(f, "declared, not sufficient", f"A {declared[f][0]}, B {declared[f][1]}; {rebuilt} "
                                                        f"{', '.join(suspects)} still diverges first at "
                                                        f"{everything['first_divergence']}") for f in suspects]
    out = []
    for f in suspects:
        rest = [g for g in suspects if g != f]
        alone = _rebuilt(ctx, rest, declared)
        values = f"A {declared[f][0]}, B {declared[f][1]}"
        if ctx.restored(alone):
            out.append(_finding(f, "no measurable effect", f"{values}; with every other cause aligned the sides "
                                                           f"are within tolerance"))
        else:
            aligned = f"{rebuilt} {CAUSES[f]}" + (f" and {', '.join(CAUSES[g] for g in rest)}" if rest else "")
            out.append(_finding(f, "found", f"{values}; {aligned} is within tolerance; with only this difference "
                                            f"left the first divergence is {alone['first_divergence']}",
                                first_divergence=alone["first_divergence"]))
    return out


def _preprocessing(ctx, declared):
    if not ctx.batch.pixels or not ({"color", "scaling"} & set(declared)):
        return []
    shared = ctx.run(ctx.b)
    parts = "; ".join(f"{k}: A {declared[k][0]}, B {declared[k][1]}" for k in ("color", "scaling") if k in declared)
    if ctx.restored(shared):
        return [_finding("preprocessing", "found", f"{parts}; B fed A's preprocessed input is within tolerance")]
    return [_finding("preprocessing", "contributes", f"{parts}; with A's input B still diverges first at "
                                                     f"{shared['first_divergence']}")]


def _color(ctx, declared, findings):
    found = {f["cause"] for f in findings if f["status"] == "found"}
    if found and ("color" not in declared or "preprocessing" in found):
        return []
    flipped = ctx.run(ctx.b, ctx.batch.for_side(ctx.b)[..., ::-1])
    if ctx.restored(flipped):
        return [_finding("color", "found", "B fed its input with the colour channels reversed is within tolerance: "
                                           "one side's first conv expects the other channel order")]
    return [_finding("color", "ruled out", f"reversing B's colour channels does not restore parity (first "
                                           f"divergence {flipped['first_divergence']})")]


def _weights(ctx):
    wa, wb = getattr(ctx.a, "weights", None), getattr(ctx.b, "weights", None)
    if wa is None or wb is None or wa is wb:
        return []
    differ = []
    for name, value in wa.tensors.items():
        other = wb.tensors.get(name)
        if other is not None and np.shape(other) == np.shape(value) and not np.array_equal(value, other):
            delta = np.abs(np.asarray(value, np.float64) - np.asarray(other, np.float64))
            differ.append({"tensor": name, "elements": int(np.count_nonzero(delta)), "max_abs": float(delta.max()),
                           "endpoint": endpoint_of(name)})
    if not differ:
        return [_finding("weights", "ruled out", "both weight files hold identical values for every shared tensor")]
    order = wa.meta.description.endpoint_names()
    first = min(differ, key=lambda d: order.index(d["endpoint"]) if d["endpoint"] in order else len(order))
    shown = ", ".join(f"{d['tensor']} ({d['elements']} elements, max |diff| {d['max_abs']:.3g})" for d in differ[:4])
    more = f", ... {len(differ) - 4} more" if len(differ) > 4 else ""
    return [_finding("weights", "found", f"{len(differ)} tensors differ between the weight files: {shown}{more}; "
                                         f"the first endpoint containing one is {first['endpoint']}",
                     tensors=differ, first_endpoint=first["endpoint"])]
