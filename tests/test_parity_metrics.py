"""Endpoint metrics: the numbers a report gives are the whole-array definitions, however they are computed.

`slimcompat.parity.metrics` takes |a - b| a block at a time and the 99th
percentile by a partial partition; these tests hold it to numpy's whole-array
argmax, mean, max/min and percentile on arrays that cross block boundaries,
tie, hold NaN or inf, or defeat the percentile's shortcut.
"""

import json

import numpy as np
import pytest

from slimcompat.parity.metrics import SAMPLE, compare
from slimcompat.parity.numeric import endpoint_parity


def definition(a, b):
    """The metrics written the plain way: one numpy call on the whole array each."""
    d = np.abs(np.subtract(a.ravel(), b.ravel(), dtype=np.float32))
    worst = int(np.argmax(d))
    sample = d if d.size <= SAMPLE else d[:: d.size // SAMPLE]
    return {"max_abs": float(d[worst]), "mean_abs": float(np.mean(d)), "p99_abs": float(np.percentile(sample, 99)),
            "scale": max(float(a.max()), -float(a.min())),
            "worst_index": [int(i) for i in np.unravel_index(worst, a.shape)],
            "worst_values": [float(a.ravel()[worst]), float(b.ravel()[worst])]}


def pair(kind, shape, rng):
    a = rng.standard_normal(shape).astype(np.float32)
    b = a + rng.standard_normal(shape).astype(np.float32) * 1e-3
    flat = b.reshape(-1)
    if kind == "ties":  # the largest difference in many places, in several blocks
        a, b = np.round(a), np.round(a * 1.5)
    elif kind == "nan":
        flat[rng.integers(flat.size, size=2)] = np.nan
    elif kind == "inf":
        flat[rng.integers(flat.size, size=3)] = np.inf
    elif kind == "sparse top":  # every 128th element differs: a sparse guide overestimates the percentile
        b = a.copy()
        b.reshape(-1)[::128] += 5
    elif kind == "identical":
        b = a.copy()
    return a, b


KINDS = ["noise", "ties", "nan", "inf", "sparse top", "identical"]
SHAPES = [(7,), (3, 1001), (4, 128, 128), (2, 28, 28, 512), (SAMPLE + 3,)]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_metrics_are_the_whole_array_definitions(kind, shape):
    a, b = pair(kind, shape, np.random.default_rng(len(shape) * 7 + KINDS.index(kind)))
    got = compare(a, b)
    expected = definition(a, b)
    assert json.dumps({k: got[k] for k in expected}) == json.dumps(expected)  # NaN equals NaN here
    assert got["p99_sampled"] == (a.size > SAMPLE)


def test_one_buffer_serves_every_endpoint_in_turn():
    rng = np.random.default_rng(3)
    shapes = {"big": (2, 56, 56, 64), "small": (2, 10), "middle": (2, 14, 14, 256)}
    a = {name: rng.standard_normal(s).astype(np.float32) for name, s in shapes.items()}
    b = {name: v + rng.standard_normal(v.shape).astype(np.float32) * 1e-4 for name, v in a.items()}
    rows = endpoint_parity(a, b, list(shapes), 1e-5)["endpoints"]
    for row in rows:
        expected = definition(a[row["endpoint"]], b[row["endpoint"]])
        assert {k: row[k] for k in expected} == expected
