"""The datasets of an HDF5 file, refusing anything that takes values from elsewhere.

HDF5 can make a name in one file read from another: an external link (a group
or dataset of another file), a virtual dataset (values mapped from datasets of
other files, read as zeros when those are missing), a dataset with external
storage (raw bytes in other files), and soft links, which may lead through an
external link. A weight file whose values come from outside it could change
without the file changing, so every reader here refuses all four, by walking
the links themselves, without following any, before it reads a value. The
declared size of each dataset is checked before anything is read too: a
dataset declaring terabytes is one line, not an allocation.
"""

import h5py

from slimcompat.errors import WeightsError

__all__ = ["datasets", "MAX_TENSOR_BYTES", "human_bytes"]

# The largest tensor any file we read holds is a ResNet's classifier or a 3x3x512x512
# conv, under 10 MB in float32; 1 GiB leaves room for float64 and wide heads.
MAX_TENSOR_BYTES = 1 << 30


def human_bytes(n):
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024


def _refuse(where, name, what):
    raise WeightsError(where, f"{name}: {what}; weights must be stored in the file itself: refusing")


def _check_dataset(dataset, where, limit):
    if dataset.is_virtual:
        sources = sorted({s.file_name for s in dataset.virtual_sources()})
        _refuse(where, dataset.name, f"a virtual dataset (values mapped from {', '.join(sources)})")
    if dataset.external:
        files = sorted({str(e[0]) for e in dataset.external})
        _refuse(where, dataset.name, f"a dataset with external storage (raw values in {', '.join(files)})")
    try:
        nbytes = dataset.size * dataset.dtype.itemsize
    except (TypeError, ValueError):
        nbytes = 0
    if limit is not None and nbytes > limit:
        raise WeightsError(where, f"{dataset.name}: declares shape {dataset.shape} {dataset.dtype} = "
                                  f"{human_bytes(nbytes)}, more than any weight tensor ({human_bytes(limit)}); "
                                  f"refusing before reading it")


def datasets(group, where, limit=MAX_TENSOR_BYTES):
    """{path relative to `group`: h5py.Dataset} of every dataset under it, checked, none read.

    Raises WeightsError naming the object for a soft or external link, a
    virtual dataset, external storage, or a dataset declaring more than `limit`
    bytes. A group reached twice by hard links is walked once.
    """
    out, seen, stack = {}, {group.id}, [("", group)]
    while stack:
        prefix, current = stack.pop()
        for name in current:
            link = current.get(name, getlink=True)
            full = f"{current.name.rstrip('/')}/{name}"
            if isinstance(link, h5py.ExternalLink):
                _refuse(where, full, f"an HDF5 external link to {link.filename}:{link.path}")
            if isinstance(link, h5py.SoftLink):
                _refuse(where, full, f"an HDF5 soft link to {link.path}")
            obj = current.get(name)
            if isinstance(obj, h5py.Group):
                if obj.id not in seen:
                    seen.add(obj.id)
                    stack.append((f"{prefix}{name}/", obj))
            elif isinstance(obj, h5py.Dataset):
                _check_dataset(obj, where, limit)
                out[prefix + name] = obj
    return out
