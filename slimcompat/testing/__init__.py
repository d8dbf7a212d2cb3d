"""What the tests and the tools both build their fixture files with: weight files no current tool writes
(Keras 1), real slim checkpoints, the seed programs' models, torchvision's ResNet rebuilt from its
documentation, and the GPU parity table's references. Not imported by slimcompat itself."""
