"""How far apart two values of one endpoint are, in numbers a reader can act on.

Absolute errors alone mislead across endpoints whose scales differ by orders
of magnitude, so the verdict uses the error relative to the tensor's scale
(max |a - b| / max |a|, a being the reference side); cosine similarity shows
whether the directions still agree, and the worst element's index says where
to look. Arrays of different shapes are not compared element-wise: the shapes
themselves are the finding (stride placement, stem pooling).
"""

import numpy as np

__all__ = ["compare", "SAMPLE"]

# Above this many elements the 99th percentile is taken over an evenly strided
# sample of about this size (its standard error is well under a percent of the
# value): an exact one costs a copy and a partition of every element, as much
# as the rest of the comparison together.
SAMPLE = 1 << 18


def compare(a, b):
    """Metrics of `b` against reference `a` (JSON-ready dict; see module doc)."""
    a, b = np.asarray(a), np.asarray(b)
    out = {"shape_a": list(a.shape), "shape_b": list(b.shape), "comparable": a.shape == b.shape}
    if not out["comparable"]:
        return out
    af, bf = a.ravel(), b.ravel()
    diff = np.subtract(af, bf, dtype=np.float32)
    np.abs(diff, out=diff)
    worst = int(np.argmax(diff))
    scale = max(float(af.max()), -float(af.min())) if af.size else 0.0
    max_abs = float(diff[worst]) if diff.size else 0.0
    sample = diff if diff.size <= SAMPLE else diff[:: diff.size // SAMPLE]
    ab, aa, bb = float(af @ bf), float(af @ af), float(bf @ bf)  # BLAS float32 sums; ratio in float64
    norms = (aa * bb) ** 0.5
    out.update(
        max_abs=max_abs,
        mean_abs=float(np.mean(diff)) if diff.size else 0.0,
        p99_abs=float(np.percentile(sample, 99)) if diff.size else 0.0,
        scale=scale,
        relative=_ratio(max_abs, scale),
        cosine=1.0 if max_abs == 0 else (ab / norms if norms else 0.0),
        worst_index=[int(i) for i in np.unravel_index(worst, a.shape)] if diff.size else [],
        worst_values=[float(af[worst]), float(bf[worst])] if diff.size else [],
        p99_sampled=diff.size > SAMPLE,
    )
    return out


def _ratio(error, scale):
    if scale > 0:
        return error / scale
    return 0.0 if error == 0 else float("inf")
