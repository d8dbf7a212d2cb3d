"""PyTorch as a parity side: the faithful module, its numerics settings, and the check against a reference.

`TorchNet` (registry key `torch`) is `slimcompat.nets.torch_net`'s module for
the weights' description, on any device PyTorch sees (`CPU`/`cpu`, `GPU:0`/
`cuda:0`, `mps`), in float32 or bfloat16 (the whole module and its input
cast). Its endpoints come back NHWC, as TensorFlow's, so every comparison,
diagnosis (it is rebuilt with any knob) and report is the ordinary one.

`check_reference` is the parity run against a saved TensorFlow reference
(`slimcompat.parity.reference`): nothing on its path imports TensorFlow, so it
runs where only PyTorch sees the GPU. TF32 is off unless asked, as on the
TensorFlow side; the tolerance row follows the device kind, dtype and TF32
(`environment.TOLERANCES`).
"""

import importlib.metadata
import os
import platform

import numpy as np

from slimcompat.arch import scheme
from slimcompat.arch.layout import TORCH_NAMING, shape_from_torch
from slimcompat.errors import SlimcompatError
from slimcompat.nets import torch_net
from slimcompat.parity import check, environment
from slimcompat.parity.conventions import Conventions
from slimcompat.parity.diagnosis import CAUSES
from slimcompat.parity.endpoints import endpoint_of
from slimcompat.parity.implementation import Implementation, Variable, to_numpy_2d
from slimcompat.parity.name_parity import name_parity

__all__ = ["TorchNet", "DTYPES", "torch_device", "configure", "tolerance", "record", "check_reference"]

torch = torch_net.torch
DTYPES = ("float32", "bfloat16")
_PACKAGES = ("torch", "safetensors", "numpy", "h5py")


def torch_device(device):
    """The torch.device a device string means (TensorFlow's `CPU`, `GPU:1` or PyTorch's own), if PyTorch sees it."""
    text = str(device).strip()
    kind, _, index = text.partition(":")
    kind = {"CPU": "cpu", "GPU": "cuda"}.get(kind.upper(), kind.lower())
    try:
        found = torch.device(f"{kind}:{index}" if index else kind)
    except (RuntimeError, ValueError):
        raise SlimcompatError(f"device {text!r} is not a device PyTorch knows (cpu, cuda, cuda:1, mps, ...)") from None
    if found.type == "cpu":
        return found
    module = getattr(torch, found.type, None)
    available = module is not None and hasattr(module, "is_available") and module.is_available()
    count = module.device_count() if available and hasattr(module, "device_count") else int(available)
    if not available or (found.index or 0) >= count:
        raise SlimcompatError(f"device {text!r} is not visible to PyTorch {torch.__version__} (visible: "
                              f"{', '.join(_visible())})")
    return found


def _visible():
    cuda = [f"cuda:{i} ({torch.cuda.get_device_name(i)})" for i in range(torch.cuda.device_count())] \
        if torch.cuda.is_available() else []
    return ["cpu"] + cuda


def configure(tf32=False):
    """TF32 for float32 convs and matmuls on NVIDIA GPUs: off unless asked (PyTorch leaves it on for convs)."""
    backends = torch.backends
    if hasattr(getattr(backends.cudnn, "conv", None), "fp32_precision"):
        value = "tf32" if tf32 else "ieee"
        backends.cuda.matmul.fp32_precision = value
        backends.cudnn.conv.fp32_precision = value
    else:  # PyTorch before the fp32_precision settings
        backends.cuda.matmul.allow_tf32 = backends.cudnn.allow_tf32 = bool(tf32)


def _tf32():
    backends = torch.backends
    if hasattr(getattr(backends.cudnn, "conv", None), "fp32_precision"):
        return backends.cudnn.conv.fp32_precision == "tf32" or backends.cuda.matmul.fp32_precision == "tf32"
    return bool(backends.cudnn.allow_tf32 or backends.cuda.matmul.allow_tf32)


def tolerance(device, dtype="float32", tf32=False):
    """(label, relative tolerance) of environment.TOLERANCES for a PyTorch device, dtype and TF32 setting."""
    kind = "CPU" if torch_device(device).type == "cpu" else "GPU"
    label = f"{kind} {dtype}" + (f", TF32 {'on' if tf32 else 'off'}" if kind == "GPU" and dtype == "float32" else "")
    return label, environment.TOLERANCES[label]


def _version(name):
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _description(device):
    if device.type == "cuda":
        major, minor = torch.cuda.get_device_capability(device)
        return f"{torch.cuda.get_device_name(device)} (compute capability {major}.{minor})"
    if device.type == "cpu":
        return f"{environment.cpu_model()} ({os.cpu_count()} cores, {torch.get_num_threads()} threads)"
    return device.type


def record(device, dtype="float32", reference=None):
    """JSON-ready facts of a PyTorch run (TensorFlow-free): versions, device, dtype, TF32, the reference's own."""
    found = torch_device(device)
    return {
        "framework": "torch",
        "packages": {name: v for name in _PACKAGES if (v := _version(name))},
        "torch_runtime": torch.__version__,
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        "python": platform.python_version(),
        "device": str(found),
        "device_description": _description(found),
        "gpus_visible": _visible()[1:],
        "dtype": dtype,
        "tf32": _tf32(),
        "deterministic": torch.are_deterministic_algorithms_enabled(),
        "reference": reference,
    }


class TorchNet(Implementation):
    key = "torch"
    title = "PyTorch module faithful to the weights' description"

    def __init__(self, weights, input_shape, device="CPU", conventions=None, dtype="float32"):
        if dtype not in DTYPES:
            raise SlimcompatError(f"dtype must be one of {', '.join(DTYPES)}, found {dtype!r}")
        super().__init__(conventions or Conventions.of(weights.meta), device)
        self.input_shape, self.dtype = input_shape, dtype
        self.torch_device = torch_device(device)
        self.net = torch_net.build(self.arch).to(self.torch_device)
        if dtype != "float32":
            self.title = f"{self.title}, {dtype}"

    def variables(self):
        bound, expected = scheme(TORCH_NAMING, self.arch), self.arch.tensors()
        out = []
        for key, value in self.net.state_dict().items():
            if key.endswith(".num_batches_tracked"):
                continue
            try:
                canonical = bound.canonical_tensor(key)
            except SlimcompatError:
                canonical = None
            shape = tuple(value.shape)
            out.append(Variable(key, canonical,
                                shape_from_torch(canonical, shape, expected.get(canonical)) if canonical else shape))
        return out

    def _assign(self, by_canonical, tensors):
        torch_net.load_tensors(self.net, tensors)
        self.net.to(getattr(torch, self.dtype))

    def _run(self, model_input, points):
        x = torch.from_numpy(np.ascontiguousarray(np.transpose(model_input, (0, 3, 1, 2))))
        with torch.no_grad():
            x = x.to(self.torch_device, getattr(torch, self.dtype))
            return self.net.endpoints(x) if points else self.net(x)

    def endpoints(self, model_input):
        _, points = self._run(model_input, True)
        return to_numpy_2d({name: _nhwc(value) for name, value in points.items()})

    def forward(self, model_input):
        return _nhwc(self._run(model_input, False))

    def variant(self, **changes):
        rebuilt = TorchNet(self.source, self.input_shape, self.device, self.conventions.replace(**changes), self.dtype)
        rebuilt.source = self.source
        rebuilt.title = f"{self.key} rebuilt with " + ", ".join(f"{k}={v}" for k, v in changes.items())
        return rebuilt.load(self.weights)


def _nhwc(value):
    value = value.detach().to("cpu", torch.float32)
    return (value.permute(0, 2, 3, 1) if value.ndim == 4 else value).numpy()


def check_reference(reference, weights=None, device="CPU", dtype="float32", tf32=False, run_diagnosis=True):
    """The parity report of the faithful PyTorch module against a saved reference (TensorFlow is not imported).

    weights: canonical Weights (default: the reference's own, regenerated from its
    recorded random seed, when it has one). Weights other than the reference's
    fail the run, naming the tensors that differ.
    """
    if weights is None:
        weights = _recorded_weights(reference)
    configure(tf32)
    side = TorchNet(weights, reference.batch.values.shape[1:], device, dtype=dtype)
    side.source = weights
    names = name_parity(reference.variables(), side.variables())
    report = check.compare(reference, side, names, reference.batch, device, tf32, run_diagnosis,
                           tolerance=tolerance(device, dtype, tf32),
                           env=record(device, dtype, reference.record["environment"]))
    differ = reference.weights_differ(weights.tensors)
    if differ:
        order = reference.arch.endpoint_names()
        tensors = [{"tensor": n, "endpoint": endpoint_of(n)} for n in differ]
        first = min((t["endpoint"] for t in tensors), key=lambda e: order.index(e) if e in order else len(order))
        shown = ", ".join(differ[:4]) + (f", ... {len(differ) - 4} more" if len(differ) > 4 else "")
        report["diagnosis"].insert(0, {"cause": "weights", "label": CAUSES["weights"], "status": "found",
                                       "evidence": f"{len(differ)} tensors differ from those the reference was "
                                                   f"computed with: {shown}; the first endpoint containing one is "
                                                   f"{first}", "tensors": tensors, "first_endpoint": first})
        report.update(ok=False, verdict="fail")
    return report


def _recorded_weights(reference):
    """The reference's weights, when it records that they are `synthetic.random_tensors` of a seed."""
    from slimcompat.weights.synthetic import random_weights
    if reference.random_seed is None:
        raise SlimcompatError(f"{reference.path}: give the weights it was computed with (--weights); it records "
                              f"no random seed to regenerate them")
    return random_weights(reference.arch, seed=reference.random_seed, input=reference.conventions.input)
