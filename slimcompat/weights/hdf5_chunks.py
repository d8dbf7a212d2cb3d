"""Writing an array as one Fletcher-32-checksummed HDF5 chunk in one pass over its bytes.

Through h5py's filter pipeline HDF5 copies each chunk twice into freshly
allocated buffers (the chunk, then the filter's output with the checksum
appended) before writing it: on a 230 MB model that is most of the cost of the
checksums. Here the array is copied once into a buffer that is reused for
every tensor, HDF5's own `H5_checksum_fletcher32` (the function its filter
calls, from the library h5py has loaded) appends the checksum as the filter
would (4 bytes, little-endian), and the chunk is written as it is
(`write_direct_chunk`). The file holds the same bytes either way; a reader
cannot tell. Where the function cannot be found (another build of HDF5, not
Linux), `writer()` gives None and the caller uses the filter pipeline.
"""

import ctypes
import struct

import numpy as np

__all__ = ["writer"]

_CHECKSUM = 4
_LIBRARY = None  # (path, version) the function was looked up for: h5py's libhdf5


def _loaded_hdf5():
    """Path of the libhdf5 this process has loaded (h5py's), from /proc/self/maps; None if unknown."""
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split(None, 5)[5].strip() for line in maps if len(line.split(None, 5)) == 6}
    except OSError:
        return None
    found = [p for p in paths if "/libhdf5" in p and "libhdf5_hl" not in p and ".so" in p]
    return found[0] if len(found) == 1 else None


def _fletcher32():
    """HDF5's H5_checksum_fletcher32 as a ctypes function of (address, length), or None."""
    global _LIBRARY
    if _LIBRARY is None:
        import h5py  # noqa: F401 (loads libhdf5)
        _LIBRARY = (None,)
        path = _loaded_hdf5()
        try:
            lib = ctypes.CDLL(path) if path else None
            function = lib.H5_checksum_fletcher32 if lib else None
        except (OSError, AttributeError):
            function = None
        if function is not None:
            function.restype, function.argtypes = ctypes.c_uint32, [ctypes.c_void_p, ctypes.c_size_t]
            # The checksum of 01 02 03 04 is 0x05080406 (sums of big-endian 16-bit words): the right function.
            probe = np.frombuffer(b"\x01\x02\x03\x04", np.uint8)
            if function(probe.ctypes.data, 4) == 0x05080406:
                _LIBRARY = (function,)
    return _LIBRARY[0]


class _Writer:
    """write(dataset, array): the array as the dataset's single chunk, checksum appended."""

    def __init__(self, fletcher32, largest):
        self._fletcher32 = fletcher32
        self._buffer = np.empty(largest + _CHECKSUM, np.uint8)

    def __call__(self, dataset, value):
        size = value.nbytes
        chunk = self._buffer[:size + _CHECKSUM]
        np.copyto(chunk[:size].view(value.dtype).reshape(value.shape), value)
        checksum = self._fletcher32(chunk.ctypes.data, size)
        chunk[size:] = np.frombuffer(struct.pack("<I", checksum), np.uint8)
        dataset.id.write_direct_chunk((0,) * value.ndim, chunk)


def writer(arrays):
    """A `write(dataset, array)` for datasets created with chunks=array.shape and fletcher32 only; or None.

    arrays: those to be written (sizes the reused buffer). None where HDF5's
    checksum function is not at hand: write through the filter pipeline then.
    """
    function = _fletcher32()
    if function is None:
        return None
    return _Writer(function, max((a.nbytes for a in arrays), default=0))
