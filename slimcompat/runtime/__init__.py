"""Runtime repairs for TensorFlow 2.x, activated on `import slimcompat`."""

from slimcompat.runtime.activation import activate
from slimcompat.runtime.repairs import REPAIRS, apply_all, status

__all__ = ["REPAIRS", "activate", "apply_all", "status"]
