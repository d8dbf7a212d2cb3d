"""slimcompat: run TF1 slim-style code and its weights on TensorFlow 2.

Importing the package activates the runtime repairs that make the released
tf-slim 1.1.0 work on TensorFlow 2.16+ (`slimcompat.runtime.repairs`). They
apply when TensorFlow is imported, so `import slimcompat` itself is cheap.

Weight files from Python, every kind through the one registry
(`slimcompat.weights.formats`), imported on first use:
`slimcompat.load(path)` gives canonical Weights, `slimcompat.save(path,
weights)` writes the kind the name implies, `slimcompat.detect(path)` names
a file's kind, `slimcompat.inspect(path)` says what it holds without reading
tensor data where its kind allows, and `slimcompat.formats` registers kinds.
"""

__version__ = "0.1.0"

import importlib

from slimcompat.runtime import activate as _activate

_activate()

_API = {"load": ("slimcompat.weights.convert", "load"), "detect": ("slimcompat.weights.convert", "detect"),
        "inspect": ("slimcompat.cli.inspect_file", "describe"), "formats": ("slimcompat.weights.formats", None)}


def save(path, weights, kind=None, overwrite=False, **options):
    """Write `weights` to `path` as `kind` (default: the kind the name implies: .ckpt slim, .keras keras, ...)."""
    from slimcompat.weights import convert
    return convert.save(path, weights, convert.kind_for_destination(path, kind), overwrite=overwrite, **options)


def __getattr__(name):
    if name not in _API:
        raise AttributeError(f"module 'slimcompat' has no attribute {name!r}")
    module, attribute = _API[name]
    found = importlib.import_module(module)
    return found if attribute is None else getattr(found, attribute)


def __dir__():
    return sorted([*globals(), *_API])
