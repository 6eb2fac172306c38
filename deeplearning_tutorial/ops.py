"""Theano's ``conv2d`` and ``pool_2d`` for PyTensor.

The LeNet tutorial is built from ``theano.tensor.nnet.conv2d`` and
``theano.tensor.signal.pool.pool_2d``.  PyTensor 3, Theano's successor, has
neither: its remaining convolutions take single N-d signals, not a batch of
multi-channel images against a bank of filters, and it has no pooling.  This
module supplies both, with the semantics of Theano 1.0:

`conv2d`
    Images ``(batch, channels, rows, cols)`` and filters
    ``(n_filters, channels, krows, kcols)`` give ``(batch, n_filters,
    out_rows, out_cols)``.  By default it is a true convolution (each kernel
    flipped along both spatial axes, as in `scipy.signal.convolve2d`) summed
    over the channels; ``filter_flip=False`` makes it a cross-correlation.
    ``border_mode`` pads the images with zeros ('valid': none, 'full':
    kernel size - 1, 'half': kernel size // 2, or given amounts) and
    ``subsample`` strides the output: ``out = (in + 2*pad - kernel) // stride + 1``.

`pool_2d`
    Max, sum or average over windows of the last two axes, with strides
    (overlapping windows allowed), zero padding and, with
    ``ignore_border=False``, the partial windows at the lower and right
    borders kept.

Both are ordinary PyTensor ops computed with NumPy and a few compiled
loops (`deeplearning_tutorial.kernels`), and so are their gradients, so they
compile under every backend: the Python VM, the C VM
(which runs ``perform`` as a Python thunk) and Numba (which runs ``perform``
in object mode).  Bad arguments are reported while the graph is built;
shape errors that depend on the data, when it runs.

The convolution copies the image patches into a matrix ("im2col") and
multiplies it by the filter matrix, so nearly all the work is BLAS matrix
products.  Images go a few at a time, so that each patch matrix is still in
the processor's cache when BLAS reads it.
"""

import math
import numbers

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from pytensor.graph.basic import Apply, Constant
from pytensor.graph.op import Op
from pytensor.link.numba.dispatch.basic import generate_fallback_impl, numba_funcify
from pytensor.scalar import upcast
from pytensor.tensor.basic import as_tensor_variable
from pytensor.tensor.math import maximum
from pytensor.tensor.type import float_dtypes, integer_dtypes, tensor

from deeplearning_tutorial import kernels

__all__ = [
    "conv2d",
    "pool_2d",
    "Conv2d",
    "Conv2dGradInputs",
    "Conv2dGradWeights",
    "Pool",
    "MaxPoolGrad",
    "AveragePoolGrad",
    "POOL_MODES",
]

POOL_MODES = ("max", "sum", "average_inc_pad", "average_exc_pad")

_AXES = ("rows", "columns")

# Bytes of patch matrix per matrix product: small enough to stay in the
# L2/L3 cache between the copy that writes it and BLAS reading it, large
# enough for BLAS to run at full speed.
_CHUNK_BYTES = 1 << 20


# --------------------------------------------------------------------------
# Argument checks


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def _int_pair(name, value, minimum):
    """``value`` as a pair of Python ints >= minimum, else ValueError."""
    try:
        pair = tuple(value)
    except TypeError:
        pair = ()
    if len(pair) != 2 or not all(_is_int(v) and v >= minimum for v in pair):
        raise ValueError(f"{name} must be a pair of integers >= {minimum}, got {value!r}")
    return tuple(int(v) for v in pair)


def _bool(name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def _shape_hint(name, value):
    """``input_shape``/``filter_shape`` as 4 entries, each a positive int or None."""
    if value is None:
        return None
    try:
        hint = tuple(value)
    except TypeError:
        hint = ()
    if len(hint) != 4 or not all(v is None or (_is_int(v) and v >= 1) for v in hint):
        raise ValueError(f"{name} must be 4 entries, each a positive integer or None, got {value!r}")
    return tuple(None if v is None else int(v) for v in hint)


def _conv_border_mode(value):
    """'full', 'half', or the (rows, cols) padding that the other border modes stand for."""
    if isinstance(value, str):
        if value in ("full", "half"):
            return value
        if value == "valid":
            return (0, 0)
    elif _is_int(value) and value >= 0:
        return (int(value), int(value))
    else:
        try:
            return _int_pair("border_mode", value, 0)
        except ValueError:
            pass
    raise ValueError(
        "border_mode must be 'valid', 'full', 'half', an integer >= 0 or a pair of "
        f"integers >= 0, got {value!r}"
    )


def _check_ndim(what, var, ndim, layout):
    if var.type.ndim != ndim:
        raise TypeError(f"{what} must be a {ndim}-d tensor {layout}, got {var.type.ndim} dimensions")


def _merge_shape(what, static, hint):
    """A variable's static shape completed by the user's hint; ValueError if they disagree."""
    if hint is None:
        return tuple(static)
    for known, hinted in zip(static, hint):
        if known is not None and hinted is not None and known != hinted:
            raise ValueError(f"conv2d: {what}_shape={hint} does not match the {what}s' shape {static}")
    return tuple(h if s is None else s for s, h in zip(static, hint))


def _check_hint(what, shape, hint):
    """At run time the data must have the shape the user promised."""
    if hint is not None and any(h is not None and h != s for s, h in zip(shape, hint)):
        raise ValueError(f"conv2d: {what}_shape={hint} but the {what}s have shape {tuple(shape)}")


def _check_channels(input_channels, filter_channels):
    if None not in (input_channels, filter_channels) and input_channels != filter_channels:
        raise ValueError(
            f"conv2d: the input has {input_channels} channels but the filters expect {filter_channels}"
        )


def _check_output_grad(op_name, shape, expected):
    """The output gradient given to a gradient op must fit the convolution it comes from."""
    if any(e is not None and e != n for n, e in zip(shape, expected)):
        raise ValueError(f"{op_name}: output gradient of shape {tuple(shape)}, but the convolution gives {expected}")


def _float_dtype(what, *variables):
    """The upcast dtype of ``variables``, which must be floating point."""
    dtype = upcast(*(v.type.dtype for v in variables))
    if dtype not in float_dtypes:
        names = " and ".join(v.type.dtype for v in variables)
        raise TypeError(f"{what} works on floating-point tensors, got {names}; cast them first")
    return dtype


def _as_dtype_of(grad, var):
    """Give a gradient its variable's dtype, as PyTensor expects of float inputs."""
    if var.type.dtype in float_dtypes and grad.type.dtype != var.type.dtype:
        return grad.astype(var.type.dtype)
    return grad


def _work_dtype(dtype):
    """The dtype the computation runs in: float16 goes through float32,
    which BLAS and the compiled loops support."""
    return "float32" if dtype == "float16" else dtype


def _as_work_array(x, dtype):
    """``x`` as a C-contiguous array of the working dtype for ``dtype``,
    the layout the compiled loops are compiled for."""
    return np.ascontiguousarray(x, dtype=_work_dtype(dtype))


def _spatial_shape(var):
    """The last two dimensions of ``var``, as a constant when they are known statically."""
    static = var.type.shape[2:]
    if None not in static:
        return as_tensor_variable(np.array(static, dtype="int64"))
    return var.shape[2:]


def _size_vector(what, var):
    """An integer vector of 2 elements, and its values when it is a constant."""
    var = as_tensor_variable(var)
    if var.type.ndim != 1 or var.type.dtype not in integer_dtypes or var.type.shape[0] not in (2, None):
        raise TypeError(f"{what} must be an integer vector of 2 elements, got {var.type}")
    if isinstance(var, Constant):
        return var, tuple(int(v) for v in var.data)
    return var, (None, None)


# --------------------------------------------------------------------------
# Convolution geometry (on Python ints, and in infer_shape on symbolic scalars)


def _axis_pad(border_mode, axis, kernel):
    if border_mode == "full":
        return kernel - 1
    if border_mode == "half":
        return kernel // 2
    return border_mode[axis]


def _conv_padding(border_mode, kernel_shape):
    return tuple(_axis_pad(border_mode, axis, k) for axis, k in enumerate(kernel_shape))


def _conv_out_len(size, kernel, pad, stride):
    return (size + 2 * pad - kernel) // stride + 1


def _conv_out_shape(border_mode, subsample, imshp, kshp):
    """Output shape, None where unknown; ValueError when a filter does not fit."""
    out = [imshp[0], kshp[0]]
    for axis, (size, kernel, stride) in enumerate(zip(imshp[2:], kshp[2:], subsample)):
        if size is None or kernel is None:
            out.append(None)
            continue
        padded = size + 2 * _axis_pad(border_mode, axis, kernel)
        if padded < kernel:
            raise ValueError(
                f"conv2d: filters of {kernel} {_AXES[axis]} do not fit in an input of "
                f"{padded} {_AXES[axis]} (padding included)"
            )
        out.append((padded - kernel) // stride + 1)
    return tuple(out)


# --------------------------------------------------------------------------
# Convolution arithmetic on NumPy arrays.
#
# The output and both gradients are cross-correlations of a zero-padded
# image `img` (B, C, Hp, Wp) with kernels `wk` (F, C, kr, kc); a true
# convolution passes flipped kernels.  Through the patch view `win`
# (B, C, oh, ow, kr, kc), win[b, c, i, j, u, v] = img[b, c, i*sr + u, j*sc + v]:
#     out[b, f, i, j] = sum over c, u, v of win[b, c, i, j, u, v] * wk[f, c, u, v]
# The patches are copied into a matrix with one column per output position.
# The copy is fast when it moves long contiguous runs: kc*C values of a
# channels-last image, or ow values of an image row (channel-major layout,
# best for few channels, like the first LeNet layer); `_channels_last`
# chooses.


def _channels_last(channels, kernel_cols, out_cols, col_stride):
    row_run = out_cols if col_stride == 1 else 1
    return channels * kernel_cols >= row_run


def _image_buffer(shape, dtype, channels_last):
    """Zeros of logical shape (B, C, H, W), stored channels-last or channel-major."""
    b, c, h, w = shape
    if channels_last:
        return np.zeros((b, h, w, c), dtype).transpose(0, 3, 1, 2)
    return np.zeros((c, b, h, w), dtype).transpose(1, 0, 2, 3)


def _padded_image(x, pad, channels_last):
    if pad == (0, 0) and not channels_last:
        return x
    b, c, h, w = x.shape
    img = _image_buffer((b, c, h + 2 * pad[0], w + 2 * pad[1]), x.dtype, channels_last)
    img[:, :, pad[0] : pad[0] + h, pad[1] : pad[1] + w] = x
    return img


def _patches(img, kernel_shape, stride, out_shape):
    (sr, sc), (oh, ow) = stride, out_shape
    win = sliding_window_view(img, kernel_shape, axis=(2, 3))
    return win[:, :, : (oh - 1) * sr + 1 : sr, : (ow - 1) * sc + 1 : sc]


def _patch_matrix(win, channels_last):
    """The patches copied into a (C*kr*kc, positions) matrix (a transposed view if channels-last)."""
    b, c, oh, ow, kr, kc = win.shape
    if channels_last:
        return win.transpose(0, 2, 3, 4, 5, 1).reshape(b * oh * ow, kr * kc * c).T
    return win.transpose(1, 4, 5, 0, 2, 3).reshape(c * kr * kc, b * oh * ow)


def _filter_matrix(wk, channels_last):
    """The kernels as an (F, C*kr*kc) matrix, columns ordered like the patch matrix's rows."""
    if channels_last:
        wk = wk.transpose(0, 2, 3, 1)
    return wk.reshape(wk.shape[0], -1)


def _chunks(n_images, bytes_per_image):
    step = max(1, _CHUNK_BYTES // max(1, bytes_per_image))
    return [(start, min(start + step, n_images)) for start in range(0, n_images, step)]


def _by_filter(g, start, stop):
    """Images start:stop of an output gradient (B, F, P) as an (F, positions) matrix."""
    return g[start:stop].transpose(1, 0, 2).reshape(g.shape[1], -1)


def _correlate(x, wk, pad, stride, out_shape):
    b, c = x.shape[:2]
    f, _, kr, kc = wk.shape
    positions = out_shape[0] * out_shape[1]
    channels_last = _channels_last(c, kc, out_shape[1], stride[1])
    win = _patches(_padded_image(x, pad, channels_last), (kr, kc), stride, out_shape)
    wm = _filter_matrix(wk, channels_last)
    out = np.empty((b, f, positions), x.dtype)
    for start, stop in _chunks(b, wm.shape[1] * positions * x.itemsize):
        product = wm @ _patch_matrix(win[start:stop], channels_last)
        out[start:stop] = product.reshape(f, stop - start, positions).transpose(1, 0, 2)
    return out.reshape(b, f, *out_shape)


def _correlate_grad_kernels(x, gz, kernel_shape, pad, stride):
    b, c = x.shape[:2]
    f, oh, ow = gz.shape[1:]
    kr, kc = kernel_shape
    channels_last = _channels_last(c, kc, ow, stride[1])
    win = _patches(_padded_image(x, pad, channels_last), kernel_shape, stride, (oh, ow))
    g = gz.reshape(b, f, oh * ow)
    grad = np.zeros((f, c * kr * kc), x.dtype)
    for start, stop in _chunks(b, c * kr * kc * oh * ow * x.itemsize):
        grad += _by_filter(g, start, stop) @ _patch_matrix(win[start:stop], channels_last).T
    if channels_last:
        return grad.reshape(f, kr, kc, c).transpose(0, 3, 1, 2)
    return grad.reshape(f, c, kr, kc)


def _by_position(g, start, stop):
    """Images start:stop of an output gradient (B, F, P) as a (positions, F) matrix."""
    return g[start:stop].transpose(0, 2, 1).reshape(-1, g.shape[1])


def _correlate_grad_input(gz, wk, input_shape, pad, stride):
    # Always channels-last: the gradient of each patch is a row of kc*C
    # contiguous values per kernel row, which `kernels.col2im` adds into
    # the image gradient in one pass.
    b, f, oh, ow = gz.shape
    c, kr, kc = wk.shape[1:]
    (h, w), (pr, pc) = input_shape, pad
    image = np.zeros((b, h + 2 * pr, w + 2 * pc, c), gz.dtype)
    wm = _filter_matrix(wk, channels_last=True)
    g = gz.reshape(b, f, oh * ow)
    for start, stop in _chunks(b, wm.shape[1] * oh * ow * gz.itemsize):
        kernels.col2im(_by_position(g, start, stop) @ wm, (kr, kc), stride, image[start:stop])
    return np.ascontiguousarray(image[:, pr : pr + h, pc : pc + w].transpose(0, 3, 1, 2))


# --------------------------------------------------------------------------
# Convolution ops


class _ConvBase(Op):
    __props__ = ("border_mode", "subsample", "filter_flip")

    def __init__(self, border_mode="valid", subsample=(1, 1), filter_flip=True):
        self.border_mode = _conv_border_mode(border_mode)
        self.subsample = _int_pair("subsample", subsample, 1)
        self.filter_flip = _bool("filter_flip", filter_flip)

    def _kernels(self, w, dtype):
        """The filters as correlation kernels: flipped for a true convolution."""
        w = w.astype(_work_dtype(dtype), copy=False)
        return w[:, :, ::-1, ::-1] if self.filter_flip else w

    def _grad_ops(self):
        props = dict(border_mode=self.border_mode, subsample=self.subsample, filter_flip=self.filter_flip)
        return Conv2dGradInputs(**props), Conv2dGradWeights(**props)


class Conv2d(_ConvBase):
    """Theano's 2-D convolution of a batch of images with a bank of filters; see `conv2d`.

    ``imshp`` and ``kshp`` are `conv2d`'s ``input_shape`` and
    ``filter_shape``: checked against the data, and used for the output's
    static shape.
    """

    __props__ = _ConvBase.__props__ + ("imshp", "kshp")

    def __init__(self, border_mode="valid", subsample=(1, 1), filter_flip=True, imshp=None, kshp=None):
        super().__init__(border_mode, subsample, filter_flip)
        self.imshp = _shape_hint("input_shape", imshp)
        self.kshp = _shape_hint("filter_shape", kshp)
        if self.imshp is not None and self.kshp is not None:
            _check_channels(self.imshp[1], self.kshp[1])

    def make_node(self, input, filters):
        input = as_tensor_variable(input)
        filters = as_tensor_variable(filters)
        _check_ndim("conv2d input", input, 4, "(batch, channels, rows, cols)")
        _check_ndim("conv2d filters", filters, 4, "(n_filters, channels, rows, cols)")
        dtype = _float_dtype("conv2d", input, filters)
        imshp = _merge_shape("input", input.type.shape, self.imshp)
        kshp = _merge_shape("filter", filters.type.shape, self.kshp)
        _check_channels(imshp[1], kshp[1])
        out_shape = _conv_out_shape(self.border_mode, self.subsample, imshp, kshp)
        return Apply(self, [input, filters], [tensor(dtype=dtype, shape=out_shape)])

    def perform(self, node, inputs, output_storage):
        x, w = inputs
        _check_hint("input", x.shape, self.imshp)
        _check_hint("filter", w.shape, self.kshp)
        _check_channels(x.shape[1], w.shape[1])
        out_shape = _conv_out_shape(self.border_mode, self.subsample, x.shape, w.shape)[2:]
        pad = _conv_padding(self.border_mode, w.shape[2:])
        dtype = node.outputs[0].type.dtype
        out = _correlate(_as_work_array(x, dtype), self._kernels(w, dtype), pad, self.subsample, out_shape)
        output_storage[0][0] = out.astype(dtype, copy=False)

    def infer_shape(self, fgraph, node, shapes):
        (b, _, h, w), (f, _, kr, kc) = shapes
        pad = _conv_padding(self.border_mode, (kr, kc))
        sr, sc = self.subsample
        return [(b, f, _conv_out_len(h, kr, pad[0], sr), _conv_out_len(w, kc, pad[1], sc))]

    def pullback(self, inputs, outputs, cotangents):
        x, w = inputs
        (gz,) = cotangents
        grad_inputs, grad_weights = self._grad_ops()
        gx = grad_inputs(w, gz, _spatial_shape(x))
        gw = grad_weights(x, gz, _spatial_shape(w))
        return [_as_dtype_of(gx, x), _as_dtype_of(gw, w)]


class Conv2dGradInputs(_ConvBase):
    """Gradient of `Conv2d` with respect to its input.

    Inputs: the filters, the output gradient, and the input's (rows, cols),
    which a strided output does not determine.
    """

    # The static output shape comes from the value of the size input.
    _output_type_depends_on_input_value = True

    def make_node(self, filters, output_grad, input_size):
        filters = as_tensor_variable(filters)
        output_grad = as_tensor_variable(output_grad)
        _check_ndim("filters", filters, 4, "(n_filters, channels, rows, cols)")
        _check_ndim("output gradient", output_grad, 4, "(batch, n_filters, rows, cols)")
        input_size, (h, w) = _size_vector("input_size", input_size)
        dtype = _float_dtype("conv2d", filters, output_grad)
        shape = (output_grad.type.shape[0], filters.type.shape[1], h, w)
        return Apply(self, [filters, output_grad, input_size], [tensor(dtype=dtype, shape=shape)])

    def perform(self, node, inputs, output_storage):
        w, gz, input_size = inputs
        input_size = tuple(int(n) for n in input_size)
        expected = _conv_out_shape(self.border_mode, self.subsample, (None, None, *input_size), w.shape)
        _check_output_grad("Conv2dGradInputs", gz.shape, expected)
        dtype = node.outputs[0].type.dtype
        pad = _conv_padding(self.border_mode, w.shape[2:])
        grad = _correlate_grad_input(_as_work_array(gz, dtype), self._kernels(w, dtype), input_size, pad, self.subsample)
        output_storage[0][0] = grad.astype(dtype, copy=False)

    def infer_shape(self, fgraph, node, shapes):
        input_size = node.inputs[2]
        return [(shapes[1][0], shapes[0][1], input_size[0], input_size[1])]


class Conv2dGradWeights(_ConvBase):
    """Gradient of `Conv2d` with respect to its filters.

    Inputs: the images, the output gradient and the filters' (rows, cols).
    """

    # The static output shape comes from the value of the size input.
    _output_type_depends_on_input_value = True

    def make_node(self, input, output_grad, filter_size):
        input = as_tensor_variable(input)
        output_grad = as_tensor_variable(output_grad)
        _check_ndim("input", input, 4, "(batch, channels, rows, cols)")
        _check_ndim("output gradient", output_grad, 4, "(batch, n_filters, rows, cols)")
        filter_size, (kr, kc) = _size_vector("filter_size", filter_size)
        dtype = _float_dtype("conv2d", input, output_grad)
        shape = (output_grad.type.shape[1], input.type.shape[1], kr, kc)
        return Apply(self, [input, output_grad, filter_size], [tensor(dtype=dtype, shape=shape)])

    def perform(self, node, inputs, output_storage):
        x, gz, filter_size = inputs
        kernel_shape = tuple(int(n) for n in filter_size)
        expected = _conv_out_shape(self.border_mode, self.subsample, x.shape, (None, None, *kernel_shape))
        _check_output_grad("Conv2dGradWeights", gz.shape, expected)
        dtype = node.outputs[0].type.dtype
        pad = _conv_padding(self.border_mode, kernel_shape)
        grad = _correlate_grad_kernels(
            _as_work_array(x, dtype), _as_work_array(gz, dtype), kernel_shape, pad, self.subsample
        )
        # The gradient of a flipped kernel is the flipped gradient.
        grad = grad[:, :, ::-1, ::-1] if self.filter_flip else grad
        output_storage[0][0] = np.ascontiguousarray(grad, dtype=dtype)

    def infer_shape(self, fgraph, node, shapes):
        filter_size = node.inputs[2]
        return [(shapes[1][1], shapes[0][1], filter_size[0], filter_size[1])]


def conv2d(
    input,
    filters,
    input_shape=None,
    filter_shape=None,
    border_mode="valid",
    subsample=(1, 1),
    filter_flip=True,
):
    """Convolve a batch of multi-channel images with a bank of filters (Theano's ``conv2d``).

    Parameters
    ----------
    input : 4-d tensor (batch, channels, rows, cols)
    filters : 4-d tensor (n_filters, channels, krows, kcols)
    input_shape, filter_shape : 4 ints or None each, optional
        The shapes the data will have (None for an unknown entry).  They are
        checked at run time and give the output a static shape.
    border_mode : 'valid', 'full', 'half', int or (int, int)
        Zero padding of the images: none, kernel size - 1, kernel size // 2,
        or the given number of rows and columns on each side.
    subsample : (int, int)
        Stride of the output along rows and columns.
    filter_flip : bool
        True for a convolution (kernels flipped), False for a
        cross-correlation.

    Returns
    -------
    4-d tensor (batch, n_filters, out_rows, out_cols), where
    ``out = (in + 2*pad - kernel) // stride + 1``, of the upcast dtype of
    the input and filters (float32 stays float32).
    """
    return Conv2d(border_mode, subsample, filter_flip, input_shape, filter_shape)(input, filters)


# --------------------------------------------------------------------------
# Pooling.
#
# Window k along an axis covers [k*stride, k*stride + ws) in padded
# coordinates, where the data occupies [pad, pad + size).  What each mode
# reduces over follows Theano's Pool.perform:
#   - max, sum and average_exc_pad: the window clipped to the data, so
#     padding never wins a max and is never counted;
#   - average_inc_pad: the window clipped to the padded image.
# With ignore_border=True no window leaves the padded image, so
# average_inc_pad always divides by ws[0]*ws[1].  With ignore_border=False
# (where Theano allows no padding) the partial windows at the lower and
# right borders are clipped to the image, and both averages divide by the
# number of cells left in the window.


def _pool_out_len(size, ws, stride, pad, ignore_border):
    if ignore_border:
        return (size + 2 * pad - ws) // stride + 1
    if stride >= ws:
        return (size - 1) // stride + 1
    # The full windows, plus one partial window if cells are left over.
    starts = (size - ws + stride - 1) // stride
    if isinstance(starts, numbers.Integral):
        return max(0, starts) + 1
    return maximum(0, starts) + 1


def _window_counts(out_len, size, ws, stride, pad, mode):
    """How many cells each window along one axis averages over."""
    starts = np.arange(out_len) * stride
    low, high = (pad, pad + size) if mode == "average_exc_pad" else (0, size + 2 * pad)
    return np.minimum(starts + ws, high) - np.maximum(starts, low)


class _PoolBase(Op):
    __props__ = ("ws", "ignore_border", "stride", "pad", "mode")

    def __init__(self, ws, ignore_border=True, stride=None, pad=(0, 0), mode="max"):
        self.ws = _int_pair("ws", ws, 1)
        self.ignore_border = _bool("ignore_border", ignore_border)
        self.stride = self.ws if stride is None else _int_pair("stride", stride, 1)
        self.pad = _int_pair("pad", pad, 0)
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
                f"pool_2d: a window of {ws} {_AXES[axis]} does not fit in an input of "
                f"{size + 2 * pad} {_AXES[axis]} (padding included), so ignore_border=True "
                "leaves no output"
            )
        return _pool_out_len(size, ws, self.stride[axis], pad, self.ignore_border)

    def _divisor(self, size, out_shape, dtype):
        rows, cols = (
            _window_counts(n, d, w, s, p, self.mode)
            for n, d, w, s, p in zip(out_shape, size, self.ws, self.stride, self.pad)
        )
        return np.outer(rows, cols).astype(dtype)

    def _slices(self, x, dtype):
        """``x`` as a C-contiguous stack of 2-d slices (N, rows, cols) in the working dtype."""
        return _as_work_array(x, dtype).reshape(math.prod(x.shape[:-2]), *x.shape[-2:])


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
        kernels.pool(slices, self.ws, self.stride, self.pad, self.mode == "max", out)
        if self.mode.startswith("average"):
            out /= self._divisor(size, out_shape, out.dtype)
        output_storage[0][0] = out.reshape(x.shape[:-2] + out_shape).astype(x.dtype, copy=False)

    def infer_shape(self, fgraph, node, shapes):
        *lead, h, w = shapes[0]
        rows, cols = (
            _pool_out_len(n, ws, stride, pad, self.ignore_border)
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
        slices = self._slices(x, x.dtype)
        grad = np.zeros_like(slices)
        kernels.max_pool_grad(
            slices, self._slices(maxout, x.dtype), self._slices(gz, x.dtype), self.ws, self.stride, self.pad, grad
        )
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
        grad = np.zeros((len(gz), *size), gz.dtype)
        kernels.spread(gz, self.ws, self.stride, self.pad, grad)
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


# --------------------------------------------------------------------------
# Numba backend
# --------------------------------------------------------------------------


@numba_funcify.register(_ConvBase)
@numba_funcify.register(_PoolBase)
def _numba_object_mode(op, node, **kwargs):
    """Run these ops' NumPy code from Numba-compiled graphs (object mode).

    PyTensor's generic fallback keeps the graph node in the compiled
    function, and with it the whole graph up to the shared variables: the
    tutorials' datasets would be serialised into the generated code (tens
    of gigabytes).  A copy of the node on fresh, unconnected inputs of the
    same types carries only what ``perform`` needs.
    """
    detached = op.make_node(*[inp.type() for inp in node.inputs])
    return generate_fallback_impl(op, detached, **kwargs)
