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

# |a - b|, its maximum and the extremes of a are taken a block at a time, so a
# block is still in the CPU cache for the passes after the subtraction (a
# ResNet-50's endpoints are 150 MB a side: each pass from memory costs).
_BLOCK = 1 << 16


def compare(a, b, buffer=None):
    """Metrics of `b` against reference `a` (JSON-ready dict; see module doc).

    `buffer`, a float32 array at least as large, holds |a - b| instead of a new
    one (a caller comparing many endpoints allocates it once).
    """
    a, b = np.asarray(a), np.asarray(b)
    out = {"shape_a": list(a.shape), "shape_b": list(b.shape), "comparable": a.shape == b.shape}
    if not out["comparable"]:
        return out
    af, bf = a.ravel(), b.ravel()
    n = af.size
    if not n:
        out.update(max_abs=0.0, mean_abs=0.0, p99_abs=0.0, scale=0.0, relative=0.0, cosine=1.0, worst_index=[],
                   worst_values=[], p99_sampled=False)
        return out
    diff = buffer[:n] if buffer is not None and buffer.size >= n else np.empty(n, np.float32)
    worst, max_abs, high, low = _blockwise(af, bf, diff)
    scale = max(high, -low)
    ab, aa, bb = float(af @ bf), float(af @ af), float(bf @ bf)  # BLAS float32 sums; ratio in float64
    norms = (aa * bb) ** 0.5
    out.update(
        max_abs=max_abs,
        mean_abs=float(np.mean(diff)),
        p99_abs=_p99(diff if n <= SAMPLE else diff[:: n // SAMPLE], max_abs != max_abs),
        scale=scale,
        relative=_ratio(max_abs, scale),
        cosine=1.0 if max_abs == 0 else (ab / norms if norms else 0.0),
        worst_index=[int(i) for i in np.unravel_index(worst, a.shape)],
        worst_values=[float(af[worst]), float(bf[worst])],
        p99_sampled=n > SAMPLE,
    )
    return out


def _blockwise(af, bf, diff):
    """Fill `diff` with |af - bf| (float32); (index of its first maximum, the maximum, max af, min af).

    The same values as whole-array argmax/max/min: per-block results combine
    exactly (first block holding the maximum, a NaN first as argmax has it).
    """
    count = -(-af.size // _BLOCK)
    peaks, where = np.empty(count, np.float32), np.empty(count, np.intp)
    highs, lows = np.empty(count, af.dtype), np.empty(count, af.dtype)
    for i, start in enumerate(range(0, af.size, _BLOCK)):
        stop = start + _BLOCK
        x, d = af[start:stop], diff[start:stop]
        np.subtract(x, bf[start:stop], out=d, dtype=np.float32)
        np.abs(d, out=d)
        j = int(np.argmax(d))
        peaks[i], where[i] = d[j], start + j
        highs[i], lows[i] = x.max(), x.min()
    block = int(np.argmax(peaks))
    return int(where[block]), float(peaks[block]), float(highs.max()), float(lows.min())


def _p99(sample, nan):
    """np.percentile(sample, 99), the same value by a cheaper route where the sample is large and has no NaN.

    Only the top percent matters: the elements at or above a threshold read
    from a sparse sub-sample are the top of the sorted sample, so when they
    include both ranks the percentile interpolates between, a partition of
    those few finds them (percentile itself copies and partitions everything).
    """
    n = sample.size
    if nan or n < 1 << 12:
        return float(np.percentile(sample, 99))
    q = 99 / 100
    position = n * q + (1 + q * -1.0) - 1  # numpy's virtual index, term for term
    k = int(position)
    guide = np.array(sample[::64])
    rank = int(0.98 * (guide.size - 1))
    guide.partition(rank)
    top = sample[sample >= guide[rank]]
    k -= n - top.size
    if k < 0:  # the threshold was above rank k
        return float(np.percentile(sample, 99))
    top.partition(k)
    below, above = top[k], top[k + 1:].min()
    t, step = position - int(position), above - below
    return float(above - step * (1 - t) if t >= 0.5 else below + step * t)  # numpy's _lerp


def _ratio(error, scale):
    if scale > 0:
        return error / scale
    return 0.0 if error == 0 else float("inf")
