"""PyTorch on the GPU against CPU TensorFlow references: CUDA float32 with TF32 off and on, and bfloat16.

Marked `gpu`: collected only where PyTorch sees a GPU (tests/conftest.py), in
every tier that selects them; `pytest -m gpu` runs them alone. The references are TensorFlow's CPU float32 endpoints of resnet_v2_50
(tf_slim checkpoint), resnet50 (the Keras-1 file) and resnext_50_32x4d (tf_slim
checkpoint) for a 2 x 64 x 64 batch, made by `tools/gpu_parity.py make` here
when TensorFlow is installed (with no GPU visible to it), else read from
$SLIMCOMPAT_GPU_REFERENCES, made on a CPU machine. Run with -s for the figures;
`python tools/gpu_parity.py` prints the same as one table.
"""

import os
import subprocess
import sys

import pytest

from conftest import REPO
from slimcompat.parity import reference, torch_side
from slimcompat.testing import gpu_parity

pytestmark = pytest.mark.gpu
TOOL = REPO / "tools" / "gpu_parity.py"


@pytest.fixture(scope="module")
def references(module_tmp):
    given = os.environ.get("SLIMCOMPAT_GPU_REFERENCES")
    folder = given or module_tmp("references")
    if not given:   # TensorFlow on the CPU: no GPU visible to it
        env = dict(os.environ, CUDA_VISIBLE_DEVICES="", TF_CPP_MIN_LOG_LEVEL="2")
        subprocess.run([sys.executable, str(TOOL), "make", str(folder)], env=env, check=True, capture_output=True)
    return folder


@pytest.fixture(scope="module")
def cuda():
    assert torch_side.torch.cuda.is_available(), "these tests need a GPU PyTorch sees"
    return "cuda:0"


@pytest.mark.parametrize("mode,dtype,tf32", gpu_parity.MODES["gpu"], ids=[m[0] for m in gpu_parity.MODES["gpu"]])
@pytest.mark.parametrize("model", list(gpu_parity.MODELS))
def test_pytorch_on_the_gpu_is_within_tolerance_of_tensorflow_on_the_cpu(references, cuda, model, mode, dtype,
                                                                          tf32):
    saved = reference.Reference(os.path.join(references, f"{model}.npz"))
    report = torch_side.check_reference(saved, None, cuda, dtype, tf32)
    row = gpu_parity._row(model, mode, report)
    print(f"\n{model} on {row['device_description']}, {mode}: worst {row['worst_endpoint']} "
          f"{row['worst_relative']:.2e}, logits {row['logits_relative']:.2e} (tolerance {row['tolerance']:g})")
    assert report["names"]["ok"] and report["environment"]["tf32"] is tf32
    assert report["environment"]["dtype"] == dtype and report["environment"]["device"] == cuda
    assert all(r["comparable"] for r in report["endpoints"])
    assert report["ok"], f"first divergence {report['first_divergence']}: {row['endpoints']}"
