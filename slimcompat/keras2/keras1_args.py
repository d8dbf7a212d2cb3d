"""Keras 1 arguments in Keras-era code: what Keras 2.0-2.3 still took and tf-keras refuses.

Keras 2.0 renamed most layer and training arguments (`output_dim` -> `units`,
`border_mode` -> `padding`, `nb_epoch` -> `epochs`, `Model(input=, output=)`)
and, up to 2.3, still took the Keras 1 spellings with a warning ("Update your
`Dense` call to the Keras 2 API"). Programs of 2017-2019 use them. tf-keras
refuses them (`Keyword argument not understood`), refuses the optimizers'
`decay`, drops their `lr` (Keras 2.0-2.2's learning rate) with a warning, and reads Keras 1's positional `Convolution2D(64, 3, 3)` as kernel 3
with strides 3 where Keras 2.0-2.3 read a 3x3 kernel with strides 1: silently
another network.

The renames are data, declared once and read in two directions of use:
`slimcompat run` converts each call at run time as Keras 2.3 converted it,
with its warning (`install`), and `slimcompat migrate` rewrites the call site
for Keras 3 (`keyword_renames`). `decay` gets the optimizer that has it
(tf-keras' legacy optimizers: Keras 2.x's own update rule, lr / (1 + decay * t)).

The positional kernel reading is the one ambiguous case: `Conv2D(64, 3, 2)`
means strides 2 to tf.keras and Keras 2.4+, a 3x2 kernel to Keras 2.0-2.3. The
program analysis (slimcompat.legacy.program) decides per call site: Keras 1's
reading where the call is spelled `Convolution2D`, or the program uses other
Keras 1 arguments; otherwise tf.keras' reading, with a warning naming the site.
"""

import functools
import inspect
import os
import sys
import warnings
from typing import Dict, FrozenSet, Mapping, Tuple

from slimcompat.keras2 import keras1_merge, word_dropout

__all__ = ["LAYERS", "MODEL", "METHODS", "DATASETS", "VALUES", "DATA_FORMAT", "DIM_ORDERING", "POSITIONAL_KERNEL",
           "LAYER_ALIASES", "KERAS1_SPELLINGS",
           "OPTIMIZERS", "keyword_renames", "keras1_keywords", "ambiguity", "convert", "install"]

DATA_FORMAT = {"tf": "channels_last", "th": "channels_first", "default": None}
# Values that changed with the argument's name, keyed by the Keras 1 name.
VALUES = {"dim_ordering": DATA_FORMAT, "consume_less": {"cpu": 0, "mem": 1, "gpu": 2}}

_WEIGHTS = {"init": "kernel_initializer", "W_regularizer": "kernel_regularizer", "b_regularizer": "bias_regularizer",
            "W_constraint": "kernel_constraint", "b_constraint": "bias_constraint", "bias": "use_bias"}
_DIM = {"dim_ordering": "data_format"}
_POOL = {"border_mode": "padding", **_DIM}
_CONV = {"nb_filter": "filters", "subsample": "strides", **_POOL, **_WEIGHTS}
_RNN = {"output_dim": "units", "init": "kernel_initializer", "inner_init": "recurrent_initializer",
        "inner_activation": "recurrent_activation", "W_regularizer": "kernel_regularizer",
        "U_regularizer": "recurrent_regularizer", "b_regularizer": "bias_regularizer", "dropout_W": "dropout",
        "dropout_U": "recurrent_dropout", "consume_less": "implementation"}

# {layer class: {Keras 1 argument: Keras 2 argument}}
LAYERS: Dict[str, Mapping[str, str]] = {
    "Dense": {"output_dim": "units", **_WEIGHTS},
    "Dropout": {"p": "rate"}, "GaussianDropout": {"p": "rate"}, "GaussianNoise": {"sigma": "stddev"},
    "SpatialDropout1D": {"p": "rate"}, "SpatialDropout2D": {"p": "rate", **_DIM},
    "SpatialDropout3D": {"p": "rate", **_DIM},
    "Embedding": {"init": "embeddings_initializer", "W_regularizer": "embeddings_regularizer",
                  "W_constraint": "embeddings_constraint"},
    "PReLU": {"init": "alpha_initializer"},
    "BatchNormalization": {"beta_init": "beta_initializer", "gamma_init": "gamma_initializer"},
    "Conv1D": {"nb_filter": "filters", "filter_length": "kernel_size", "subsample_length": "strides",
               "border_mode": "padding", **_WEIGHTS},
    "Conv2D": _CONV, "Conv3D": _CONV, "Conv2DTranspose": _CONV,
    "SeparableConv2D": {k: v for k, v in _CONV.items() if not k.startswith(("init", "W_"))},  # its kernels are two
    "MaxPooling1D": {"pool_length": "pool_size", "stride": "strides", "border_mode": "padding"},
    "AveragePooling1D": {"pool_length": "pool_size", "stride": "strides", "border_mode": "padding"},
    **{f"{kind}Pooling{d}D": _POOL for kind in ("Max", "Average") for d in (2, 3)},
    **{f"Global{kind}Pooling{d}D": _DIM for kind in ("Max", "Average") for d in (2, 3)},
    "UpSampling1D": {"length": "size"},
    **{f"{kind}{d}D": _DIM for kind in ("UpSampling", "ZeroPadding", "Cropping") for d in (2, 3)},
    "LSTM": _RNN, "GRU": _RNN,
    "SimpleRNN": {k: v for k, v in _RNN.items() if k != "inner_activation"},  # it has one activation
}
# Keras 1 names of layers that tf-keras no longer has under that name.
LAYER_ALIASES = {"Deconvolution2D": "Conv2DTranspose", "Deconv2D": "Conv2DTranspose"}
# Spellings of the convolutions whose Keras 1 signature was (filters, rows, cols[, depth]).
POSITIONAL_KERNEL = {"Conv2D": 2, "Convolution2D": 2, "SeparableConv2D": 2, "SeparableConvolution2D": 2,
                     "Conv3D": 3, "Convolution3D": 3}
KERAS1_SPELLINGS = frozenset({"Convolution1D", "Convolution2D", "Convolution3D", "SeparableConvolution2D",
                              *LAYER_ALIASES})
MODEL = {"input": "inputs", "output": "outputs"}
_WORKERS = {"nb_worker": "workers", "pickle_safe": "use_multiprocessing", "max_q_size": "max_queue_size"}
METHODS = {
    "fit": {"nb_epoch": "epochs"},
    "fit_generator": {"nb_epoch": "epochs", "nb_val_samples": "validation_steps", **_WORKERS},
    "evaluate_generator": {"val_samples": "steps", **_WORKERS},
    "predict_generator": {"val_samples": "steps", **_WORKERS},
}
# Keras 1's `keras.datasets.*.load_data(nb_words=)`: tf-keras still reads it, Keras 3 ignores it.
DATASETS = {"load_data": {"nb_words": "num_words"}}
# Keras 2.x optimizers and the argument only tf-keras' legacy optimizers still take
# (Nadam's `schedule_decay` is its momentum schedule, not a learning-rate decay).
OPTIMIZERS = {"SGD": "decay", "RMSprop": "decay", "Adagrad": "decay", "Adadelta": "decay", "Adam": "decay",
              "Adamax": "decay", "Nadam": "schedule_decay"}
# Keras 2.x backend functions of the Theano days, as what they became (run: served; migrate: rewritten).
DIM_ORDERING = {"channels_last": "tf", "channels_first": "th"}
_BACKEND = {"image_dim_ordering": lambda backend: lambda: DIM_ORDERING[backend.image_data_format()],
            "set_image_dim_ordering": lambda backend: lambda ordering: backend.set_image_data_format(
                DATA_FORMAT[ordering] or "channels_last")}


# Arguments kept on the layer object as attributes after its __init__ (what tf-keras has no argument for).
_KEPT = (word_dropout.ATTRIBUTE,)
# Keras 1 arguments Keras 2.3 converted by rule (`_special`), not by rename.
_BY_RULE = {"BatchNormalization": {"mode"}, "LSTM": {"forget_bias_init"}, "GRU": {"forget_bias_init"},
            "SimpleRNN": {"forget_bias_init"}, "Embedding": {"dropout"}, "fit_generator": {"samples_per_epoch"}}


def keras1_keywords(callee):
    """The Keras 1 keywords of a call of `callee`: renamed ones and those converted by rule."""
    return set(keyword_renames(callee)) | _BY_RULE.get(_canonical(callee), set())


def ambiguity(callee, numbers):
    """One line on `callee(filters, a, b)` read as tf.keras reads it where Keras 2.0-2.3 read a kernel."""
    dims = POSITIONAL_KERNEL[callee]
    strides = numbers[2] if dims == 2 else tuple(numbers[2:])
    kernel = ", ".join(map(str, numbers[1:]))
    return (f"{callee}({', '.join(map(str, numbers))}) is read as Keras 2.4+ and tf.keras read it (kernel_size="
            f"{numbers[1]}, strides={strides}); Keras 2.0-2.3 read a {'x'.join(map(str, numbers[1:]))} kernel: "
            f"write {callee}({numbers[0]}, ({kernel})) if that was meant")


def _canonical(callee):
    callee = LAYER_ALIASES.get(callee, callee)
    for old, new in (("SeparableConvolution", "SeparableConv"), ("Convolution", "Conv")):
        if callee.startswith(old):
            return new + callee[len(old):]
    return callee


def keyword_renames(callee):
    """{Keras 1 keyword: Keras 2 keyword} for a call of `callee` (a class or method name), or {}."""
    callee = _canonical(callee)
    if callee in ("Model", "Functional"):
        return MODEL
    return LAYERS.get(callee) or METHODS.get(callee) or DATASETS.get(callee) or {}


def convert(callee, args, kwargs, keras1_kernel=False):
    """(args, kwargs, [(Keras 1 spelling, Keras 2 spelling)]) of one call, as Keras 2.3 converted it.

    args excludes `self`. keras1_kernel: read (filters, rows, cols) as Keras 1 did.
    """
    changes = []
    dims = POSITIONAL_KERNEL.get(callee)
    if keras1_kernel and dims and len(args) == dims + 1 and all(isinstance(a, int) for a in args[1:]) \
            and not {"padding", "strides", "data_format", "kernel_size"} & set(kwargs):
        kernel = tuple(args[1:])
        args = (args[0], kernel)
        changes.append((f"{callee}(..., {', '.join(map(str, kernel))})", f"kernel_size={kernel}"))
    renames = keyword_renames(callee)
    kwargs = dict(kwargs)
    for old, new in renames.items():
        if old not in kwargs or new in kwargs:
            continue
        value = kwargs.pop(old)
        table = VALUES.get(old, {})
        kwargs[new] = table.get(value, value) if isinstance(value, str) or value is None else value
        changes.append((_shown(old, value), _shown(new, kwargs[new])))
    changes += _special(callee, args, kwargs)
    return args, kwargs, changes


def _shown(name, value):
    """`name=value` for a literal, `name` alone for an object (a tensor's repr is a paragraph)."""
    literal = value is None or isinstance(value, (str, int, float, bool)) or (
        isinstance(value, tuple) and all(isinstance(v, (int, float)) for v in value))
    return f"{name}={value!r}" if literal else name


def _special(callee, args, kwargs):
    """The conversions Keras 2.3 made by rule rather than by rename."""
    callee, changes = _canonical(callee), []
    if callee == "BatchNormalization" and "mode" in kwargs:
        mode = kwargs.pop("mode")
        if mode != 0:
            raise TypeError(f"BatchNormalization(mode={mode!r}): Keras 2 removed modes 1 and 2; only mode=0 "
                            "(feature-wise, the default) exists")
        changes.append(("mode=0", "(the default, dropped)"))
    if callee in ("LSTM", "GRU", "SimpleRNN") and "forget_bias_init" in kwargs:
        value = kwargs.pop("forget_bias_init")
        kwargs["unit_forget_bias"] = value == "one"
        changes.append((f"forget_bias_init={value!r}", f"unit_forget_bias={value == 'one'}"))
    if callee == "Embedding" and "dropout" in kwargs:
        rate = kwargs.pop("dropout")
        kwargs[word_dropout.ATTRIBUTE] = rate
        changes.append((_shown("dropout", rate), "kept as Keras 1's word dropout (Keras 2 dropped it)"))
    if callee == "fit_generator" and "samples_per_epoch" in kwargs and "steps_per_epoch" not in kwargs:
        samples = kwargs.pop("samples_per_epoch")
        kwargs["steps_per_epoch"] = _steps(samples, args, kwargs)
        changes.append((f"samples_per_epoch={samples!r}", f"steps_per_epoch={kwargs['steps_per_epoch']!r}"))
    return changes


def _warn(callee, changes, stacklevel):
    shown = ", ".join(f"{old} -> {new}" for old, new in changes)
    warnings.warn(f"Update your `{callee}` call to the Keras 2 API: {shown}", UserWarning, stacklevel=stacklevel + 1)


def _site(depth):
    frame = sys._getframe(depth + 1)
    return os.path.abspath(frame.f_code.co_filename), frame.f_lineno


def _wrap(function, callee, kernel_sites):
    """`function` (an __init__, __new__ or method) taking Keras 1 arguments at the user's call sites."""
    if getattr(function, "_slimcompat_keras1", False):
        return function
    is_new = function.__name__ == "__new__"

    @functools.wraps(function)
    def wrapper(first, *args, **kwargs):
        keras1_kernel = bool(kernel_sites) and _site(1) in kernel_sites
        new_args, new_kwargs, changes = convert(callee, args, kwargs, keras1_kernel)
        if changes and not is_new:
            _warn(callee, changes, 2)
        kept = {name: new_kwargs.pop(name) for name in _KEPT if name in new_kwargs}
        result = function(first, *new_args, **new_kwargs)
        for name, value in kept.items():
            setattr(first, name, value)
        return result

    wrapper._slimcompat_keras1 = True
    return wrapper


def _word_dropout_call(original):
    """Embedding.call with Keras 1's word dropout where the layer was given `dropout`."""
    if getattr(original, "_slimcompat_keras1", False):
        return original

    def call(self, inputs, training=None):
        rate = getattr(self, word_dropout.ATTRIBUTE, 0)
        if not rate:
            return original(self, inputs)
        if training is None:
            from tf_keras import backend
            training = backend.learning_phase()
        return word_dropout.lookup(self.embeddings, inputs, rate, training)

    call._slimcompat_keras1 = True
    call.__doc__ = original.__doc__
    return call


def _steps(samples, args, kwargs):
    """Keras 2.3's reading of `samples_per_epoch`: batches of the generator's batch_size, if it says one."""
    generator = args[0] if args else kwargs.get("generator")
    batch = getattr(generator, "batch_size", None)
    return samples // batch if isinstance(batch, int) and batch > 0 else samples


def install(kernel_sites: FrozenSet[Tuple[str, int]] = frozenset()):
    """Let tf-keras take Keras 1 arguments as Keras 2.3 did, from its import on.

    kernel_sites: (file, line) of the calls whose positional (filters, rows,
    cols) is Keras 1's kernel, as the program analysis found them.
    """
    from slimcompat.runtime.activation import after_import
    after_import("tf_keras", functools.partial(_patch, frozenset(kernel_sites)))


def _patch(kernel_sites, tf_keras):
    from tf_keras.src.engine import functional, training
    layers = tf_keras.layers
    for name in [*LAYERS, *(n for n in POSITIONAL_KERNEL if n not in LAYERS)]:
        cls = getattr(layers, name, None)
        if inspect.isclass(cls) and "__init__" in cls.__dict__:
            cls.__init__ = _wrap(cls.__init__, name, kernel_sites)
    layers.Embedding.call = _word_dropout_call(layers.Embedding.call)
    for alias, name in LAYER_ALIASES.items():
        if not hasattr(layers, alias):
            setattr(layers, alias, getattr(layers, name))
    if not hasattr(layers, "Merge"):
        layers.Merge = keras1_merge.Merge
    for cls in (training.Model, functional.Functional):
        cls.__init__ = _wrap(cls.__init__, "Model", kernel_sites)
    training.Model.__new__ = staticmethod(_wrap(training.Model.__new__, "Model", kernel_sites))
    for method in METHODS:
        setattr(training.Model, method, _wrap(getattr(training.Model, method), method, kernel_sites))
    _patch_optimizers(tf_keras.optimizers)
    for name, method in (("predict_classes", _predict_classes), ("predict_proba", _predict_proba)):
        if not hasattr(tf_keras.Sequential, name):
            setattr(tf_keras.Sequential, name, method)
    for name, make in _BACKEND.items():
        if not hasattr(tf_keras.backend, name):
            setattr(tf_keras.backend, name, make(tf_keras.backend))


def _predict_classes(self, x, batch_size=32, verbose=0):
    """Keras 2.x's Sequential.predict_classes (gone from tf.keras 2.6): argmax, or a 0.5 threshold for one unit."""
    probabilities = self.predict(x, batch_size=batch_size, verbose=verbose)
    if probabilities.shape[-1] > 1:
        return probabilities.argmax(axis=-1)
    return (probabilities > 0.5).astype("int32")


def _predict_proba(self, x, batch_size=32, verbose=0):
    """Keras 2.x's Sequential.predict_proba: predict, which it was."""
    return self.predict(x, batch_size=batch_size, verbose=verbose)


def _learning_rate_from_lr(init, name):
    """An optimizer's __init__ reading Keras 2.0-2.2's `lr=` as Keras 2.3 did: the learning rate, over any other.

    tf-keras' optimizers take `lr`, warn, and drop it: the program's
    `RMSprop(lr=1e-6)` would train at the default 0.001.
    """
    if getattr(init, "_slimcompat_keras1", False):
        return init

    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        if "lr" in kwargs:
            rate = kwargs.pop("lr")
            if args:
                args = (rate,) + args[1:]
            else:
                kwargs["learning_rate"] = rate
            _warn(name, [(_shown("lr", rate), _shown("learning_rate", rate))], 2)
        init(self, *args, **kwargs)

    __init__._slimcompat_keras1 = True
    return __init__


def _patch_optimizers(optimizers):
    """`decay` gets the legacy optimizer, which has it; `lr` is the learning rate; lowercase names are served."""
    for name, legacy_only in OPTIMIZERS.items():
        cls, legacy = getattr(optimizers, name), getattr(optimizers.legacy, name)
        if getattr(cls.__new__, "_slimcompat_keras1", False):
            continue
        original = cls.__new__

        def __new__(klass, *args, _legacy=legacy, _original=original, _cls=cls, _only=legacy_only, **kwargs):
            if klass is _cls and _only in kwargs:
                return _legacy(*args, **kwargs)
            return _original(klass) if _original is object.__new__ else _original(klass, *args, **kwargs)

        __new__._slimcompat_keras1 = True
        cls.__new__ = staticmethod(__new__)
        cls.__init__ = _learning_rate_from_lr(cls.__init__, name)
        if not hasattr(optimizers, name.lower()):
            setattr(optimizers, name.lower(), cls)
