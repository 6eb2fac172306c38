"""Theano's ``conv2d`` and ``pool_2d`` for PyTensor.

PyTensor 3 dropped Theano's ``tensor.nnet.conv2d`` (batched 2-D convolution)
and ``tensor.signal.pool.pool_2d`` (pooling), which LeNet is built from.
This module provides both with Theano's semantics, so that the tutorial's
random filters, its pooling and the gradients (hence every printed error
rate) come out as they did:

- `conv2d` is a true convolution by default (``filter_flip=True``: the
  kernel is flipped, as in ``scipy.signal.convolve2d``), summed over input
  channels, with Theano's border modes and subsampling.
- `pool_2d` pools the last two axes with Theano's output sizes, including
  the partial windows kept at the border when ``ignore_border=False``; the
  gradient of max-pooling goes to every input equal to its window's maximum.

Each is an `Op` whose NumPy implementation does the work in a few large
array operations (a matrix product per convolution, one strided slice per
window offset for pooling), with gradient ops of the same kind.  They run
under every PyTensor backend: natively in the Python VM and the C backend,
and through Numba's object-mode fallback.
"""

import numpy
import pytensor
import pytensor.tensor as pt
from pytensor.graph.basic import Apply
from pytensor.graph.op import Op
from pytensor.link.numba.dispatch.basic import generate_fallback_impl, numba_funcify
from pytensor.tensor.type import TensorType

BORDER_MODES = ("valid", "full", "half")
POOL_MODES = ("max", "sum", "average_inc_pad", "average_exc_pad")


def _pair(name, value):
    """An (int, int) from an int or a pair of ints."""
    if isinstance(value, (int, numpy.integer)):
        value = (value, value)
    try:
        a, b = value
        return int(a), int(b)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}") from None


def _as_4d(name, x):
    x = pt.as_tensor_variable(x)
    if x.ndim != 4:
        raise ValueError(f"{name} must be a 4-D tensor (batch, channels, rows, columns), got ndim={x.ndim}")
    return x


def _float_inputs(*xs):
    """Cast the inputs to their common float dtype, as PyTensor's arithmetic does."""
    dtype = pytensor.scalar.upcast(*[x.dtype for x in xs])
    if not dtype.startswith("float"):
        dtype = pytensor.config.floatX
    return [pt.cast(x, dtype) if x.dtype != dtype else x for x in xs]


# --------------------------------------------------------------------------
# Convolution
# --------------------------------------------------------------------------


def _conv_out_size(size, k, pad, stride):
    if size is None or k is None:
        return None
    return (size + 2 * pad - k) // stride + 1


class _ConvBase(Op):
    """Shared parameters of the convolution and its gradients."""

    __props__ = ("pad", "subsample", "filter_flip")

    def __init__(self, pad, subsample, filter_flip):
        self.pad = pad
        self.subsample = subsample
        self.filter_flip = filter_flip

    def _kernel(self, w):
        return w[:, :, ::-1, ::-1] if self.filter_flip else w

    def _padded(self, x):
        pr, pc = self.pad
        if pr == 0 and pc == 0:
            return x
        return numpy.pad(x, ((0, 0), (0, 0), (pr, pr), (pc, pc)))

    def _out_shape(self, x_shape, w_shape):
        (sr, sc), (pr, pc) = self.subsample, self.pad
        return (
            x_shape[0],
            w_shape[0],
            (x_shape[2] + 2 * pr - w_shape[2]) // sr + 1,
            (x_shape[3] + 2 * pc - w_shape[3]) // sc + 1,
        )

    def _columns(self, xp, kr, kc, oh, ow):
        """im2col: a (channels*kr*kc, batch*oh*ow) matrix, one column per output position.

        Laid out so that each window offset (i, j) fills contiguous memory.
        """
        sr, sc = self.subsample
        b, c = xp.shape[:2]
        cols = numpy.empty((c, kr, kc, b, oh, ow), dtype=xp.dtype)
        for i in range(kr):
            for j in range(kc):
                cols[:, i, j] = xp[:, :, i : i + oh * sr : sr, j : j + ow * sc : sc].transpose(1, 0, 2, 3)
        return cols.reshape(c * kr * kc, b * oh * ow)


class Conv2d(_ConvBase):
    """Batched 2-D convolution: (batch, c, rows, cols) * (f, c, kr, kc) -> (batch, f, oh, ow)."""

    def make_node(self, x, w):
        x, w = _float_inputs(x, w)
        xs, ws = x.type.shape, w.type.shape
        if xs[1] is not None and ws[1] is not None and xs[1] != ws[1]:
            raise ValueError(f"conv2d: the input has {xs[1]} channels but the filters expect {ws[1]}")
        (pr, pc), (sr, sc) = self.pad, self.subsample
        shape = (xs[0], ws[0], _conv_out_size(xs[2], ws[2], pr, sr), _conv_out_size(xs[3], ws[3], pc, sc))
        if any(s is not None and s < 1 for s in shape):
            raise ValueError(f"conv2d: filters of shape {ws} do not fit in inputs of shape {xs} with padding {self.pad}")
        return Apply(self, [x, w], [TensorType(x.dtype, shape=shape)()])

    def perform(self, node, inputs, outputs):
        x, w = inputs
        if x.shape[1] != w.shape[1]:
            raise ValueError(f"conv2d: the input has {x.shape[1]} channels but the filters expect {w.shape[1]}")
        b, f, oh, ow = self._out_shape(x.shape, w.shape)
        if oh < 1 or ow < 1:
            raise ValueError(f"conv2d: filters of shape {w.shape} do not fit in inputs of shape {x.shape}")
        kr, kc = w.shape[2:]
        cols = self._columns(self._padded(x), kr, kc, oh, ow)
        out = self._kernel(w).reshape(f, -1) @ cols  # (f, batch*oh*ow)
        # Left in (filters, batch, ...) memory order: the next ops (pooling,
        # tanh, the next convolution) read it as fast as a copy would be.
        outputs[0][0] = out.reshape(f, b, oh, ow).transpose(1, 0, 2, 3)

    def infer_shape(self, fgraph, node, shapes):
        x, w = shapes
        (pr, pc), (sr, sc) = self.pad, self.subsample
        return [(x[0], w[0], (x[2] + 2 * pr - w[2]) // sr + 1, (x[3] + 2 * pc - w[3]) // sc + 1)]

    def pullback(self, inputs, outputs, output_grads):
        x, w = inputs
        (gz,) = output_grads
        props = (self.pad, self.subsample, self.filter_flip)
        return [Conv2dGradInputs(*props)(x, w, gz), Conv2dGradWeights(*props)(x, w, gz)]


class Conv2dGradInputs(_ConvBase):
    """Gradient of `Conv2d` with respect to its input."""

    def make_node(self, x, w, gz):
        x, w, gz = _float_inputs(x, w, gz)
        return Apply(self, [x, w, gz], [x.type()])

    def perform(self, node, inputs, outputs):
        x, w, gz = inputs
        sr, sc = self.subsample
        pr, pc = self.pad
        b, f, oh, ow = gz.shape
        kr, kc = w.shape[2:]
        # Each output position received sum(window * kernel): send gz back
        # through the same windows (col2im).
        kernel = self._kernel(w).reshape(f, -1)
        gz_rows = gz.transpose(1, 0, 2, 3).reshape(f, -1)
        gcols = (kernel.T @ gz_rows).reshape(x.shape[1], kr, kc, b, oh, ow)
        # Accumulate in (channels, batch, ...) memory order, like gcols.
        gxp = numpy.zeros((x.shape[1], b, x.shape[2] + 2 * pr, x.shape[3] + 2 * pc), dtype=x.dtype)
        for i in range(kr):
            for j in range(kc):
                gxp[:, :, i : i + oh * sr : sr, j : j + ow * sc : sc] += gcols[:, i, j]
        outputs[0][0] = gxp[:, :, pr : pr + x.shape[2], pc : pc + x.shape[3]].transpose(1, 0, 2, 3)

    def infer_shape(self, fgraph, node, shapes):
        return [shapes[0]]


class Conv2dGradWeights(_ConvBase):
    """Gradient of `Conv2d` with respect to its filters."""

    def make_node(self, x, w, gz):
        x, w, gz = _float_inputs(x, w, gz)
        return Apply(self, [x, w, gz], [w.type()])

    def perform(self, node, inputs, outputs):
        x, w, gz = inputs
        b, f, oh, ow = gz.shape
        kr, kc = w.shape[2:]
        cols = self._columns(self._padded(x), kr, kc, oh, ow)
        gz_rows = gz.transpose(1, 0, 2, 3).reshape(f, -1)
        # (cols @ gz_rows.T).T rather than gz_rows @ cols.T: the same product,
        # but OpenBLAS is two orders of magnitude slower on the latter shape.
        gkernel = (cols @ gz_rows.T).T.reshape(w.shape)
        outputs[0][0] = numpy.ascontiguousarray(self._kernel(gkernel))

    def infer_shape(self, fgraph, node, shapes):
        return [shapes[1]]


def _check_shape(name, given, var):
    """Check a user-given shape tuple against a variable's static shape."""
    if given is None:
        return var
    given = tuple(given)
    if len(given) != 4:
        raise ValueError(f"conv2d: {name} must have 4 entries, got {given!r}")
    for g, s in zip(given, var.type.shape):
        if g is not None and s is not None and g != s:
            raise ValueError(f"conv2d: {name}={given} does not match the tensor's shape {var.type.shape}")
    return pt.specify_shape(var, given)


def conv2d(input, filters, input_shape=None, filter_shape=None, border_mode="valid", subsample=(1, 1), filter_flip=True):
    """2-D convolution of a minibatch of images with a bank of filters, as Theano's.

    :param input: 4-D tensor (batch, channels, rows, columns)
    :param filters: 4-D tensor (n_filters, channels, filter rows, filter columns)
    :param input_shape, filter_shape: the shapes, when known (entries may be
        None); checked against the data and used for static shapes
    :param border_mode: 'valid' (no padding), 'full' (pad by filter size - 1),
        'half' (pad by filter size // 2), or an int / pair of ints of padding
    :param subsample: strides (rows, columns)
    :param filter_flip: True for a true convolution (flipped kernel), False
        for a cross-correlation
    :returns: 4-D tensor (batch, n_filters, output rows, output columns)
    """
    input = _check_shape("input_shape", input_shape, _as_4d("conv2d input", input))
    filters = _check_shape("filter_shape", filter_shape, _as_4d("conv2d filters", filters))
    if input.type.shape[1] is not None and filters.type.shape[1] is not None and input.type.shape[1] != filters.type.shape[1]:
        raise ValueError(
            f"conv2d: the input has {input.type.shape[1]} channels but the filters expect {filters.type.shape[1]}"
        )
    if isinstance(border_mode, str):
        if border_mode not in BORDER_MODES:
            raise ValueError(f"conv2d: unknown border_mode {border_mode!r}; use one of {BORDER_MODES} or an int pair")
        kr, kc = filters.type.shape[2:]
        if border_mode != "valid" and (kr is None or kc is None):
            raise ValueError(f"conv2d: border_mode={border_mode!r} needs the filter size; give filter_shape")
        pad = {"valid": (0, 0), "full": (kr - 1, kc - 1) if kr else None, "half": (kr // 2, kc // 2) if kr else None}[
            border_mode
        ]
    else:
        pad = _pair("border_mode", border_mode)
        if min(pad) < 0:
            raise ValueError(f"conv2d: padding must be >= 0, got {pad}")
    subsample = _pair("subsample", subsample)
    if min(subsample) < 1:
        raise ValueError(f"conv2d: subsample must be >= 1, got {subsample}")
    return Conv2d(pad, subsample, bool(filter_flip))(input, filters)


# --------------------------------------------------------------------------
# Pooling
# --------------------------------------------------------------------------


def _memory_order(x):
    """Axis order in which ``x`` is laid out in memory, the last two axes kept last.

    Our convolution returns (batch, maps, ...) views of (maps, batch, ...)
    arrays; reading them in memory order avoids copies.
    """
    lead = sorted(range(x.ndim - 2), key=lambda a: -x.strides[a])
    return tuple(lead) + (x.ndim - 2, x.ndim - 1)


def _pool_out_size(size, ws, st, pad, ignore_border):
    """Theano's number of pooling windows along one axis."""
    if ignore_border:
        return (size + 2 * pad - ws) // st + 1
    if st >= ws:
        return (size - 1) // st + 1
    return max(0, (size - ws + st - 1) // st) + 1


class _PoolBase(Op):
    __props__ = ("ws", "ignore_border", "stride", "pad", "mode")

    def __init__(self, ws, ignore_border, stride, pad, mode):
        self.ws = ws
        self.ignore_border = ignore_border
        self.stride = stride
        self.pad = pad
        self.mode = mode

    def _geometry(self, shape):
        """Output size, and the size of the padded-and-extended input the windows read."""
        oh, ow = (
            _pool_out_size(n, w, s, p, self.ignore_border)
            for n, w, s, p in zip(shape[-2:], self.ws, self.stride, self.pad)
        )
        eh = max((oh - 1) * self.stride[0] + self.ws[0], shape[-2] + 2 * self.pad[0])
        ew = max((ow - 1) * self.stride[1] + self.ws[1], shape[-1] + 2 * self.pad[1])
        return oh, ow, eh, ew

    def _extended(self, x, eh, ew, fill):
        """x inside a frame of ``fill``: the padding, then room for partial windows."""
        (ph, pw) = self.pad
        if (eh, ew) == x.shape[-2:]:
            return x
        ext = numpy.full(x.shape[:-2] + (eh, ew), fill, dtype=x.dtype)
        ext[..., ph : ph + x.shape[-2], pw : pw + x.shape[-1]] = x
        return ext

    def _offsets(self, oh, ow):
        """For each offset in the window, the slices that read it in every window."""
        (sh, sw) = self.stride
        for i in range(self.ws[0]):
            for j in range(self.ws[1]):
                yield (Ellipsis, slice(i, i + (oh - 1) * sh + 1, sh), slice(j, j + (ow - 1) * sw + 1, sw))

    def _tiles(self, x):
        """C-contiguous ``x`` seen as (..., oh, ws0, ow, ws1) when the windows tile it exactly.

        That is the common case (LeNet's 2x2 pooling of even-sized maps), where
        the max-pool gradient is one broadcast comparison instead of a loop
        over window offsets.  None otherwise.
        """
        (h, w), (wh, ww) = x.shape[-2:], self.ws
        if self.stride != self.ws or self.pad != (0, 0) or h % wh or w % ww:
            return None
        if not x.flags.c_contiguous:
            return None
        return x.reshape(x.shape[:-2] + (h // wh, wh, w // ww, ww))

    def _divisor(self, shape, oh, ow, eh, ew):
        """Cells each window averages over (average modes only).

        As in Theano, partial windows at the border count only the cells of
        the (padded) image they cover; 'average_exc_pad' also leaves out the
        padding.
        """
        (ph, pw) = self.pad
        h, w = shape[-2:]
        inside = numpy.zeros((eh, ew))
        if self.mode == "average_inc_pad":
            inside[: h + 2 * ph, : w + 2 * pw] = 1
        else:
            inside[ph : ph + h, pw : pw + w] = 1
        count = sum(inside[idx[1:]] for idx in self._offsets(oh, ow))
        return numpy.maximum(count, 1)


class Pool(_PoolBase):
    """Pooling over the last two axes of a tensor, with Theano's semantics."""

    def make_node(self, x):
        x = pt.as_tensor_variable(x)
        shape = list(x.type.shape)
        for axis in (-2, -1):
            n = shape[axis]
            if n is not None:
                out = _pool_out_size(n, self.ws[axis], self.stride[axis], self.pad[axis], self.ignore_border)
                if out < 1:
                    raise ValueError(
                        f"pool_2d: window {self.ws} is larger than the input ({x.type.shape[-2:]}"
                        f" plus padding {self.pad}); use a smaller window or ignore_border=False"
                    )
                shape[axis] = out
        return Apply(self, [x], [TensorType(x.dtype, shape=tuple(shape))()])

    def perform(self, node, inputs, outputs):
        (x,) = inputs
        oh, ow, eh, ew = self._geometry(x.shape)
        if oh < 1 or ow < 1:
            raise ValueError(f"pool_2d: window {self.ws} is larger than the input {x.shape[-2:]}")
        if self.mode == "max":
            # Padding and the space past the border never win a max.
            ext = self._extended(x, eh, ew, -numpy.inf)
            out = None
            for idx in self._offsets(oh, ow):
                out = ext[idx].copy(order="K") if out is None else numpy.maximum(out, ext[idx], out=out)
        else:
            ext = self._extended(x, eh, ew, 0)
            out = numpy.zeros(x.shape[:-2] + (oh, ow), dtype=x.dtype)
            for idx in self._offsets(oh, ow):
                out += ext[idx]
            if self.mode != "sum":
                out /= self._divisor(x.shape, oh, ow, eh, ew).astype(x.dtype)
        outputs[0][0] = out

    def infer_shape(self, fgraph, node, shapes):
        (shape,) = shapes
        out = [
            pt.maximum(0, (n - w + s - 1) // s) + 1 if (not self.ignore_border and s < w)
            else (n - 1) // s + 1 if not self.ignore_border
            else (n + 2 * p - w) // s + 1
            for n, w, s, p in zip(shape[-2:], self.ws, self.stride, self.pad)
        ]
        return [tuple(shape[:-2]) + tuple(out)]

    def pullback(self, inputs, outputs, output_grads):
        (x,), (z,), (gz,) = inputs, outputs, output_grads
        props = (self.ws, self.ignore_border, self.stride, self.pad, self.mode)
        return [PoolGrad(*props)(x, z, gz)]


class PoolGrad(_PoolBase):
    """Gradient of `Pool` with respect to its input."""

    def make_node(self, x, z, gz):
        x, z, gz = (pt.as_tensor_variable(v) for v in (x, z, gz))
        return Apply(self, [x, z, gz], [x.type()])

    def perform(self, node, inputs, outputs):
        x, z, gz = inputs
        oh, ow, eh, ew = self._geometry(x.shape)
        # In the arrays' memory order the tiling reshape is free.
        order = _memory_order(x)
        tiles = self._tiles(x.transpose(order))
        if self.mode == "max" and tiles is not None:
            z, gz = z.transpose(order), gz.transpose(order)
            hit = tiles == z[..., :, None, :, None]
            g = (hit * gz[..., :, None, :, None]).reshape(z.shape[:-2] + x.shape[-2:])
            outputs[0][0] = g.transpose(numpy.argsort(order))
            return
        gext = numpy.zeros(x.shape[:-2] + (eh, ew), dtype=x.dtype)
        if self.mode == "max":
            # Every input equal to its window's maximum gets the gradient.
            ext = self._extended(x, eh, ew, -numpy.inf)
            for idx in self._offsets(oh, ow):
                gext[idx] += numpy.where(ext[idx] == z, gz, 0)
        else:
            g = gz if self.mode == "sum" else gz / self._divisor(x.shape, oh, ow, eh, ew).astype(x.dtype)
            for idx in self._offsets(oh, ow):
                gext[idx] += g
        (ph, pw) = self.pad
        outputs[0][0] = numpy.ascontiguousarray(gext[..., ph : ph + x.shape[-2], pw : pw + x.shape[-1]])

    def infer_shape(self, fgraph, node, shapes):
        return [shapes[0]]


def pool_2d(input, ws, ignore_border=True, stride=None, pad=(0, 0), mode="max"):
    """Pool the last two axes of ``input`` in windows of ``ws``, as Theano's.

    :param input: tensor with at least 2 dimensions (e.g. batch, maps, rows, columns)
    :param ws: window size (rows, columns)
    :param ignore_border: True drops the partial windows at the bottom and
        right borders; False keeps them (only without padding)
    :param stride: step between windows (default: ``ws``, no overlap)
    :param pad: zero padding (rows, columns) on both sides of each axis
    :param mode: 'max', 'sum', 'average_inc_pad' (padding counts in the
        average) or 'average_exc_pad'
    """
    input = pt.as_tensor_variable(input)
    if input.ndim < 2:
        raise ValueError(f"pool_2d: the input must have at least 2 dimensions, got ndim={input.ndim}")
    if mode not in POOL_MODES:
        raise ValueError(f"pool_2d: unknown mode {mode!r}; use one of {POOL_MODES}")
    ws = _pair("ws", ws)
    stride = ws if stride is None else _pair("stride", stride)
    pad = _pair("pad", pad)
    if min(ws) < 1 or min(stride) < 1 or min(pad) < 0:
        raise ValueError(f"pool_2d: ws and stride must be >= 1 and pad >= 0, got ws={ws}, stride={stride}, pad={pad}")
    if pad != (0, 0) and not ignore_border:
        raise ValueError("pool_2d: padding requires ignore_border=True (as in Theano)")
    if pad[0] >= ws[0] or pad[1] >= ws[1]:
        raise ValueError(f"pool_2d: padding {pad} must be smaller than the window {ws}")
    return Pool(ws, bool(ignore_border), stride, pad, mode)(input)


# --------------------------------------------------------------------------
# Numba backend
# --------------------------------------------------------------------------


@numba_funcify.register(_ConvBase)
@numba_funcify.register(_PoolBase)
def _numba_object_mode(op, node, **kwargs):
    """Run our ops' NumPy code from Numba-compiled graphs (object mode).

    PyTensor's generic fallback keeps the graph node in the compiled
    function, and with it the whole graph up to the shared variables: the
    tutorials' datasets would be serialised into the generated code (tens
    of gigabytes).  A copy of the node on fresh, unconnected inputs of the
    same types carries only what ``perform`` needs.
    """
    detached = op.make_node(*[inp.type() for inp in node.inputs])
    return generate_fallback_impl(op, detached, **kwargs)
