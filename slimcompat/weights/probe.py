"""What detecting a weight file's kind looks at, each file opened at most once.

Every kind asks something of the same file (its first bytes, its last bytes,
an HDF5 attribute, a zip member list, a safetensors header), and a
checkpoint's kind its sibling index. A Probe opens each file once and answers
all of them from that handle (h5py and zipfile read through it too), so
detection costs one open per file however many kinds are tried, and kinds
added later ask the same handle.
"""

import contextlib
import os
import pathlib
import zipfile

__all__ = ["Probe", "using"]

_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


class Probe:
    """Lazily opened handles and answers about `path` (and files beside it); close it, or use `with`."""

    def __init__(self, path):
        self.path = pathlib.Path(path)
        self._files = {}
        self._h5 = None
        self._memo = {}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self._h5 is not None and not isinstance(self._h5, Exception):
            self._h5.close()
        self._h5 = None
        for handle in self._files.values():
            if not isinstance(handle, OSError):
                handle.close()
        self._files.clear()

    def is_file(self, path=None):
        return pathlib.Path(path or self.path).is_file()

    def file(self, path=None):
        """The binary handle of `path` (default the probed one), opened on first use; OSError as open raises."""
        key = os.fspath(path or self.path)
        if key not in self._files:
            try:
                self._files[key] = open(key, "rb")
            except OSError as exc:
                self._files[key] = exc
        handle = self._files[key]
        if isinstance(handle, OSError):
            raise handle
        return handle

    def head(self, n, path=None):
        handle = self.file(path)
        handle.seek(0)
        return handle.read(n)

    def size(self, path=None):
        return self.file(path).seek(0, os.SEEK_END)

    def tail(self, n, path=None):
        handle = self.file(path)
        handle.seek(max(0, self.size(path) - n))
        return handle.read(n)

    def whole(self, path=None):
        return self.head(-1, path)

    def is_hdf5(self):
        """Whether an HDF5 superblock signature sits at 0, 512, 1024, 2048, ... (where HDF5 looks for it)."""
        try:
            size, offset = self.size(), 0
            while offset + len(_HDF5_SIGNATURE) <= size:
                handle = self.file()
                handle.seek(offset)
                if handle.read(len(_HDF5_SIGNATURE)) == _HDF5_SIGNATURE:
                    return True
                offset = 512 if offset == 0 else offset * 2
        except OSError:
            return False
        return False

    def h5(self):
        """The probed file as an open h5py.File, shared; the OSError/ValueError h5py raised, again, if none."""
        if self._h5 is None:
            import h5py
            try:
                self._h5 = h5py.File(self.file(), "r")
            except (OSError, ValueError) as exc:
                self._h5 = exc
        if isinstance(self._h5, Exception):
            raise self._h5
        return self._h5

    def zip(self):
        """A zipfile.ZipFile reading the probed file through the shared handle (close it; the handle stays)."""
        return zipfile.ZipFile(self.file())

    def memo(self, key, compute):
        """compute() once per probe: answers several kinds need (is this a TF checkpoint?)."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]


@contextlib.contextmanager
def using(probe, path):
    """`probe` when a caller shares one, else a Probe of `path` closed afterwards."""
    if probe is not None:
        yield probe
        return
    with Probe(path) as own:
        yield own
