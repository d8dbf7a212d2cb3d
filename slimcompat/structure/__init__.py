"""A user's own model, whatever its names: recognised by structure, weights in and out, differences explained.

- `recognize(model)`: trace one forward pass (slimcompat.structure.graph), read
  it as ops and merges (sequence), derive the description with every knob and
  check it op for op (recognize): a `Recognition` with the description, the
  model variables behind each canonical tensor and the model tensor behind each
  canonical endpoint.
- `model_weights`: canonical Weights out of a model and into it, all or nothing,
  refusing weights of a network that computes otherwise (unless allowed).
- `diff`: every structural difference between two descriptions, with its cost
  in parameters and multiply-adds (cost) and its effect on outputs.
- `model_code`: a model from `path.py:NAME(ARGS)` without running the program,
  only what building the model needs (code_slice).
"""

from slimcompat.structure.graph import RecognitionError
from slimcompat.structure.recognize import Recognition, recognize

__all__ = ["recognize", "Recognition", "RecognitionError"]
