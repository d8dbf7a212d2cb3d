"""A user's own Keras model (Keras 3 or tf-keras, any names) as a parity implementation.

Its structure is recognised (slimcompat.structure), so its variables have
canonical names and its endpoints are the model tensors the recognition
matched to the canonical endpoints: one traced function, pruned to those
tensors, gives every endpoint from one forward pass. Weights load through
slimcompat.structure.model_weights, all or nothing; weights of a network that
computes otherwise load as long as the shapes fit, since finding where the
outputs part is what parity is for, and the diagnosis names each structural
difference. A user's model cannot be rebuilt with other knobs (`variant` is
None); the diagnosis rebuilds the other side instead where it can.

    from slimcompat.parity import check, inputs, user_model
    side = user_model.UserModel(model)                       # recognised now
    report = check.parity(side, "keras-faithful", side.own_weights(), inputs.random_batch((2, 224, 224, 3)))
"""

import numpy as np

from slimcompat.parity.conventions import Conventions
from slimcompat.parity.implementation import Implementation, Variable, to_numpy_2d

__all__ = ["UserModel"]


class UserModel(Implementation):
    """Parity side for a model object; `title` says where it came from (its code)."""

    key = "model"

    def __init__(self, model, title=None, input_shape=None, input_convention=None, device="CPU"):
        from slimcompat.structure import recognize
        from slimcompat.structure.model_weights import convention_of
        self.model = model
        self.recognition = recognize(model, input_shape, keep_function=True)
        self.title = title or f"user's model {getattr(model, 'name', '')} (recognised: {self.arch_name})"
        super().__init__(Conventions(self.recognition.description, convention_of(input_convention)), device)
        self._names = list(self.recognition.endpoints)
        function = self.recognition.traced.function
        self._endpoints = function.prune(function.inputs[0],
                                         [self.recognition.endpoints[n].tensor for n in self._names])

    @property
    def arch_name(self):
        return self.recognition.description.name

    @property
    def input_shape(self):
        return self.recognition.input_shape

    def own_weights(self):
        """The model's current weights as canonical Weights (for the other side to load)."""
        from slimcompat.structure import model_weights
        weights = model_weights.read(self.model, self.recognition, input_convention=self.conventions.input)
        self.source = weights
        return weights

    def variables(self):
        out = []
        for name, variables in self.recognition.variable_names().items():
            shape = self.recognition.description.tensors()[name]
            shown = names[0] if len(names := variables) == 1 else f"{names[0]} .. {names[-1]} ({len(names)} groups)"
            out.append(Variable(shown, name, tuple(shape)))
        return out

    def load(self, weights=None):
        from slimcompat.structure import model_weights
        weights = weights or self.source
        self.report = model_weights.write(self.model, weights, self.recognition, allow_differences=True)
        self.weights = weights
        return self

    def endpoints(self, model_input):
        import tensorflow as tf
        rows = []
        with tf.device(self.device):
            for sample in np.asarray(model_input, np.float32):
                rows.append([np.asarray(t) for t in self._endpoints(tf.constant(sample[None]))])
        stacked = {name: np.concatenate([row[i] for row in rows]) for i, name in enumerate(self._names)}
        return to_numpy_2d(stacked)

    def forward(self, model_input):
        import tensorflow as tf
        with tf.device(self.device):
            return np.asarray(self.model(np.asarray(model_input, np.float32), training=False))
