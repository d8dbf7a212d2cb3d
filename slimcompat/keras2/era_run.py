"""`slimcompat run`: the Keras 1.x-2.3 meanings of slimcompat.keras2.era_meanings, kept at run time.

tf-keras takes a Keras-era program's words and gives some another meaning
without a word. Inside `run` they keep the author's, each with one stderr line
naming the call site (once per site):

- an optimizer built without a learning rate (`Adadelta()`, `optimizer='adadelta'`)
  gets Keras 1.x-2.3's default, in a program written for standalone Keras of
  that era (slimcompat.keras2.era_meanings.is_keras2_era); tf.keras code keeps
  tf.keras' defaults, which were its own;
- `History.history` answers Keras 2.2's names (`'acc'`, `'val_acc'`) with the
  values tf-keras logs as `'accuracy'`, `'val_accuracy'` (and the reverse);
- ModelCheckpoint, EarlyStopping and ReduceLROnPlateau watching `'val_acc'`
  watch the `'val_accuracy'` tf-keras logs, instead of "skipping" every epoch.
"""

import functools
import os
import sys

from slimcompat.keras2.era_meanings import MONITORING, OPTIMIZER_DEFAULTS, era_name

__all__ = ["install", "EraHistory", "user_site"]

_SAID = set()


def install(keras2_era):
    """Keep the era's meanings from tf-keras' import on; optimizer defaults only if `keras2_era`."""
    from slimcompat.runtime.activation import after_import
    after_import("tf_keras", functools.partial(_patch, keras2_era))


@functools.lru_cache(maxsize=None)
def _library_folders():
    import tensorflow
    import tf_keras
    folders = [os.path.dirname(os.path.dirname(os.path.abspath(__file__))), os.path.dirname(os.__file__)]
    for module in (tensorflow, tf_keras):
        folders.append(os.path.dirname(os.path.abspath(module.__file__)))
    return tuple(f + os.sep for f in folders)


def user_site(depth=1):
    """`file:line` of the innermost frame outside slimcompat, TensorFlow, tf-keras and the standard library."""
    frame, libraries = sys._getframe(depth), _library_folders()
    while frame is not None:
        name = frame.f_code.co_filename
        if not name.startswith("<") and not os.path.abspath(name).startswith(libraries):
            return f"{name}:{frame.f_lineno}"
        frame = frame.f_back
    return "<unknown>"


def _say(site, message):
    if (site, message) not in _SAID:
        _SAID.add((site, message))
        print(f"slimcompat run: {site}: {message}", file=sys.stderr)


class EraHistory(dict):
    """History.history that answers Keras 2.2's metric names with tf-keras' values, and the reverse."""

    def __missing__(self, key):
        other = era_name(key)
        if other is None or not dict.__contains__(self, other):
            raise KeyError(key)
        _say(user_site(2), f"history[{key!r}]: tf-keras logs it as {other!r}; answered with those values")
        return self[other]

    def get(self, key, default=None):
        return self[key] if key in self or era_name(key) in self else default


def _patch(keras2_era, tf_keras):
    from tf_keras.src import callbacks
    _patch_history(callbacks.History)
    for name in MONITORING:
        _patch_monitor(getattr(callbacks, name))
    if keras2_era:
        for name, defaults in OPTIMIZER_DEFAULTS.items():
            for cls in (getattr(tf_keras.optimizers, name), getattr(tf_keras.optimizers.legacy, name)):
                _patch_optimizer(cls, name, defaults)
        from tf_keras.src.engine import training
        _patch_compile(training.Model, tf_keras)


def _patch_compile(cls, tf_keras):
    """The program's own loss functions get y_true in the output's dtype, as Keras 2.2's placeholders gave it."""
    if getattr(cls.compile, "_slimcompat_era", False):
        return
    original = cls.compile

    def own(function):
        return (callable(function) and not isinstance(function, tf_keras.losses.Loss)
                and getattr(function, "__module__", "").split(".")[0] not in ("tf_keras", "keras", "tensorflow"))

    def wrap(function, site):
        import tensorflow as tf

        @functools.wraps(function)
        def loss(y_true, y_pred):
            if tf.is_tensor(y_true) and tf.is_tensor(y_pred) and y_true.dtype != y_pred.dtype:
                _say(site, f"loss {function.__name__}: y_true {y_true.dtype.name} cast to the output's "
                           f"{y_pred.dtype.name}, as Keras 2.2 fed targets")
                y_true = tf.cast(y_true, y_pred.dtype)
            return function(y_true, y_pred)
        return loss

    @functools.wraps(original)
    def compile(self, *args, **kwargs):
        site = user_site(2)
        if "loss" in kwargs:
            value = kwargs["loss"]
            kwargs["loss"] = ({k: wrap(v, site) if own(v) else v for k, v in value.items()} if isinstance(value, dict)
                              else [wrap(v, site) if own(v) else v for v in value] if isinstance(value, list)
                              else wrap(value, site) if own(value) else value)
        elif len(args) > 1 and own(args[1]):
            args = (args[0], wrap(args[1], site), *args[2:])
        return original(self, *args, **kwargs)

    compile._slimcompat_era = True
    cls.compile = compile


def _patch_history(cls):
    if getattr(cls.__init__, "_slimcompat_era", False):
        return
    original = cls.__init__

    @functools.wraps(original)
    def __init__(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.history = EraHistory(self.history)

    __init__._slimcompat_era = True
    cls.__init__ = __init__


def _patch_monitor(cls):
    if getattr(cls.__init__, "_slimcompat_era", False):
        return
    original_init = cls.__init__

    @functools.wraps(original_init)
    def __init__(self, *args, **kwargs):
        self._slimcompat_site = user_site(2)
        original_init(self, *args, **kwargs)

    __init__._slimcompat_era = True
    cls.__init__ = __init__
    for method in ("on_epoch_end", "on_train_batch_end"):
        if method in cls.__dict__:
            setattr(cls, method, _with_era_logs(cls.__dict__[method], cls.__name__))


def _with_era_logs(method, callback):
    @functools.wraps(method)
    def wrapper(self, step, logs=None):
        monitor = getattr(self, "monitor", None)
        other = era_name(monitor) if isinstance(monitor, str) else None
        if logs and other and monitor not in logs and other in logs:
            logs = {**logs, monitor: logs[other]}
            _say(getattr(self, "_slimcompat_site", "<unknown>"),
                 f"{callback}(monitor={monitor!r}): tf-keras logs it as {other!r}; watching that")
        return method(self, step, logs)
    return wrapper


def _patch_optimizer(cls, name, defaults):
    if getattr(cls.__init__, "_slimcompat_era", False):
        return
    original = cls.__init__
    positions = ["learning_rate", "initial_accumulator_value"] if name == "Adagrad" else ["learning_rate"]

    @functools.wraps(original)
    def __init__(self, *args, **kwargs):
        if type(self) is cls:
            given = set(positions[:len(args)]) | set(kwargs) | ({"learning_rate"} if "lr" in kwargs else set())
            missing = {k: v for k, v in defaults.items() if k not in given}
            if missing:
                kwargs.update(missing)
                shown = ", ".join(f"{k}={v}" for k, v in missing.items())
                _say(user_site(2), f"{name} without {', '.join(missing)}: {shown}, Keras 1.x-2.3's default, as "
                                   f"the program was written for (tf-keras' differs)")
        original(self, *args, **kwargs)

    __init__._slimcompat_era = True
    cls.__init__ = __init__
