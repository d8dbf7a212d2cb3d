"""Naming schemes: canonical tensor names <-> each implementation's names, declared once as data.

Each scheme is a list of rules (canonical layer template, scheme layer
template) plus a parameter vocabulary, read in both directions by the engine
in `slimcompat.arch.templates`. One scheme covers every family it can name
(rules that do not match a description's layers are simply never used), and
the tests check the round trip over every tensor of every description.

Endpoint schemes of the same kind say where an implementation exposes each
canonical endpoint (`stem`, `stage{s}/unit{u}`, `pooled`, `logits`).
"""

from typing import List

from slimcompat.arch.templates import Scheme, UnknownNameError
from slimcompat.errors import SlimcompatError

__all__ = ["SCHEMES", "ENDPOINT_SCHEMES", "scheme", "endpoint_scheme", "round_trip_failures"]

_UNIT = "stage{s}/unit{u}"
_BRANCH = "stage{s}/unit{u}/branch{k}/conv{j}"
_IDENTITY_PARAMS = {p: p for p in ("kernel", "bias", "gamma", "beta", "moving_mean", "moving_variance")}
_TORCH_WEIGHTS = {"kernel": "weight", "bias": "bias"}

SCHEMES = {
    # tf_slim: resnet_v2_50/block1/unit_1/bottleneck_v2/conv1/weights, .../BatchNorm/moving_mean
    "slim": Scheme(
        name="slim",
        layers=(
            ("stem/conv", "{scope}/conv1"),
            ("stem/conv/bn", "{scope}/conv1/BatchNorm"),
            (f"{_UNIT}/preact", "{scope}/block{s}/unit_{u}/{unit}/preact"),
            (f"{_UNIT}/shortcut", "{scope}/block{s}/unit_{u}/{unit}/shortcut"),
            (f"{_UNIT}/shortcut/bn", "{scope}/block{s}/unit_{u}/{unit}/shortcut/BatchNorm"),
            (f"{_UNIT}/conv{{k}}", "{scope}/block{s}/unit_{u}/{unit}/conv{k}"),
            (f"{_UNIT}/conv{{k}}/bn", "{scope}/block{s}/unit_{u}/{unit}/conv{k}/BatchNorm"),
            (_BRANCH, "{scope}/block{s}/unit_{u}/{unit}/branch{k}/conv{j}"),
            (f"{_BRANCH}/bn", "{scope}/block{s}/unit_{u}/{unit}/branch{k}/conv{j}/BatchNorm"),
            ("postnorm", "{scope}/postnorm"),
            ("logits", "{scope}/logits"),
        ),
        params={**_IDENTITY_PARAMS, "kernel": "weights", "bias": "biases"},
    ),
    # keras.applications (conv2_block1_1_conv) and slimcompat's Keras builder for what it lacks.
    "keras": Scheme(
        name="keras",
        layers=(
            ("stem/conv", "conv1_conv"),
            ("stem/conv/bn", "conv1_bn"),
            (f"{_UNIT}/preact", "conv{s+1}_block{u}_preact_bn"),
            (f"{_UNIT}/shortcut", "conv{s+1}_block{u}_0_conv"),
            (f"{_UNIT}/shortcut/bn", "conv{s+1}_block{u}_0_bn"),
            (f"{_UNIT}/conv{{k}}", "conv{s+1}_block{u}_{k}_conv"),
            (f"{_UNIT}/conv{{k}}/bn", "conv{s+1}_block{u}_{k}_bn"),
            (_BRANCH, "conv{s+1}_block{u}_branch{k}_{j}_conv"),
            (f"{_BRANCH}/bn", "conv{s+1}_block{u}_branch{k}_{j}_bn"),
            ("postnorm", "post_bn"),
            ("logits", "predictions"),
        ),
        params=_IDENTITY_PARAMS,
    ),
    # The Keras-1 ResNet50 of 2016 (Caffe names): res2a_branch2a, bn2a_branch2a,
    # datasets `<layer>_W:0`; `running_std` holds the variance.
    "keras1": Scheme(
        name="keras1",
        layers=(
            ("stem/conv", "conv1"),
            ("stem/conv/bn", "bn_conv1"),
            (f"{_UNIT}/shortcut", "res{s+1}{u@}_branch1"),
            (f"{_UNIT}/shortcut/bn", "bn{s+1}{u@}_branch1"),
            (f"{_UNIT}/conv{{k}}", "res{s+1}{u@}_branch2{k@}"),
            (f"{_UNIT}/conv{{k}}/bn", "bn{s+1}{u@}_branch2{k@}"),
            ("logits", "fc1000"),
        ),
        params={**_IDENTITY_PARAMS, "kernel": "W", "bias": "b",
                "moving_mean": "running_mean", "moving_variance": "running_std"},
        join="_", suffix=":0",
    ),
    # torchvision's ResNet/ResNeXt state_dict keys (conv1.weight, bn1.running_var, layer1.0.conv2.weight,
    # layer1.0.downsample.0.weight, fc.weight), and in the same style what torchvision has no module for
    # (pre-activation BatchNorms, the last BatchNorm of v2 nets, Inception branches): the names of
    # slimcompat's faithful PyTorch module. PyTorch calls a kernel and a BatchNorm scale both `weight`.
    "torchvision": Scheme(
        name="torchvision",
        layers=(
            ("stem/conv", "conv1"),
            ("stem/conv/bn", "bn1"),
            (f"{_UNIT}/preact", "layer{s}.{u-1}.preact"),
            (f"{_UNIT}/shortcut", "layer{s}.{u-1}.downsample.0"),
            (f"{_UNIT}/shortcut/bn", "layer{s}.{u-1}.downsample.1"),
            (f"{_UNIT}/conv{{k}}", "layer{s}.{u-1}.conv{k}"),
            (f"{_UNIT}/conv{{k}}/bn", "layer{s}.{u-1}.bn{k}"),
            (_BRANCH, "layer{s}.{u-1}.branch{k}.conv{j}"),
            (f"{_BRANCH}/bn", "layer{s}.{u-1}.branch{k}.bn{j}"),
            ("postnorm", "postnorm"),
            ("logits", "fc"),
        ),
        params={},
        kind_params={"conv": _TORCH_WEIGHTS, "dense": _TORCH_WEIGHTS,
                     "batchnorm": {"gamma": "weight", "beta": "bias", "moving_mean": "running_mean",
                                   "moving_variance": "running_var"}},
        join=".",
    ),
}


def _endpoints(name, stem, unit, pooled, logits=None):
    rules = (("stem", stem), (_UNIT, unit), ("pooled", pooled)) + ((("logits", logits),) if logits else ())
    return Scheme(name=name, layers=rules, params={})


# slim: end_points keys (tf_slim collects units and logits; slimcompat's slim nets
# also the stem and the pooled features). keras.applications: layer names.
ENDPOINT_SCHEMES = {
    "slim": _endpoints("slim endpoints", "{scope}/stem", "{scope}/block{s}/unit_{u}/{unit}", "{scope}/pool5",
                       "{scope}/logits"),
    "keras.applications": _endpoints("keras.applications endpoints", "pool1_pool", "conv{s+1}_block{u}_out",
                                     "avg_pool", "predictions"),
}


def scheme(name, description):
    """The naming scheme called `name`, bound to `description`."""
    try:
        return SCHEMES[name].bind(description)
    except KeyError:
        raise SlimcompatError(f"unknown naming scheme {name!r}; known: {', '.join(SCHEMES)}") from None


def endpoint_scheme(name, description):
    """ENDPOINT_SCHEMES[name] bound to `description`: `.layer(canonical endpoint)` gives the implementation's name."""
    return ENDPOINT_SCHEMES[name].bind(description)


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
