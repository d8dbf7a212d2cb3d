"""Canonical endpoints: the tensors two implementations are compared at.

An endpoint is a point of the forward pass every ResNet implementation
computes: `stem` (after the stem's max pool, where pooling conventions show),
`stage{s}/unit{u}` (each unit's output), `pooled` (global average pool, after
the v2 post-norm) and `logits`. Units, not only stages, because a wrong stride
placement changes a unit's resolution inside a stage while the stage output
and even the logits can look right.

Where each implementation exposes them is data: naming schemes of the same
kind as `slimcompat.weights.names` (canonical template <-> implementation
template), read by the same engine, so no per-depth list exists anywhere.
"""

from slimcompat.weights.names import Scheme

__all__ = ["ENDPOINT_SCHEMES", "endpoint_names", "endpoint_of", "endpoint_scheme"]

_UNIT = "stage{s}/unit{u}"


def _scheme(name, stem, unit, pooled, logits=None):
    rules = (("stem", stem), (_UNIT, unit), ("pooled", pooled)) + ((("logits", logits),) if logits else ())
    return Scheme(name=name, layers=rules, params={})


# slim: an end_points key where slim collects one, else a graph tensor name.
# keras.applications: layer names. slimcompat's Keras builder: the names its
# `_aux` gives weightless layers (unit output is the ReLU in v1, the Add in v2);
# its classifier is named by the weight scheme it was built with (`names.py`).
ENDPOINT_SCHEMES = {
    "slim": _scheme("slim endpoints", "{scope}/pool1/MaxPool:0", "{scope}/block{s}/unit_{u}/bottleneck_v{v}",
                    "{scope}/pool5:0", "{scope}/logits"),
    "keras.applications": _scheme("keras.applications endpoints", "pool1_pool", "conv{s+1}_block{u}_out",
                                  "avg_pool", "predictions"),
    "built:resnet_v1": _scheme("slimcompat Keras v1 endpoints", "stem_pool", "stage{s}_unit{u}_out", "pool"),
    "built:resnet_v2": _scheme("slimcompat Keras v2 endpoints", "stem_pool", "stage{s}_unit{u}_add", "pool"),
}


def endpoint_scheme(name, arch):
    """ENDPOINT_SCHEMES[name] bound to `arch`: `.layer(canonical endpoint)` gives the implementation's name."""
    return ENDPOINT_SCHEMES[name].bind(arch)


def endpoint_names(arch, classifier=True):
    """Canonical endpoints of `arch` in forward order."""
    units = [f"stage{s}/unit{u}" for s, n, _, _, _ in arch.stage_io() for u in range(1, n + 1)]
    return ["stem", *units, "pooled", *(["logits"] if classifier else [])]


def endpoint_of(tensor_name):
    """The first endpoint whose value depends on a canonical tensor (postnorm feeds `pooled`)."""
    head, _, rest = tensor_name.partition("/")
    if head.startswith("stage"):
        return f"{head}/{rest.split('/', 1)[0]}"
    return {"postnorm": "pooled"}.get(head, head)
