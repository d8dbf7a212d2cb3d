"""tf-slim functions that NumPy 2 broke, re-implemented to the same contract.

These are not moved symbols but behaviour NumPy removed under tf-slim's feet,
so the repair is a replacement function, written here from tf-slim's
documented contract and bound wherever tf-slim exposes the original.
"""

import logging

import numpy as np

__all__ = ["list_of_slices_rejected", "assign_from_checkpoint"]

log = logging.getLogger(__name__)


def list_of_slices_rejected():
    """True where NumPy no longer treats `a[[slice, slice]]` as `a[(slice, slice)]`."""
    try:
        np.zeros((2, 2))[[slice(0, 1), slice(0, 1)]]
    except IndexError:
        return True
    return False


def assign_from_checkpoint(model_path, var_list, ignore_missing_vars=False):
    """Assign op and feed dict restoring `var_list` from the checkpoint at `model_path`.

    Same contract as tf_slim.assign_from_checkpoint: `var_list` is a list of
    (possibly partitioned) variables or a {checkpoint name: variable or list}
    dict; partitions take their slice of the full checkpoint tensor. tf-slim
    indexed that slice with a list of slices, an IndexError since NumPy 1.23.
    """
    import tensorflow.compat.v1 as tf
    from tf_slim.ops.variables import get_variable_full_name

    if isinstance(var_list, (tuple, list)):
        grouped = {}
        for var in var_list:
            grouped.setdefault(get_variable_full_name(var), []).append(var)
    else:
        grouped = {name: list(v) if isinstance(v, (tuple, list)) else [v] for name, v in var_list.items()}

    reader = tf.train.NewCheckpointReader(model_path)
    feed_dict, assign_ops = {}, []
    for ckpt_name, variables in grouped.items():
        if not reader.has_tensor(ckpt_name):
            message = f"Checkpoint is missing variable [{ckpt_name}]"
            if ignore_missing_vars:
                log.warning(message)
                continue
            raise ValueError(message)
        value = reader.get_tensor(ckpt_name)
        for var in variables:
            placeholder = tf.placeholder(var.dtype.base_dtype, shape=var.get_shape(),
                                         name="placeholder/" + var.op.name)
            assign_ops.append(var.assign(placeholder))
            info = var._save_slice_info  # pylint: disable=protected-access
            if info:
                window = tuple(slice(start, start + size) for start, size in zip(info.var_offset, info.var_shape))
                feed_dict[placeholder] = value[window].reshape(info.var_shape)
            else:
                if var.get_shape() != value.shape:
                    raise ValueError(
                        f"Total size of new array must be unchanged for {ckpt_name} "
                        f"lh_shape: [{value.shape}], rh_shape: [{var.get_shape()}]")
                feed_dict[placeholder] = value
    return tf.group(*assign_ops), feed_dict
