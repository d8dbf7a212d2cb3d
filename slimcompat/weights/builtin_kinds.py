"""The kinds slimcompat reads and writes, one registry entry each (see weights.formats).

`canonical` (this project's HDF5 format), `slim` (TF1 slim checkpoints, V1
or V2), `keras` (Keras-1, Keras-2 and Keras 3 weight files in; Keras-2 style
h5 with modern names, or a `.keras` model of the faithful architecture, out),
`torch` (PyTorch state_dicts in safetensors: torchvision's ResNets, or
slimcompat's faithful PyTorch module; see torch_io), `object` (TF-format
checkpoints of tf.keras 2.x, in, read through their object tree:
weights.object_tree). Each entry hands its work to its module, imported when
used, so detecting or listing kinds imports no framework.
"""

import pathlib

from slimcompat.errors import SlimcompatError, WeightsError
from slimcompat.weights import canonical
from slimcompat.weights.kind import Format, Header, convert_command


class Canonical(Format):
    name = "canonical"
    noun = "canonical file"
    suffixes = (".h5", ".hdf5")

    def detect(self, probe):
        return canonical.is_canonical(probe.path, probe)

    def describe(self, path):
        return "a canonical weight file"

    def read(self, path, arch=None, use_ema=False, progress=None):
        weights = canonical.read(path, progress=progress)
        _check_recorded(path, weights, arch)
        return weights

    def read_header(self, path):
        from slimcompat.arch.mapping import check_mapping
        meta, shapes, _ = canonical.read_header(path)
        check_mapping(meta.description.tensors(), {n: s for n, (s, _) in shapes.items()}, str(path))
        return Header(meta, shapes, f"format {canonical.VERSION}")

    def write(self, path, weights, overwrite=False, progress=None, **options):
        return canonical.write(path, weights, overwrite=overwrite, progress=progress)


def _check_recorded(path, weights, arch):
    """A canonical file records its description: an --arch naming another network is a mistake, said so."""
    if arch is None:
        return
    from slimcompat.arch import describe
    named = describe(arch)
    if named.name != weights.meta.architecture:
        raise WeightsError(path, f"the file records {weights.meta.architecture}, not {named.name}: a canonical "
                                 f"file carries its own description; leave --arch out")


class Slim(Format):
    name = "slim"
    noun = "slim checkpoint"
    files_only = False
    infixes = (".ckpt",)
    folder_example = ".ckpt"

    def detect(self, probe):
        from slimcompat.weights import slim_checkpoint
        return probe.memo("tf-checkpoint", lambda: slim_checkpoint.is_slim_checkpoint(probe.path, probe))

    def describe(self, path):
        files = self.source_files(path)
        if files[0].name.endswith(".index"):
            return f"a slim checkpoint (V2: {', '.join(p.name for p in files)})"
        return "a slim checkpoint (V1 file)"

    def read(self, path, arch=None, use_ema=False, progress=None):
        from slimcompat.weights import slim_checkpoint
        return slim_checkpoint.read(path, use_ema=use_ema, arch=arch, progress=progress)

    def read_header(self, path):
        from slimcompat.weights import slim_checkpoint
        meta, shapes = slim_checkpoint.read_header(path)
        return Header(meta, shapes, meta.source_kind)

    def write(self, path, weights, overwrite=False, progress=None, slim_version="V2", **options):
        from slimcompat.weights import slim_checkpoint
        return slim_checkpoint.write(path, weights, overwrite=overwrite, version=slim_version, progress=progress)

    def check_destination(self, path, overwrite=False):
        from slimcompat.weights.slim_checkpoint import check_prefix
        check_prefix(path, overwrite)

    def source_files(self, path):
        from slimcompat.weights import slim_checkpoint
        return slim_checkpoint.checkpoint_files(path)

    def destination_files(self, path):
        from slimcompat.weights import slim_checkpoint
        return slim_checkpoint.existing_files(pathlib.Path(path))


class Keras(Format):
    name = "keras"
    noun = "Keras weight file"
    suffixes = (".keras", ".weights.h5")
    folder_example = ".keras"
    _LABELS = {"keras1": "Keras 1 weight file", "keras2": "Keras 2 weight file", "keras3": "Keras 3 weight file"}

    def detect(self, probe):
        from slimcompat.weights import keras_files
        return keras_files.detect(probe.path, probe) is not None

    def describe(self, path):
        from slimcompat.weights import keras_files
        return f"a {self._LABELS[keras_files.detect(path)]}" + (" (.keras model)" if str(path).endswith(".keras")
                                                                 else "")

    def read(self, path, arch=None, use_ema=False, progress=None):
        from slimcompat.weights import keras_io
        return keras_io.read(path, arch=arch, progress=progress)

    def write(self, path, weights, overwrite=False, progress=None, **options):
        from slimcompat.weights import keras_io
        return keras_io.write(path, weights, overwrite=overwrite, progress=progress)

    def check_names(self, path):
        from slimcompat.weights import keras_io
        keras_io.identify(path)


class Torch(Format):
    name = "torch"
    noun = "safetensors state_dict"
    suffixes = (".safetensors",)

    def detect(self, probe):
        from slimcompat.weights import torch_io
        return torch_io.is_torch_file(probe.path, probe) or probe.path.suffix == ".safetensors"

    def describe(self, path):
        return "a safetensors state_dict"

    def read(self, path, arch=None, use_ema=False, progress=None):
        from slimcompat.weights import torch_io
        return torch_io.read(path, arch=arch, progress=progress)

    def write(self, path, weights, overwrite=False, progress=None, torch_target="torchvision", **options):
        from slimcompat.weights import torch_io
        return torch_io.write(path, weights, overwrite=overwrite, progress=progress, target=torch_target)


class ObjectCheckpoint(Format):
    name = "object"
    files_only = False
    refines = "slim"

    def detect(self, probe):
        from slimcompat.weights.object_tree import is_object_checkpoint
        return is_object_checkpoint(probe.path, probe)

    def describe(self, path):
        return "a tf.keras TF-format checkpoint"

    def read(self, path, arch=None, use_ema=False, progress=None):
        from slimcompat.weights import object_tree
        return object_tree.read(path, arch=arch)

    def write(self, path, weights, overwrite=False, progress=None, **options):
        raise SlimcompatError(f"{path}: TF-format checkpoints are written by the model's own Keras "
                              f"(slimcompat convert ... --model CODE --to model)")

    def convert_hint(self, path):
        return convert_command(path, own_model=True)


BUILTIN = (Canonical(), Slim(), Keras(), Torch(), ObjectCheckpoint())

