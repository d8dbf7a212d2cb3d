"""Keras-era programs (2017-2021 Keras and tf.keras code) on TF 2.21.

`slimcompat run` gives such a program the Keras 2 it was written for (tf-keras, as
`tf.keras` and as standalone `keras`), with the modules Keras dropped served from
their maintained equivalents (slimcompat.keras2.modules), the Keras 1 arguments
Keras 2.0-2.3 still took converted (slimcompat.keras2.keras1_args) and `get_file`
answered from local files only (slimcompat.keras2.offline). `slimcompat migrate` rewrites it
for Keras 3, and the migrated code calls into this package where Keras 3 alone
cannot do what the program did:

    import slimcompat.keras2
    if slimcompat.keras2.weights_exist('./checkpoint/model.weights.h5'):
        slimcompat.keras2.load_weights(model, './checkpoint/model.weights.h5')

`load_weights` also loads the checkpoint the program wrote before migration
(`./checkpoint/model.ckpt`, a TF-format checkpoint of tf.keras 2.x) when the new
file does not exist yet, so training resumes instead of starting again.
`SparseCategoricalCrossentropy` is Keras 3's loss with Keras 2's rule for outputs
of another rank than the labels' + 1 (slimcompat.keras2.losses); `Embedding` is
Keras 3's with Keras 1's `dropout` (slimcompat.keras2.word_dropout);
`initial_weights(layer, w)` is Keras 2's `weights=w` layer argument
(slimcompat.keras2.initial_weights).

Importing this package serves, under Keras 3, the Keras 2 modules a migrated
program still imports (`keras.utils.layer_utils`); it is cheap (no TensorFlow).
With SLIMCOMPAT_OFFLINE=1 in the environment it also answers `get_file` offline
(SLIMCOMPAT_WEIGHTS_DIR, SLIMCOMPAT_TRUST_FILE), as `slimcompat run` does.
"""

import os

from slimcompat.keras2 import modules, offline
from slimcompat.keras2.backend22 import batch_dot
from slimcompat.keras2.initial_weights import initial_weights
from slimcompat.keras2.stateful import reset_states
from slimcompat.keras2.weights import latest_checkpoint, load_weights, save_weights, weights_exist

__all__ = ["load_weights", "save_weights", "latest_checkpoint", "weights_exist", "initial_weights", "reset_states",
           "batch_dot",
           "SparseCategoricalCrossentropy", "Embedding"]


def __getattr__(name):
    # Keras 3 is imported only when a migrated program asks for the loss, never by `import slimcompat.keras2`.
    if name == "SparseCategoricalCrossentropy":
        from slimcompat.keras2.losses import SparseCategoricalCrossentropy
        return SparseCategoricalCrossentropy
    if name == "Embedding":
        global Embedding
        from slimcompat.keras2.word_dropout import keras3_embedding
        Embedding = keras3_embedding()
        return Embedding
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

modules.install("3")
if os.environ.get("SLIMCOMPAT_OFFLINE") == "1":
    offline.install(offline.Settings.from_env())
