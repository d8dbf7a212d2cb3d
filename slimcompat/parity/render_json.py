"""The parity report as JSON, for machines. Keys are stable within schema `slimcompat-parity/1`:

- `schema`, `verdict` ("pass" | "fail"), `ok` (bool)
- `a`, `b`: `implementation`, `title`, `architecture`, `weights` (the tensors' original source file name),
  `weights_source_kind`, `weights_file` (the file given to `slimcompat parity`, null for random weights),
  `conventions` {`bn_epsilon`, `stem_pool`, `stride_placement`, `input` {`color`, `mean`, `std`}, `num_classes`}
- `input`: `description`, `shape`, `preprocessing`
- `environment`: `packages` {name: version; `tensorflow`: of the distribution providing it},
  `tensorflow_distribution` [names], `tensorflow_runtime`, `python`, `device`, `device_description`,
  `gpus_visible`, `tf32` (bool: on and a GPU to apply it), `tf32_state` (on | off | not applicable (no GPU)),
  `onednn`, `op_determinism`; a PyTorch side checked against a saved reference (`framework` "torch"):
  `packages`, `torch_runtime`, `cuda`, `cudnn`, `python`, `device`, `device_description`, `gpus_visible`,
  `dtype`, `tf32`, `deterministic`, `reference` (the reference's TensorFlow environment)
- `tolerance`: `device` (row of the tolerance table), `relative`, `metric`
- `names`: `ok`, `variables_a`, `variables_b`, `matched`, `only_a`, `only_b`, `shape_mismatch`, `unmapped_a`,
  `unmapped_b`, `duplicated_a`, `duplicated_b`, `pairs` [{`canonical`, `a`, `b`, `shape`}]
- `endpoints`: in forward order, each {`endpoint`, `comparable`, `within`, `identical`, `shape_a`, `shape_b`, and
  when comparable `max_abs`, `mean_abs`, `p99_abs`, `p99_sampled`, `scale`, `relative`, `cosine`,
  `worst_index`, `worst_values` [a, b]}
- `first_divergence`: endpoint name or null
- `diagnosis`: [{`cause` (stem_pool | bn_epsilon | stride_placement | color | background | preprocessing |
  weights), `label`, `status` (found | no measurable effect | ruled out | contributes | declared, not tested |
  declared, not sufficient), `evidence`, optional `first_divergence`, `units`, `tensors`, `first_endpoint`}]
- `timing`: `compare_seconds`, optional `diagnosis_seconds`
- `load_error`: present when a side could not take the weights
"""

import json
import math

__all__ = ["render"]


def _clean(value):
    """Infinities and NaN as strings: strict JSON has neither."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def render(report):
    return json.dumps(_clean(report), indent=1) + "\n"
