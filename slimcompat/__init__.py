"""slimcompat: run TF1 slim-style code and its weights on TensorFlow 2.

Importing the package activates the runtime repairs that make the released
tf-slim 1.1.0 work on TensorFlow 2.16+ (`slimcompat.runtime.repairs`). They
apply when TensorFlow is imported, so `import slimcompat` itself is cheap.
"""

__version__ = "0.1.0"

from slimcompat.runtime import activate as _activate

_activate()
