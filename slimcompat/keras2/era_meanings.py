"""Defaults and names whose meaning changed between Keras 1.x / 2.0-2.3 and tf-keras 2.x / Keras 3.

A Keras-era program says `optimizer='adadelta'`, `monitor='val_acc'` or
`history.history['acc']` and means what Keras of its day meant. tf-keras and
Keras 3 accept the same words and mean something else, without a word: Adadelta
at learning rate 0.001 instead of 1.0 (a Keras 1 MNIST CNN ends at chance), a
checkpoint callback that watches a metric no longer logged and so never saves.

One table, audited from each version's source (keras-team/keras at tags 1.2.2,
2.2.4 and 2.3.1; tf-keras 2.21 and Keras 3.15 as installed), read by both modes:
`slimcompat run` keeps the author's meaning at run time with one stderr line
naming the call site (slimcompat.keras2.era_run); `slimcompat migrate` writes
the meaning out (slimcompat.migrate.era). Renamed arguments (`nb_words` ->
`num_words`, `output_dim` -> `units`) are the Keras 1 argument table's
(slimcompat.keras2.keras1_args), which `run` and `migrate` read the same way.

Audited and unchanged, so absent below: SGD's and RMSprop's and Adam's learning
rates, rho, betas; BatchNormalization's momentum 0.99 and epsilon 1e-3 (Keras
1.2.2 and 2.2.4 alike); losses' mean over the batch; fit's batch_size 32 and
shuffle=True; ModelCheckpoint's and EarlyStopping's monitor default 'val_loss'.
"""

import dataclasses
from typing import Dict, Mapping

__all__ = ["Meaning", "MEANINGS", "OPTIMIZER_DEFAULTS", "OPTIMIZER_STRINGS", "METRIC_NAMES", "MONITORING",
           "era_name", "is_keras2_era"]


@dataclasses.dataclass(frozen=True)
class Meaning:
    """`subject`'s `what` meant `then` in Keras 1.x-2.3 and means `now` in tf-keras 2.x and Keras 3."""

    subject: str
    what: str
    then: object
    now: object
    source: str


MEANINGS = (
    # Optimizers, by class and by their lowercase string: keras/optimizers.py at 1.2.2 and 2.2.4 (lr=...),
    # 2.3.1 (learning_rate=...); tf.keras' OptimizerV2 (TF 2.0) took 0.001 for all but SGD.
    Meaning("Adadelta", "learning_rate", 1.0, 0.001, "keras 1.2.2-2.3.1 optimizers.Adadelta(lr=1.0)"),
    Meaning("Adagrad", "learning_rate", 0.01, 0.001, "keras 1.2.2-2.3.1 optimizers.Adagrad(lr=0.01)"),
    Meaning("Adagrad", "initial_accumulator_value", 0.0, 0.1,
            "keras 2.2.4 optimizers.Adagrad.get_updates: accumulators = [K.zeros(shape)]"),
    Meaning("Adamax", "learning_rate", 0.002, 0.001, "keras 1.2.2-2.3.1 optimizers.Adamax(lr=0.002)"),
    Meaning("Nadam", "learning_rate", 0.002, 0.001, "keras 1.2.2-2.3.1 optimizers.Nadam(lr=0.002)"),
    # Metric names: keras/engine/training.py 2.2.4 handle_metrics names 'accuracy' and 'acc' both 'acc'
    # (suffix = 'acc'); Keras 2.3.0 and tf.keras 2.x log metrics=['accuracy'] as 'accuracy'.
    Meaning("metrics", "acc", "acc", "accuracy", "keras 2.2.4 engine/training.py handle_metrics"),
    Meaning("metrics", "val_acc", "val_acc", "val_accuracy", "keras 2.2.4 engine/training.py handle_metrics"),
    # A loss function's y_true: Keras 2.2 fed targets through placeholders of the output's dtype; tf-keras
    # passes a custom function the targets as given (int64 labels against float32 outputs fail in `*`).
    Meaning("loss functions", "y_true dtype", "the output's", "as given",
            "keras 2.2.4 engine/training.py: K.placeholder(..., dtype=K.dtype(self.outputs[i]))"),
)

# {optimizer class: {argument: Keras 1.x-2.3 default}} where tf-keras' and Keras 3's default differs.
OPTIMIZER_DEFAULTS: Dict[str, Mapping[str, float]] = {}
for _m in MEANINGS:
    if _m.subject[0].isupper():
        OPTIMIZER_DEFAULTS.setdefault(_m.subject, {})[_m.what] = _m.then
# compile(optimizer='adadelta') named the class with its defaults.
OPTIMIZER_STRINGS = {name.lower(): name for name in OPTIMIZER_DEFAULTS}
# {log name Keras <= 2.2 wrote for metrics=['accuracy']: the name tf-keras and Keras 3 write}.
METRIC_NAMES = {m.what: m.now for m in MEANINGS if m.subject == "metrics"}
# Callbacks whose `monitor` names a logged metric.
MONITORING = ("ModelCheckpoint", "EarlyStopping", "ReduceLROnPlateau")


def era_name(key):
    """The name tf-keras logs for Keras 2.2's `key` (or the reverse), or None if the name did not change."""
    if key in METRIC_NAMES:
        return METRIC_NAMES[key]
    return next((old for old, new in METRIC_NAMES.items() if new == key), None)


def is_keras2_era(program):
    """Whether a program analysis says the code was written for standalone Keras 1.x-2.3.

    Standalone `keras` without `tf.keras` (Keras 2.4+, from 2020, was tf.keras
    under another name), or any Keras 1 argument. tf.keras code had tf.keras'
    own defaults (TF 2.0's optimizers) and keeps them.
    """
    return bool(program.keras1) or (bool(program.keras) and not program.tf_keras)
