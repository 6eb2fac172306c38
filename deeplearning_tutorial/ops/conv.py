"""Theano's ``conv2d``: a batch of multi-channel images against a bank of filters.

Images ``(batch, channels, rows, cols)`` and filters ``(n_filters, channels,
krows, kcols)`` give ``(batch, n_filters, out_rows, out_cols)``.  By default
it is a true convolution (each kernel flipped along both spatial axes, as in
`scipy.signal.convolve2d`) summed over the channels; ``filter_flip=False``
makes it a cross-correlation.  ``border_mode`` pads the images with zeros
('valid': none, 'full': kernel size - 1, 'half': kernel size // 2, or given
amounts) and ``subsample`` strides the output (`shapes.output_length`).

The convolution copies the image patches into a matrix ("im2col") and
multiplies it by the filter matrix, so nearly all the work is BLAS matrix
products (`im2col`).  Images go a few at a time, so that each patch matrix
is still in the processor's cache when BLAS reads it.
"""

import numpy as np
from pytensor.graph.basic import Apply
from pytensor.graph.op import Op
from pytensor.tensor.basic import as_tensor_variable
from pytensor.tensor.type import tensor

from deeplearning_tutorial.ops import im2col
from deeplearning_tutorial.ops.blas_kernels import one_thread
from deeplearning_tutorial.ops.shapes import conv_output_shape, conv_padding, output_length, spatial_shape
from deeplearning_tutorial.ops.threads import split
from deeplearning_tutorial.ops.validation import (
    as_bool,
    as_dtype_of,
    as_work_array,
    check_channels,
    check_hint,
    check_ndim,
    check_output_grad,
    conv_border_mode,
    float_dtype,
    int_pair,
    merge_shape,
    shape_hint,
    size_vector,
    work_dtype,
)

# Bytes of patch matrix per matrix product: small enough to stay in the
# L2/L3 cache between the copy that writes it and BLAS reading it, large
# enough for BLAS to run at full speed.
_CHUNK_BYTES = 1 << 20


# The arithmetic is in `im2col`; here the images are padded and laid out,
# the filters made a matrix, and the chunk size chosen.  The patch copy is
# fast when it moves long contiguous runs: kc*C values of a channels-last
# image, or ow values of an image row (channel-major, best for few
# channels, like the first LeNet layer); `_channels_last` chooses.


def _channels_last(channels, kernel_cols, out_cols, col_stride):
    row_run = out_cols if col_stride == 1 else 1
    return channels * kernel_cols >= row_run


def _padded_image(x, pad, channels_last):
    """``x`` (B, C, H, W) zero-padded, as a C-contiguous (B, H, W, C) array if ``channels_last``."""
    b, c, h, w = x.shape
    (pr, pc) = pad
    if channels_last:
        img = np.zeros((b, h + 2 * pr, w + 2 * pc, c), x.dtype)
        img[:, pr : pr + h, pc : pc + w] = x.transpose(0, 2, 3, 1)
        return img
    if pad == (0, 0):
        return x
    img = np.zeros((b, c, h + 2 * pr, w + 2 * pc), x.dtype)
    img[:, :, pr : pr + h, pc : pc + w] = x
    return img


def _filter_matrix(wk, channels_last):
    """The kernels as a C-contiguous (F, C*kr*kc) matrix, columns ordered like the patch matrix's cells."""
    if channels_last:
        wk = wk.transpose(0, 2, 3, 1)
    return np.ascontiguousarray(wk.reshape(wk.shape[0], -1))


def _images_per_chunk(cells, positions, itemsize):
    """How many images' patches make one matrix product (`_CHUNK_BYTES`)."""
    return max(1, _CHUNK_BYTES // max(1, cells * positions * itemsize))


def _n_chunks(n_images, chunk):
    return -(-n_images // chunk)


def _correlate(x, wk, pad, stride, out_shape):
    b, c = x.shape[:2]
    f, _, kr, kc = wk.shape
    positions = out_shape[0] * out_shape[1]
    channels_last = _channels_last(c, kc, out_shape[1], stride[1])
    wm = _filter_matrix(wk, channels_last)
    out = np.empty((b, f, positions), x.dtype)
    chunk = _images_per_chunk(wm.shape[1], positions, x.itemsize)
    image = _padded_image(x, pad, channels_last)
    with one_thread():
        split(
            im2col.kernels().correlate,
            _n_chunks(b, chunk),
            image,
            wm,
            (kr, kc),
            stride,
            out_shape,
            channels_last,
            chunk,
            out,
        )
    return out.reshape(b, f, *out_shape)


def _correlate_grad_kernels(x, gz, kernel_shape, pad, stride):
    b, c = x.shape[:2]
    f, oh, ow = gz.shape[1:]
    kr, kc = kernel_shape
    channels_last = _channels_last(c, kc, ow, stride[1])
    chunk = _images_per_chunk(c * kr * kc, oh * ow, x.itemsize)
    products = np.empty((_n_chunks(b, chunk), f, c * kr * kc), x.dtype)
    image = _padded_image(x, pad, channels_last)
    with one_thread():
        split(
            im2col.kernels().correlate_grad_kernels,
            len(products),
            *(image, gz.reshape(b, f, oh * ow), kernel_shape, stride, (oh, ow), channels_last, chunk, products),
        )
    grad = np.empty((f, c * kr * kc), x.dtype)
    im2col.sum_in_order(products, grad)
    if channels_last:
        return grad.reshape(f, kr, kc, c).transpose(0, 3, 1, 2)
    return grad.reshape(f, c, kr, kc)


def _correlate_grad_input(gz, wk, input_shape, pad, stride):
    # Always channels-last: the gradient of each patch is a run of kc*C
    # contiguous values per kernel row, which `im2col.correlate_grad_input`
    # adds into the image gradient.
    b, f, oh, ow = gz.shape
    c, kr, kc = wk.shape[1:]
    (h, w), (pr, pc) = input_shape, pad
    image = np.zeros((b, h + 2 * pr, w + 2 * pc, c), gz.dtype)
    wm = _filter_matrix(wk, channels_last=True)
    chunk = _images_per_chunk(wm.shape[1], oh * ow, gz.itemsize)
    with one_thread():
        split(
            im2col.kernels().correlate_grad_input,
            _n_chunks(b, chunk),
            gz.reshape(b, f, oh * ow),
            wm,
            (kr, kc),
            stride,
            chunk,
            image,
        )
    return np.ascontiguousarray(image[:, pr : pr + h, pc : pc + w].transpose(0, 3, 1, 2))


# --------------------------------------------------------------------------
# Convolution ops


class _ConvBase(Op):
    __props__ = ("border_mode", "subsample", "filter_flip")

    # The arithmetic runs on every core, each thread calling BLAS on one
    # thread (`blas_kernels.one_thread`); the NUMPY mode's virtual machine keeps
    # BLAS on one thread for a whole call that holds such a node.
    splits_work_across_cores = True

    def __init__(self, border_mode="valid", subsample=(1, 1), filter_flip=True):
        self.border_mode = conv_border_mode(border_mode)
        self.subsample = int_pair("subsample", subsample, 1)
        self.filter_flip = as_bool("filter_flip", filter_flip)

    def _kernels(self, w, dtype):
        """The filters as correlation kernels: flipped for a true convolution."""
        w = w.astype(work_dtype(dtype), copy=False)
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
        self.imshp = shape_hint("input_shape", imshp)
        self.kshp = shape_hint("filter_shape", kshp)
        if self.imshp is not None and self.kshp is not None:
            check_channels(self.imshp[1], self.kshp[1])

    def make_node(self, input, filters):
        input = as_tensor_variable(input)
        filters = as_tensor_variable(filters)
        check_ndim("conv2d input", input, 4, "(batch, channels, rows, cols)")
        check_ndim("conv2d filters", filters, 4, "(n_filters, channels, rows, cols)")
        dtype = float_dtype("conv2d", input, filters)
        imshp = merge_shape("input", input.type.shape, self.imshp)
        kshp = merge_shape("filter", filters.type.shape, self.kshp)
        check_channels(imshp[1], kshp[1])
        out_shape = conv_output_shape(self.border_mode, self.subsample, imshp, kshp)
        return Apply(self, [input, filters], [tensor(dtype=dtype, shape=out_shape)])

    def perform(self, node, inputs, output_storage):
        x, w = inputs
        check_hint("input", x.shape, self.imshp)
        check_hint("filter", w.shape, self.kshp)
        check_channels(x.shape[1], w.shape[1])
        out_shape = conv_output_shape(self.border_mode, self.subsample, x.shape, w.shape)[2:]
        pad = conv_padding(self.border_mode, w.shape[2:])
        dtype = node.outputs[0].type.dtype
        out = _correlate(as_work_array(x, dtype), self._kernels(w, dtype), pad, self.subsample, out_shape)
        output_storage[0][0] = out.astype(dtype, copy=False)

    def infer_shape(self, fgraph, node, shapes):
        (b, _, h, w), (f, _, kr, kc) = shapes
        pad = conv_padding(self.border_mode, (kr, kc))
        sr, sc = self.subsample
        return [(b, f, output_length(h, kr, sr, pad[0]), output_length(w, kc, sc, pad[1]))]

    def pullback(self, inputs, outputs, cotangents):
        x, w = inputs
        (gz,) = cotangents
        grad_inputs, grad_weights = self._grad_ops()
        gx = grad_inputs(w, gz, spatial_shape(x))
        gw = grad_weights(x, gz, spatial_shape(w))
        return [as_dtype_of(gx, x), as_dtype_of(gw, w)]


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
        check_ndim("filters", filters, 4, "(n_filters, channels, rows, cols)")
        check_ndim("output gradient", output_grad, 4, "(batch, n_filters, rows, cols)")
        input_size, (h, w) = size_vector("input_size", input_size)
        dtype = float_dtype("conv2d", filters, output_grad)
        shape = (output_grad.type.shape[0], filters.type.shape[1], h, w)
        return Apply(self, [filters, output_grad, input_size], [tensor(dtype=dtype, shape=shape)])

    def perform(self, node, inputs, output_storage):
        w, gz, input_size = inputs
        input_size = tuple(int(n) for n in input_size)
        expected = conv_output_shape(self.border_mode, self.subsample, (None, None, *input_size), w.shape)
        check_output_grad("Conv2dGradInputs", gz.shape, expected)
        dtype = node.outputs[0].type.dtype
        pad = conv_padding(self.border_mode, w.shape[2:])
        grad = _correlate_grad_input(as_work_array(gz, dtype), self._kernels(w, dtype), input_size, pad, self.subsample)
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
        check_ndim("input", input, 4, "(batch, channels, rows, cols)")
        check_ndim("output gradient", output_grad, 4, "(batch, n_filters, rows, cols)")
        filter_size, (kr, kc) = size_vector("filter_size", filter_size)
        dtype = float_dtype("conv2d", input, output_grad)
        shape = (output_grad.type.shape[1], input.type.shape[1], kr, kc)
        return Apply(self, [input, output_grad, filter_size], [tensor(dtype=dtype, shape=shape)])

    def perform(self, node, inputs, output_storage):
        x, gz, filter_size = inputs
        kernel_shape = tuple(int(n) for n in filter_size)
        expected = conv_output_shape(self.border_mode, self.subsample, x.shape, (None, None, *kernel_shape))
        check_output_grad("Conv2dGradWeights", gz.shape, expected)
        dtype = node.outputs[0].type.dtype
        pad = conv_padding(self.border_mode, kernel_shape)
        grad = _correlate_grad_kernels(
            as_work_array(x, dtype), as_work_array(gz, dtype), kernel_shape, pad, self.subsample
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
