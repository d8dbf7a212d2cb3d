"""Canonical endpoints: the tensors two implementations are compared at.

An endpoint is a point of the forward pass every implementation of a
description computes: `stem` (after the stem's pooling, where pooling
conventions show), `stage{s}/unit{u}` (each unit's output), `pooled` (global
average pool) and `logits`. Units, not only stages, because a wrong stride
placement changes a unit's resolution inside a stage while the stage output
and even the logits can look right. The list is the description's
(`endpoint_names()`); where each implementation exposes them is data in
`slimcompat.arch.schemes` (ENDPOINT_SCHEMES) or known to its builder.
"""

__all__ = ["endpoint_names", "endpoint_of"]


def endpoint_names(description):
    """Canonical endpoints of `description` in forward order."""
    return description.endpoint_names()


def endpoint_of(tensor_name):
    """The first endpoint whose value depends on a canonical tensor (postnorm feeds `pooled`)."""
    head, _, rest = tensor_name.partition("/")
    if head.startswith("stage"):
        return f"{head}/{rest.split('/', 1)[0]}"
    return {"postnorm": "pooled"}.get(head, head)
