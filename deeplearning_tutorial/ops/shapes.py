"""Output shapes of the convolution and pooling ops.

The functions take Python ints (to check arguments and give outputs a static
shape while the graph is built) or symbolic scalars (in ``infer_shape``,
where PyTensor asks for shapes without running the ops).
"""

import numbers

import numpy as np
from pytensor.tensor.basic import as_tensor_variable
from pytensor.tensor.math import maximum

#: Names of the two spatial axes, for messages.
AXES = ("rows", "columns")


def output_length(size, window, stride, pad):
    """Windows of ``window`` cells, ``stride`` apart, that fit in ``size`` cells padded by ``pad`` on each side.

    The length of a convolution's output, and of a pooling's with
    ``ignore_border=True``.
    """
    return (size + 2 * pad - window) // stride + 1


def axis_pad(border_mode, axis, kernel):
    """Zero padding of one axis for a kernel of ``kernel`` cells ('full', 'half' or a (rows, cols) pair)."""
    if border_mode == "full":
        return kernel - 1
    if border_mode == "half":
        return kernel // 2
    return border_mode[axis]


def conv_padding(border_mode, kernel_shape):
    """(rows, cols) of zero padding for kernels of ``kernel_shape``."""
    return tuple(axis_pad(border_mode, axis, k) for axis, k in enumerate(kernel_shape))


def conv_output_shape(border_mode, subsample, imshp, kshp):
    """Output shape of a convolution, None where unknown; ValueError when a filter does not fit."""
    out = [imshp[0], kshp[0]]
    for axis, (size, kernel, stride) in enumerate(zip(imshp[2:], kshp[2:], subsample)):
        if size is None or kernel is None:
            out.append(None)
            continue
        pad = axis_pad(border_mode, axis, kernel)
        if size + 2 * pad < kernel:
            raise ValueError(
                f"conv2d: filters of {kernel} {AXES[axis]} do not fit in an input of "
                f"{size + 2 * pad} {AXES[axis]} (padding included)"
            )
        out.append(output_length(size, kernel, stride, pad))
    return tuple(out)


def pool_output_length(size, ws, stride, pad, ignore_border):
    """Output length of a pooling along one axis.

    With ``ignore_border=False`` a last, partial window is kept when cells
    are left over after the full ones (no padding is allowed then).
    """
    if ignore_border:
        return output_length(size, ws, stride, pad)
    if stride >= ws:
        return (size - 1) // stride + 1
    # The full windows, plus one partial window if cells are left over.
    starts = (size - ws + stride - 1) // stride
    if isinstance(starts, numbers.Integral):
        return max(0, starts) + 1
    return maximum(0, starts) + 1


def window_counts(out_len, size, ws, stride, pad, mode):
    """How many cells each window along one axis averages over (``mode``: an average pooling mode)."""
    starts = np.arange(out_len) * stride
    low, high = (pad, pad + size) if mode == "average_exc_pad" else (0, size + 2 * pad)
    return np.minimum(starts + ws, high) - np.maximum(starts, low)


def spatial_shape(var):
    """The last two dimensions of ``var``, as a constant when they are known statically."""
    static = var.type.shape[2:]
    if None not in static:
        return as_tensor_variable(np.array(static, dtype="int64"))
    return var.shape[2:]
