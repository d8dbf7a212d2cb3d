"""The datasets of an HDF5 file, refusing anything that takes values from elsewhere.

HDF5 can make a name in one file read from another: an external link (a group
or dataset of another file), a virtual dataset (values mapped from datasets of
other files, read as zeros when those are missing), a dataset with external
storage (raw bytes in other files), and soft links, which may lead through an
external link. A weight file whose values come from outside it could change
without the file changing, so every reader here refuses all four, by walking
the links themselves, without following any, before it reads a value. The
declared sizes are checked before anything is read too, each and in total: a
dataset stored as is (no filter but checksum and shuffle) cannot hold more
than the file does, so all of them together may declare at most the file's
size; a compressed one can, so those together may declare at most
MAX_FILTERED_BYTES. A file declaring terabytes, or gigabytes of zeros in
datasets it never wrote, is one line, not an allocation.
"""

import h5py

from slimcompat.errors import WeightsError

__all__ = ["datasets", "MAX_TENSOR_BYTES", "MAX_FILTERED_BYTES", "human_bytes"]

# The largest tensor any file we read holds is a ResNet's classifier or a 3x3x512x512
# conv, under 10 MB in float32; 1 GiB leaves room for float64 and wide heads.
MAX_TENSOR_BYTES = 1 << 30
# All compressed datasets of a file together: 1 GiB inflated (the largest network described,
# ResNeXt-101 32x8d, is 356 MB in float32; writers here never compress).
MAX_FILTERED_BYTES = 1 << 30
# Filters that store the values as they are, byte for byte (a checksum, a byte reordering).
_AS_STORED = {h5py.h5z.FILTER_FLETCHER32, h5py.h5z.FILTER_SHUFFLE}


def human_bytes(n):
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024


def _refuse(where, name, what):
    raise WeightsError(where, f"{name}: {what}; weights must be stored in the file itself: refusing")


def _declared(dataset):
    try:
        return dataset.size * dataset.dtype.itemsize
    except (TypeError, ValueError):
        return 0


def _filtered(dataset):
    """Whether `dataset` passes through a filter that may store fewer bytes than it declares (compression)."""
    plist = dataset.id.get_create_plist()
    return any(plist.get_filter(i)[0] not in _AS_STORED for i in range(plist.get_nfilters()))


def _check_totals(group, where, found):
    """Refuse datasets that together declare more than the file can hold (see module doc)."""
    size = group.file.id.get_filesize()
    kinds = {False: ("stored as is", f"the file's own size, {human_bytes(size)}", size, []),
             True: ("compressed", human_bytes(MAX_FILTERED_BYTES), MAX_FILTERED_BYTES, [])}
    for dataset in found:
        kinds[_filtered(dataset)][3].append((dataset, _declared(dataset)))
    for kind, bound, limit, items in kinds.values():
        total = sum(n for _, n in items)
        if total > limit:
            largest = max(items, key=lambda item: item[1])[0]
            raise WeightsError(where, f"{len(items)} datasets {kind} declare {human_bytes(total)} in all, more "
                                      f"than {bound} (the largest: {largest.name}, {largest.shape} "
                                      f"{largest.dtype}); refusing before reading them")


def _check_dataset(dataset, where, limit):
    if dataset.is_virtual:
        sources = sorted({s.file_name for s in dataset.virtual_sources()})
        _refuse(where, dataset.name, f"a virtual dataset (values mapped from {', '.join(sources)})")
    if dataset.external:
        files = sorted({str(e[0]) for e in dataset.external})
        _refuse(where, dataset.name, f"a dataset with external storage (raw values in {', '.join(files)})")
    nbytes = _declared(dataset)
    if limit is not None and nbytes > limit:
        raise WeightsError(where, f"{dataset.name}: declares shape {dataset.shape} {dataset.dtype} = "
                                  f"{human_bytes(nbytes)}, more than any weight tensor ({human_bytes(limit)}); "
                                  f"refusing before reading it")


def datasets(group, where, limit=MAX_TENSOR_BYTES):
    """{path relative to `group`: h5py.Dataset} of every dataset under it, checked, none read.

    Raises WeightsError naming the object for a soft or external link, a
    virtual dataset, external storage, a dataset declaring more than `limit`
    bytes, or datasets declaring more in total than the file can hold. A group
    reached twice by hard links is walked once.
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
    _check_totals(group, where, out.values())
    return out
