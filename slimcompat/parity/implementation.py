"""What the parity check needs from an implementation, and the registry of them.

An implementation is a network that computes with canonical Weights: it lists
its variables under its own names (with the canonical name each maps to), loads
the weights all or nothing, and returns its endpoints by canonical endpoint
name (see `endpoints`) from one forward pass. Everything the comparison,
diagnosis and reports do is written against this interface only, so a new
implementation is one class and one registry line.
"""

import dataclasses
import importlib
from typing import Dict, List, Optional, Tuple

import numpy as np

from slimcompat.arch.mapping import check_mapping
from slimcompat.errors import SlimcompatError

__all__ = ["Variable", "Implementation", "IMPLEMENTATIONS", "NATIVE_SOURCES", "create", "to_numpy_2d"]


@dataclasses.dataclass(frozen=True)
class Variable:
    """One variable as the implementation names it, its canonical name (None: none maps), canonical-layout shape."""

    name: str
    canonical: Optional[str]
    shape: Tuple[int, ...]


class Implementation:
    """Base: subclasses set key, title, conventions, device and the hooks below."""

    key = ""
    title = ""

    def __init__(self, conventions, device):
        self.conventions, self.device = conventions, device

    @property
    def arch(self):
        """The description this implementation computes."""
        return self.conventions.description

    def variables(self) -> List[Variable]:
        raise NotImplementedError

    def _assign(self, by_canonical, tensors):
        raise NotImplementedError

    def endpoints(self, model_input) -> Dict[str, np.ndarray]:
        """{canonical endpoint: array} from one forward pass; pooled and logits as [batch, features]."""
        raise NotImplementedError

    def forward(self, model_input) -> np.ndarray:
        """Logits only: the plain forward pass a user runs (for cost comparisons)."""
        raise NotImplementedError

    def variant(self, **changes) -> Optional["Implementation"]:
        """The same network rebuilt with other knobs (conventions.adjustable), loaded; None if it cannot be."""
        return None

    def load(self, weights=None):
        """Assign canonical `weights` (default: those it was created for); all or nothing."""
        weights = weights or self.source
        mapped = {v.canonical: v for v in self.variables() if v.canonical is not None}
        found = {**{c: v.shape for c, v in mapped.items()},
                 **{v.name: v.shape for v in self.variables() if v.canonical is None}}
        expected = {n: tuple(np.shape(t)) for n, t in weights.tensors.items()}
        check_mapping(expected, found, f"{self.key} ({self.title})")
        self._assign(mapped, weights.tensors)
        self.weights = weights
        return self


def to_numpy_2d(endpoints):
    """Endpoint arrays as numpy; `pooled` and the logits (`logits`, `aux_logits`) flattened to [batch, features].

    An eager tensor becomes a read-only view of its buffer (np.asarray), not the
    copy `.numpy()` makes: a ResNet-50's endpoints are 150 MB at batch 8, and
    copying them cost as much as the metrics.
    """
    out = {}
    for name, value in endpoints.items():
        value = np.asarray(value)
        out[name] = value.reshape(len(value), -1) if name == "pooled" or name.endswith("logits") else value
    return out


# key: (module, factory, description). Factories take (weights, input_shape, device).
IMPLEMENTATIONS = {
    "slim-graph": ("slimcompat.parity.slim_graph", "SlimGraph",
                   "slim net (tf_slim idiom) built to the weights' description, in a TF1 graph, one Session.run"),
    "slim-eager": ("slimcompat.parity.slim_eager", "SlimEager", "the same slim net as a TF2 eager layer"),
    "keras-faithful": ("slimcompat.parity.keras_models", "faithful",
                       "Keras 3 model built to the weights' description"),
    "keras-stock": ("slimcompat.parity.keras_models", "stock", "keras.applications model as shipped"),
    "keras-legacy": ("slimcompat.parity.keras_models", "legacy",
                     "the Keras-1 ResNet50 as published (epsilon 1e-3, stem pool without padding)"),
    "torch": ("slimcompat.parity.torch_side", "TorchNet",
              "PyTorch module built to the weights' description (the torch extra)"),
}


# The source whose conventions each implementation was written for (random weights are made in them).
NATIVE_SOURCES = {
    "slim-graph": "slim", "slim-eager": "slim", "keras-faithful": "keras", "keras-stock": "keras",
    "keras-legacy": "keras1", "torch": "torchvision",
}


def create(key, weights, input_shape, device="CPU"):
    """Build implementation `key` for `weights`' architecture (not loaded yet); an Implementation given as `key`
    (a user's model, slimcompat.parity.user_model) is used as it is."""
    if isinstance(key, Implementation):
        key.source = getattr(key, "source", None) or weights
        return key
    if key not in IMPLEMENTATIONS:
        raise SlimcompatError(f"unknown implementation {key!r}; known: {', '.join(IMPLEMENTATIONS)}")
    module, factory, _ = IMPLEMENTATIONS[key]
    implementation = getattr(importlib.import_module(module), factory)(weights, tuple(input_shape), device)
    implementation.source = weights
    return implementation
