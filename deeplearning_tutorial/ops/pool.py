"""Theano's ``pool_2d``: max, sum or average over windows of the last two axes.

Windows may overlap (a stride smaller than the window), the input may be
zero-padded, and with ``ignore_border=False`` the partial windows at the
lower and right borders are kept.

Window k along an axis covers [k*stride, k*stride + ws) in padded
coordinates, where the data occupies [pad, pad + size).  What each mode
reduces over follows Theano's Pool.perform:
  - max, sum and average_exc_pad: the window clipped to the data, so
    padding never wins a max and is never counted;
  - average_inc_pad: the window clipped to the padded image.
With ignore_border=True no window leaves the padded image, so
average_inc_pad always divides by ws[0]*ws[1].  With ignore_border=False
(where Theano allows no padding) the partial windows at the lower and
right borders are clipped to the image, and both averages divide by the
number of cells left in the window.
"""

import math

import numpy as np
from pytensor.graph.basic import Apply
from pytensor.graph.op import Op
from pytensor.tensor.basic import as_tensor_variable
from pytensor.tensor.type import float_dtypes, tensor

from deeplearning_tutorial.ops import loops
from deeplearning_tutorial.ops.shapes import AXES, pool_output_length, window_counts
from deeplearning_tutorial.ops.threads import split
from deeplearning_tutorial.ops.validation import as_bool, as_work_array, int_pair

POOL_MODES = ("max", "sum", "average_inc_pad", "average_exc_pad")

# Data cells per block of a 2x2 loop on another thread (`threads.split`):
# some tens of microseconds of work.
_CELLS_PER_BLOCK = 1 << 16


def _grain(slices):
    """Slices per block of a 2x2 loop over ``slices`` (N, rows, cols)."""
    return max(1, _CELLS_PER_BLOCK // max(1, slices.shape[1] * slices.shape[2]))


class _PoolBase(Op):
    __props__ = ("ws", "ignore_border", "stride", "pad", "mode")

    # The 2x2 loops run on every core (`threads.split`); see `conv._ConvBase`.
    splits_work_across_cores = True

    def __init__(self, ws, ignore_border=True, stride=None, pad=(0, 0), mode="max"):
        self.ws = int_pair("ws", ws, 1)
        self.ignore_border = as_bool("ignore_border", ignore_border)
        self.stride = self.ws if stride is None else int_pair("stride", stride, 1)
        self.pad = int_pair("pad", pad, 0)
        if mode not in POOL_MODES:
            raise ValueError(f"pool_2d mode must be one of {', '.join(POOL_MODES)}; got {mode!r}")
        self.mode = mode
        if self.pad != (0, 0) and not self.ignore_border:
            raise ValueError(f"pool_2d: padding {self.pad} needs ignore_border=True")
        if any(p >= w for p, w in zip(self.pad, self.ws)):
            raise ValueError(f"pool_2d: each pad {self.pad} must be smaller than the window {self.ws}")

    def _check_input(self, x):
        x = as_tensor_variable(x)
        if x.type.ndim < 2:
            raise TypeError(f"pool_2d needs a tensor of 2 or more dimensions, got {x.type.ndim}")
        if x.type.dtype not in float_dtypes:
            raise TypeError(f"pool_2d works on floating-point tensors, got {x.type.dtype}; cast it first")
        return x

    def _out_len(self, axis, size):
        """Output length along one axis; ValueError if ignore_border leaves no window."""
        ws, pad = self.ws[axis], self.pad[axis]
        if self.ignore_border and size + 2 * pad < ws:
            raise ValueError(
                f"pool_2d: a window of {ws} {AXES[axis]} does not fit in an input of "
                f"{size + 2 * pad} {AXES[axis]} (padding included), so ignore_border=True "
                "leaves no output"
            )
        return pool_output_length(size, ws, self.stride[axis], pad, self.ignore_border)

    def _divisor(self, size, out_shape, dtype):
        rows, cols = (
            window_counts(n, d, w, s, p, self.mode)
            for n, d, w, s, p in zip(out_shape, size, self.ws, self.stride, self.pad)
        )
        return np.outer(rows, cols).astype(dtype)

    def _tiles_2x2(self, size, out_shape):
        """Whether the windows are 2x2, stride 2, unpadded and all inside the data (`loops.pool_2x2`)."""
        return (
            self.ws == (2, 2)
            and self.stride == (2, 2)
            and self.pad == (0, 0)
            and all(2 * n <= d for n, d in zip(out_shape, size))
        )

    def _grad_buffer(self, shape, out_shape, dtype):
        """Where a 2x2 gradient of slices of ``shape`` goes: uninitialised if the windows cover every cell."""
        covered = all(2 * n == d for n, d in zip(out_shape, shape[1:]))
        return (np.empty if covered else np.zeros)(shape, dtype)

    def _slices(self, x, dtype):
        """``x`` as a C-contiguous stack of 2-d slices (N, rows, cols) in the working dtype."""
        return as_work_array(x, dtype).reshape(math.prod(x.shape[:-2]), *x.shape[-2:])


class Pool(_PoolBase):
    """Theano's pooling over the last two axes; see `pool_2d`."""

    def make_node(self, x):
        x = self._check_input(x)
        *lead, h, w = x.type.shape
        rows, cols = (None if n is None else self._out_len(axis, n) for axis, n in enumerate((h, w)))
        return Apply(self, [x], [tensor(dtype=x.type.dtype, shape=(*lead, rows, cols))])

    def perform(self, node, inputs, output_storage):
        (x,) = inputs
        size = x.shape[-2:]
        out_shape = tuple(self._out_len(axis, n) for axis, n in enumerate(size))
        slices = self._slices(x, x.dtype)
        out = np.empty((len(slices), *out_shape), slices.dtype)
        if self._tiles_2x2(size, out_shape):
            split(loops.pool_2x2, len(slices), slices, self.mode == "max", out, grain=_grain(slices))
        else:
            loops.pool(slices, self.ws, self.stride, self.pad, self.mode == "max", out)
        if self.mode.startswith("average"):
            out /= self._divisor(size, out_shape, out.dtype)
        output_storage[0][0] = out.reshape(x.shape[:-2] + out_shape).astype(x.dtype, copy=False)

    def infer_shape(self, fgraph, node, shapes):
        *lead, h, w = shapes[0]
        rows, cols = (
            pool_output_length(n, ws, stride, pad, self.ignore_border)
            for n, ws, stride, pad in zip((h, w), self.ws, self.stride, self.pad)
        )
        return [(*lead, rows, cols)]

    def pullback(self, inputs, outputs, cotangents):
        (x,), (z,), (gz,) = inputs, outputs, cotangents
        props = self._props_dict()
        if self.mode == "max":
            return [MaxPoolGrad(**props)(x, z, gz)]
        return [AveragePoolGrad(**props)(x, gz)]


def _like_input(op_name, what, var, x):
    var = as_tensor_variable(var)
    if var.type.ndim != x.type.ndim:
        raise TypeError(f"{op_name}: the {what} must have {x.type.ndim} dimensions, like the input")
    return var


class MaxPoolGrad(_PoolBase):
    """Gradient of max `Pool`; inputs: x, the pooled output and its gradient.

    A window's gradient goes to every cell equal to the window's max (all of
    them on ties, as in Theano), summed over overlapping windows.
    """

    def make_node(self, x, maxout, gz):
        x = self._check_input(x)
        maxout = _like_input("MaxPoolGrad", "pooled output", maxout, x)
        gz = _like_input("MaxPoolGrad", "output gradient", gz, x)
        return Apply(self, [x, maxout, gz], [x.type()])

    def perform(self, node, inputs, output_storage):
        x, maxout, gz = inputs
        slices, maxout, gz = (self._slices(v, x.dtype) for v in (x, maxout, gz))
        if self._tiles_2x2(slices.shape[1:], maxout.shape[1:]):
            grad = self._grad_buffer(slices.shape, maxout.shape[1:], slices.dtype)
            split(loops.max_pool_grad_2x2, len(slices), slices, maxout, gz, grad, grain=_grain(slices))
        else:
            grad = np.zeros_like(slices)
            loops.max_pool_grad(slices, maxout, gz, self.ws, self.stride, self.pad, grad)
        output_storage[0][0] = grad.reshape(x.shape).astype(x.dtype, copy=False)

    def infer_shape(self, fgraph, node, shapes):
        return [shapes[0]]


class AveragePoolGrad(_PoolBase):
    """Gradient of sum and average `Pool`; inputs: x (for its shape) and the output gradient."""

    def make_node(self, x, gz):
        x = self._check_input(x)
        gz = _like_input("AveragePoolGrad", "output gradient", gz, x)
        return Apply(self, [x, gz], [x.type()])

    def perform(self, node, inputs, output_storage):
        x, gz = inputs
        size, out_shape = x.shape[-2:], gz.shape[-2:]
        gz = self._slices(gz, x.dtype)
        if self.mode != "sum":
            gz = gz / self._divisor(size, out_shape, gz.dtype)
        if self._tiles_2x2(size, out_shape):
            grad = self._grad_buffer((len(gz), *size), out_shape, gz.dtype)
            split(loops.spread_2x2, len(gz), gz, grad, grain=_grain(grad))
        else:
            grad = np.zeros((len(gz), *size), gz.dtype)
            loops.spread(gz, self.ws, self.stride, self.pad, grad)
        output_storage[0][0] = grad.reshape(x.shape).astype(x.dtype, copy=False)

    def infer_shape(self, fgraph, node, shapes):
        return [shapes[0]]


def pool_2d(input, ws, ignore_border=True, stride=None, pad=(0, 0), mode="max"):
    """Pool the last two axes of ``input`` (Theano's ``pool_2d``).

    Parameters
    ----------
    input : floating-point tensor of 2 or more dimensions
    ws : (int, int)
        Window size (rows, cols).
    ignore_border : bool
        True: only windows inside the (padded) input, giving
        ``(in + 2*pad - ws) // stride + 1`` outputs; an error if none fits.
        False: the partial windows at the lower and right borders are kept.
    stride : (int, int) or None
        Step between windows, ``ws`` by default; smaller steps overlap.
    pad : (int, int)
        Zero padding on each side, smaller than the window; only with
        ``ignore_border=True``.
    mode : 'max', 'sum', 'average_inc_pad' or 'average_exc_pad'
        The averages divide by the window size counting, or not counting,
        the padding.

    Returns
    -------
    Tensor of the input's dtype and leading dimensions.
    """
    return Pool(ws, ignore_border, stride, pad, mode)(input)
