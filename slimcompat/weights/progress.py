"""How readers and writers report progress to a caller's bar.

`progress` is an optional callable(n_bytes), called after each tensor. If it
also has a `total` attribute (as the CLI's bar does), a reader sets it to the
bytes of tensors it will read as soon as its checks have passed, before the
first tensor, so the bar can show how far along it is.
"""

__all__ = ["announce"]


def announce(progress, total):
    """Tell `progress` the total bytes to expect, if it can take one."""
    if progress is not None and hasattr(progress, "total"):
        progress.total = int(total)
