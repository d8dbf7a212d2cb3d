"""Naming schemes: canonical tensor names <-> each implementation's names, declared once as data.

A scheme is a family's layer rules (canonical layer template, scheme layer
template; `layers` in its family module) plus the scheme's parameter
vocabulary (here), read in both directions by the engine in
`slimcompat.arch.templates`. The tests check the round trip over every
tensor of every description.

Endpoint schemes say where an implementation exposes each canonical endpoint
(`stem`, `stage{s}/unit{u}`, `pooled`, `logits`); their rules are the
family's `endpoints`.
"""

import functools
from typing import List

from slimcompat.arch.templates import Scheme, UnknownNameError
from slimcompat.errors import SlimcompatError

__all__ = ["SCHEMES", "ENDPOINT_SCHEMES", "scheme", "endpoint_scheme", "round_trip_failures"]

_IDENTITY_PARAMS = {p: p for p in ("kernel", "depthwise_kernel", "bias", "gamma", "beta", "moving_mean",
                                    "moving_variance")}
_TORCH_WEIGHTS = {"kernel": "weight", "bias": "bias"}

# Each scheme's parameter vocabulary and how it glues names; the layer rules are each family's
# (`layers` of its module in slimcompat.arch.families).
VOCABULARIES = {
    "slim": dict(params={**_IDENTITY_PARAMS, "kernel": "weights", "depthwise_kernel": "depthwise_weights",
                         "bias": "biases"}),
    "keras": dict(params=_IDENTITY_PARAMS),
    # The Keras-1 release: datasets `<layer>_W:0`; `running_std` holds the variance.
    "keras1": dict(params={**_IDENTITY_PARAMS, "kernel": "W", "bias": "b", "moving_mean": "running_mean",
                           "moving_variance": "running_std"}, join="_", suffix=":0"),
    # state_dict keys: PyTorch calls a kernel and a BatchNorm scale both `weight`.
    "torchvision": dict(params={}, join=".", kind_params={
        "conv": _TORCH_WEIGHTS, "depthwiseconv": {"depthwise_kernel": "weight", "bias": "bias"}, "dense": _TORCH_WEIGHTS,
        "batchnorm": {"gamma": "weight", "beta": "bias", "moving_mean": "running_mean",
                      "moving_variance": "running_var"}}),
}
# timm's state_dicts: PyTorch's parameter names, as torchvision's; only the layer rules differ.
VOCABULARIES["timm"] = VOCABULARIES["torchvision"]
SCHEMES = tuple(VOCABULARIES)
ENDPOINT_SCHEMES = ("slim", "keras.applications")


@functools.lru_cache(maxsize=None)
def _scheme(name, record):
    return Scheme(name=name, layers=record.layers[name], **VOCABULARIES[name])


@functools.lru_cache(maxsize=None)
def _endpoints(name, record):
    return Scheme(name=f"{name} endpoints", layers=record.endpoints[name], params={})


def scheme(name, description):
    """The naming scheme called `name` for `description`'s family, bound to it."""
    record = description.record
    if name not in VOCABULARIES:
        raise SlimcompatError(f"unknown naming scheme {name!r}; known: {', '.join(SCHEMES)}")
    if name not in record.layers:
        raise SlimcompatError(f"{description.name}: no {name} names for the {record.name} family; it has "
                              f"{', '.join(record.layers)}")
    return _scheme(name, record).bind(description)


def endpoint_scheme(name, description):
    """Where implementation `name` exposes `description`'s endpoints: `.layer(canonical endpoint)`."""
    record = description.record
    if name not in record.endpoints:
        raise SlimcompatError(f"{description.name}: no {name} endpoints known for the {record.name} family")
    return _endpoints(name, record).bind(description)


def round_trip_failures(scheme_name, description) -> List[str]:
    """Canonical tensors of `description` whose scheme name does not map back to them."""
    bound = scheme(scheme_name, description)
    bad = []
    for name in description.tensors():
        try:
            if bound.canonical_tensor(bound.tensor(name)) != name:
                bad.append(name)
        except UnknownNameError:
            bad.append(name)
    return bad
