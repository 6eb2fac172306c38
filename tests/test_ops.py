"""Tests of deeplearning_tutorial.ops: Theano's conv2d and pool_2d on PyTensor.

Compiled results are compared with plain-loop NumPy references written for
clarity, gradients with finite differences (`verify_grad`), and every
argument error is checked while the graph is built.
"""

import warnings

import numpy
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.gradient import verify_grad
from scipy.signal import convolve2d

from deeplearning_tutorial import ops
from deeplearning_tutorial.modes import NUMPY
from deeplearning_tutorial.ops import conv2d, pool_2d

# The tutorials' own mode (PyTensor's Python VM running each op's perform),
# and the C backend.
PY = NUMPY
LINKERS = [pytest.param(PY, id="py"), pytest.param("CVM", id="cvm")]
TOLERANCE = {"float64": 1e-12, "float32": 1e-5}
DTYPES = ["float64", "float32"]


def T4(*shape, dtype="float64"):
    """A symbolic 4-d tensor, with the static shape given (if any)."""
    return pt.tensor4(shape=shape or (None,) * 4, dtype=dtype)


def compiled(inputs, outputs, mode):
    return pytensor.function(inputs, outputs, mode=mode)


def assert_close(result, expected, dtype):
    assert result.dtype == dtype
    numpy.testing.assert_allclose(result, expected, rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype])


# -- references: one output value at a time, written for clarity only ------


def reference_padding(border_mode, kernel_shape):
    kr, kc = kernel_shape
    named = {"valid": (0, 0), "full": (kr - 1, kc - 1), "half": (kr // 2, kc // 2)}
    if isinstance(border_mode, str):
        return named[border_mode]
    if isinstance(border_mode, int):
        return (border_mode, border_mode)
    return tuple(border_mode)


def reference_conv2d(x, w, border_mode="valid", subsample=(1, 1), filter_flip=True):
    """out[b, f, i, j] = sum(window at (i*sr, j*sc) of the padded image * kernel f)."""
    kr, kc = w.shape[2:]
    if filter_flip:
        w = w[:, :, ::-1, ::-1]
    (pr, pc), (sr, sc) = reference_padding(border_mode, (kr, kc)), subsample
    padded = numpy.zeros(x.shape[:2] + (x.shape[2] + 2 * pr, x.shape[3] + 2 * pc))
    padded[:, :, pr : pr + x.shape[2], pc : pc + x.shape[3]] = x
    rows = (padded.shape[2] - kr) // sr + 1
    cols = (padded.shape[3] - kc) // sc + 1
    out = numpy.zeros((x.shape[0], w.shape[0], rows, cols))
    for b in range(x.shape[0]):
        for f in range(w.shape[0]):
            for i in range(rows):
                for j in range(cols):
                    window = padded[b, :, i * sr : i * sr + kr, j * sc : j * sc + kc]
                    out[b, f, i, j] = (window * w[f]).sum()
    return out


def reference_windows(size, ws, stride, pad, ignore_border):
    """(start, stop) of each window along one axis, in padded coordinates."""
    if ignore_border:
        starts = range(0, size + 2 * pad - ws + 1, stride)
    else:
        # Theano keeps starting windows (partial ones included) while the
        # previous window has not reached the last cell.
        starts = [0]
        while starts[-1] + ws < size and starts[-1] + stride < size:
            starts.append(starts[-1] + stride)
    return [(start, start + ws) for start in starts]


def reference_pool(x, ws, ignore_border=True, stride=None, pad=(0, 0), mode="max"):
    stride = stride or ws
    h, w = x.shape[-2:]
    row_windows = reference_windows(h, ws[0], stride[0], pad[0], ignore_border)
    col_windows = reference_windows(w, ws[1], stride[1], pad[1], ignore_border)
    out = numpy.zeros(x.shape[:-2] + (len(row_windows), len(col_windows)))
    for index in numpy.ndindex(*x.shape[:-2]):
        for i, (r0, r1) in enumerate(row_windows):
            for j, (c0, c1) in enumerate(col_windows):
                # The data cells of the window (data sits at [pad, pad + size)).
                cells = x[index][max(r0 - pad[0], 0) : min(r1 - pad[0], h), max(c0 - pad[1], 0) : min(c1 - pad[1], w)]
                if mode == "max":
                    value = cells.max()
                elif mode == "sum":
                    value = cells.sum()
                elif mode == "average_exc_pad":
                    value = cells.sum() / cells.size
                else:  # average_inc_pad: padding cells count, cells beyond the padded image do not
                    inside = (min(r1, h + 2 * pad[0]) - r0) * (min(c1, w + 2 * pad[1]) - c0)
                    value = cells.sum() / inside
                out[index + (i, j)] = value
    return out


# -- conv2d ------------------------------------------------------------------

BORDER_MODES = ["valid", "full", "half", 1, (2, 1)]


@pytest.mark.parametrize("linker", LINKERS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("filter_flip", [True, False])
@pytest.mark.parametrize("subsample", [(1, 1), (2, 3)])
@pytest.mark.parametrize("border_mode", BORDER_MODES)
def test_conv2d_matches_reference(border_mode, subsample, filter_flip, dtype, linker):
    rng = numpy.random.RandomState(42)
    x = rng.uniform(-1, 1, (2, 3, 7, 9)).astype(dtype)
    w = rng.uniform(-1, 1, (4, 3, 3, 2)).astype(dtype)
    X, W = pt.tensor4(dtype=dtype), pt.tensor4(dtype=dtype)
    out = conv2d(X, W, border_mode=border_mode, subsample=subsample, filter_flip=filter_flip)
    result = compiled([X, W], out, linker)(x, w)
    assert_close(result, reference_conv2d(x, w, border_mode, subsample, filter_flip), dtype)
    assert result.flags.c_contiguous


def test_conv2d_is_scipy_convolution_summed_over_channels():
    rng = numpy.random.RandomState(3)
    x, w = rng.randn(2, 3, 8, 7), rng.randn(4, 3, 3, 4)
    X, W = pt.tensor4(), pt.tensor4()
    for border_mode in ("valid", "full"):
        result = compiled([X, W], conv2d(X, W, border_mode=border_mode), PY)(x, w)
        for b, f in numpy.ndindex(2, 4):
            expected = sum(convolve2d(x[b, c], w[f, c], mode=border_mode) for c in range(3))
            numpy.testing.assert_allclose(result[b, f], expected, rtol=1e-12, atol=1e-12)


@pytest.fixture(params=["channels-last", "channel-major"])
def patch_layout(request, monkeypatch):
    """Force each memory layout of the patch matrix, and one image per chunk."""
    monkeypatch.setattr(ops, "_channels_last", lambda *args: request.param == "channels-last")
    monkeypatch.setattr(ops, "_CHUNK_BYTES", 1)
    return request.param


@pytest.mark.parametrize("border_mode, subsample", [("valid", (1, 1)), ("full", (2, 1)), ((1, 2), (1, 3))])
def test_conv2d_every_layout_and_chunking(patch_layout, border_mode, subsample):
    rng = numpy.random.RandomState(8)
    x, w = rng.randn(3, 2, 6, 7), rng.randn(3, 2, 3, 2)
    X, W = pt.tensor4(), pt.tensor4()
    result = compiled([X, W], conv2d(X, W, border_mode=border_mode, subsample=subsample), PY)(x, w)
    numpy.testing.assert_allclose(result, reference_conv2d(x, w, border_mode, subsample), rtol=1e-12, atol=1e-12)
    verify_grad(lambda a, b: conv2d(a, b, border_mode=border_mode, subsample=subsample), [x, w], rng=rng, mode=PY)


@pytest.mark.parametrize("linker", LINKERS)
@pytest.mark.parametrize(
    "border_mode, subsample, filter_flip",
    [("valid", (1, 1), True), ("full", (1, 1), False), ("half", (2, 2), True), ((1, 2), (3, 2), True)],
)
def test_conv2d_gradients(border_mode, subsample, filter_flip, linker):
    rng = numpy.random.RandomState(11)
    x, w = rng.randn(2, 3, 6, 7), rng.randn(2, 3, 3, 2)
    verify_grad(
        lambda a, b: conv2d(a, b, border_mode=border_mode, subsample=subsample, filter_flip=filter_flip),
        [x, w],
        rng=rng,
        mode=linker,
    )


@pytest.mark.parametrize("linker", LINKERS)
def test_conv2d_float32_stays_float32_and_mixed_dtypes_upcast(linker):
    X32, W32, W64 = pt.tensor4(dtype="float32"), pt.tensor4(dtype="float32"), pt.tensor4(dtype="float64")
    out = conv2d(X32, W32)
    assert out.dtype == "float32"
    grads = pytensor.grad(out.sum(), [X32, W32])
    assert [g.dtype for g in grads] == ["float32", "float32"]
    x, w = numpy.ones((1, 1, 4, 4), "float32"), numpy.ones((1, 1, 2, 2), "float32")
    values = compiled([X32, W32], [out, *grads], linker)(x, w)
    assert [v.dtype for v in values] == ["float32"] * 3
    numpy.testing.assert_array_equal(values[0], numpy.full((1, 1, 3, 3), 4.0))
    mixed = conv2d(X32, W64)
    assert mixed.dtype == "float64"
    assert pytensor.grad(mixed.sum(), X32).dtype == "float32"


def test_conv2d_static_shapes_from_the_data_and_from_the_hints():
    X = pt.tensor4(shape=(None, 1, 28, 28))
    W = pt.tensor4(shape=(20, 1, 5, 5))
    assert conv2d(X, W).type.shape == (None, 20, 24, 24)
    assert conv2d(X, W, border_mode="full", subsample=(2, 2)).type.shape == (None, 20, 16, 16)
    hinted = conv2d(pt.tensor4(), pt.tensor4(), input_shape=(500, 1, 28, 28), filter_shape=(20, 1, 5, 5))
    assert hinted.type.shape == (500, 20, 24, 24)
    partly = conv2d(pt.tensor4(), pt.tensor4(), input_shape=(None, 1, None, 28), filter_shape=(20, 1, 5, 5))
    assert partly.type.shape == (None, 20, None, 24)


def test_conv2d_gradients_keep_the_static_shapes():
    X, W = pt.tensor4(shape=(8, 3, 10, 9)), pt.tensor4(shape=(4, 3, 3, 2))
    gx, gw = pytensor.grad(conv2d(X, W, subsample=(2, 2)).sum(), [X, W])
    assert gx.type.shape == X.type.shape and gw.type.shape == W.type.shape


def test_conv2d_takes_arrays_and_gradient_ops_check_their_inputs():
    rng = numpy.random.RandomState(6)
    x, w = rng.randn(1, 2, 5, 5), rng.randn(2, 2, 3, 3)
    numpy.testing.assert_allclose(compiled([], conv2d(x, w), PY)(), reference_conv2d(x, w), rtol=1e-12)
    W, G = pt.tensor4(), pt.tensor4()
    f = compiled([W, G], ops.Conv2dGradInputs()(W, G, [6, 6]), PY)
    assert f(numpy.ones((2, 3, 3, 3)), numpy.ones((1, 2, 4, 4))).shape == (1, 3, 6, 6)
    message = r"output gradient of shape \(1, 2, 5, 4\), but the convolution gives \(None, 2, 4, 4\)"
    with pytest.raises(ValueError, match=message):
        f(numpy.ones((2, 3, 3, 3)), numpy.ones((1, 2, 5, 4)))
    with pytest.raises(TypeError, match="input_size must be an integer vector of 2 elements"):
        ops.Conv2dGradInputs()(W, G, [6.0, 6.0])


def test_conv2d_shape_is_inferred_without_running_the_ops():
    X, W = pt.tensor4(), pt.tensor4()
    out = conv2d(X, W, border_mode=(1, 2), subsample=(2, 3))
    gx, gw = pytensor.grad(out.sum(), [X, W])
    f = compiled([X, W], [out.shape, gx.shape, gw.shape], PY)
    assert not any(isinstance(node.op, ops._ConvBase) for node in f.maker.fgraph.toposort())
    out_shape, gx_shape, gw_shape = f(numpy.zeros((2, 3, 9, 10)), numpy.zeros((4, 3, 3, 2)))
    assert tuple(out_shape) == (2, 4, 5, 5)
    assert tuple(gx_shape) == (2, 3, 9, 10)
    assert tuple(gw_shape) == (4, 3, 3, 2)


@pytest.mark.parametrize(
    "x, w, message",
    [
        (pt.tensor3(), T4(), "conv2d input must be a 4-d tensor"),
        (T4(), pt.matrix(), "conv2d filters must be a 4-d tensor"),
        (T4(dtype="int32"), T4(dtype="int64"), "works on floating-point tensors, got int32 and int64"),
    ],
)
def test_conv2d_bad_tensors_fail_when_building_the_graph(x, w, message):
    with pytest.raises(TypeError, match=message):
        conv2d(x, w)


@pytest.mark.parametrize(
    "x, w, kwargs, message",
    [
        (T4(None, 3, None, None), T4(4, 2, 3, 3), {}, "the input has 3 channels but the filters expect 2"),
        (T4(), T4(), {"input_shape": (None, 3, 8, 8), "filter_shape": (4, 2, 3, 3)}, "input has 3 channels"),
        (
            T4(None, 1, 28, 28),
            T4(),
            {"input_shape": (None, 1, 32, 32)},
            r"input_shape=\(None, 1, 32, 32\) does not match the inputs' shape \(None, 1, 28, 28\)",
        ),
        (T4(1, 1, 4, 9), T4(1, 1, 5, 3), {}, "filters of 5 rows do not fit in an input of 4 rows"),
        (
            T4(),
            T4(),
            {"input_shape": (1, 1, 9, 2), "filter_shape": (1, 1, 3, 5), "border_mode": 1},
            r"filters of 5 columns do not fit in an input of 4 columns \(padding included\)",
        ),
        (T4(), T4(), {"border_mode": "same"}, "border_mode must be 'valid', 'full', 'half', an integer >= 0"),
        (T4(), T4(), {"border_mode": (1, -1)}, "border_mode must be"),
        (T4(), T4(), {"subsample": (0, 1)}, "subsample must be a pair of integers >= 1"),
        (T4(), T4(), {"subsample": 2}, "subsample must be a pair"),
        (T4(), T4(), {"filter_flip": "yes"}, "filter_flip must be True or False"),
        (T4(), T4(), {"input_shape": (1, 28, 28)}, "input_shape must be 4 entries"),
        (T4(), T4(), {"filter_shape": (1, 1, 0, 5)}, "filter_shape must be 4 entries, each a positive integer or None"),
    ],
)
def test_conv2d_bad_arguments_fail_when_building_the_graph(x, w, kwargs, message):
    with pytest.raises(ValueError, match=message):
        conv2d(x, w, **kwargs)


@pytest.mark.parametrize(
    "x_shape, w_shape, kwargs, message",
    [
        ((2, 3, 8, 8), (4, 2, 3, 3), {}, "input has 3 channels but the filters expect 2"),
        (
            (2, 1, 8, 8),
            (1, 1, 3, 3),
            {"input_shape": (2, 1, 7, 8)},
            r"input_shape=\(2, 1, 7, 8\) but the inputs have shape \(2, 1, 8, 8\)",
        ),
        (
            (2, 1, 8, 8),
            (1, 1, 3, 3),
            {"filter_shape": (2, 1, 3, 3)},
            r"filter_shape=\(2, 1, 3, 3\) but the filters have shape \(1, 1, 3, 3\)",
        ),
        ((2, 1, 8, 3), (1, 1, 3, 4), {}, "filters of 4 columns do not fit in an input of 3 columns"),
    ],
)
def test_conv2d_data_that_contradicts_the_graph_fails_clearly(x_shape, w_shape, kwargs, message):
    X, W = pt.tensor4(), pt.tensor4()
    f = compiled([X, W], conv2d(X, W, **kwargs), PY)
    with pytest.raises(ValueError, match=message):
        f(numpy.zeros(x_shape), numpy.zeros(w_shape))


# -- pool_2d -----------------------------------------------------------------

# (ws, stride, pad) for each value of ignore_border
POOL_CASES = {
    True: [((2, 2), None, (0, 0)), ((3, 2), (1, 2), (0, 0)), ((3, 3), (2, 1), (1, 2)), ((2, 3), (3, 2), (1, 0))],
    False: [((2, 2), None, (0, 0)), ((3, 2), (1, 2), (0, 0)), ((2, 2), (3, 3), (0, 0)), ((3, 4), (2, 3), (0, 0))],
}
POOL_PARAMS = [(ignore_border, *case) for ignore_border, cases in POOL_CASES.items() for case in cases]


@pytest.mark.parametrize("linker", LINKERS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", ops.POOL_MODES)
@pytest.mark.parametrize("ignore_border, ws, stride, pad", POOL_PARAMS)
def test_pool_2d_matches_reference(ignore_border, ws, stride, pad, mode, dtype, linker):
    x = numpy.random.RandomState(1).randn(2, 3, 7, 8).astype(dtype)
    X = pt.tensor4(dtype=dtype)
    out = pool_2d(X, ws, ignore_border=ignore_border, stride=stride, pad=pad, mode=mode)
    result = compiled([X], out, linker)(x)
    assert_close(result, reference_pool(x, ws, ignore_border, stride, pad, mode), dtype)
    assert result.flags.c_contiguous


@pytest.mark.parametrize("shape", [(7, 8), (2, 7, 8), (1, 2, 2, 7, 8)])
def test_pool_2d_pools_the_last_two_axes_of_any_tensor(shape):
    x = numpy.random.RandomState(2).randn(*shape)
    X = pt.tensor(shape=(None,) * len(shape))
    result = compiled([X], pool_2d(X, (3, 2), ignore_border=False, mode="average_exc_pad"), PY)(x)
    numpy.testing.assert_allclose(result, reference_pool(x, (3, 2), False, mode="average_exc_pad"), rtol=1e-12)


@pytest.mark.parametrize("linker", LINKERS)
@pytest.mark.parametrize("mode", ops.POOL_MODES)
@pytest.mark.parametrize(
    "ignore_border, ws, stride, pad",
    [(True, (2, 2), None, (0, 0)), (True, (3, 2), (2, 1), (1, 1)), (False, (3, 2), (2, 3), (0, 0))],
)
def test_pool_2d_gradients(ignore_border, ws, stride, pad, mode, linker):
    rng = numpy.random.RandomState(5)
    # Distinct values: no ties, so the max is differentiable at this point.
    x = rng.permutation(2 * 2 * 7 * 8).reshape(2, 2, 7, 8) / 10.0
    verify_grad(
        lambda a: pool_2d(a, ws, ignore_border=ignore_border, stride=stride, pad=pad, mode=mode),
        [x],
        rng=rng,
        mode=linker,
    )


@pytest.mark.parametrize("linker", LINKERS)
def test_max_pool_gradient_goes_to_every_tied_maximum(linker):
    X = pt.matrix()
    x = numpy.array([[1.0, 3.0, 0.0, 0.0], [3.0, 3.0, 0.0, 0.0]])
    # Disjoint 2x2 windows: three 3s tie in the first, four 0s in the second.
    disjoint = compiled([X], pytensor.grad(pool_2d(X, (2, 2)).sum(), X), linker)(x)
    numpy.testing.assert_array_equal(disjoint, [[0, 1, 1, 1], [1, 1, 1, 1]])
    # Overlapping 1x2 windows: a cell gets the gradient of every window it is a max of.
    overlapping = compiled([X], pytensor.grad(pool_2d(X, (1, 2), stride=(1, 1)).sum(), X), linker)(x)
    numpy.testing.assert_array_equal(overlapping, [[0, 2, 1, 1], [1, 2, 1, 1]])


@pytest.mark.parametrize("linker", LINKERS)
def test_pool_2d_float32_stays_float32(linker):
    X = pt.tensor4(dtype="float32")
    for mode in ops.POOL_MODES:
        out = pool_2d(X, (2, 2), mode=mode)
        grad = pytensor.grad(out.sum(), X)
        values = compiled([X], [out, grad], linker)(numpy.ones((1, 1, 4, 4), "float32"))
        assert [v.dtype for v in values] == ["float32", "float32"]


def test_theano_documentation_max_pool_example():
    """The example of Theano's LeNet tutorial, on numpy.random.RandomState(1) data."""
    invals = numpy.random.RandomState(1).rand(3, 2, 5, 5)
    X = pt.tensor4()
    kept = compiled([X], pool_2d(X, (2, 2), ignore_border=True), PY)(invals)
    numpy.testing.assert_allclose(kept[0, 0], [[0.72032449, 0.39676747], [0.6852195, 0.87811744]], atol=5e-9)
    partial = compiled([X], pool_2d(X, (2, 2), ignore_border=False), PY)(invals)
    # The values the Theano tutorial printed for this case (a max-pool can
    # only return input values, and these are invals[1, 0]'s window maxima).
    expected = [
        [0.67883553, 0.58930554, 0.69975836],
        [0.66379465, 0.94459476, 0.58655504],
        [0.90340192, 0.80739129, 0.39767684],
    ]
    numpy.testing.assert_allclose(partial[1, 0], expected, atol=5e-9)
    assert numpy.isin(partial, invals).all()


def test_pool_2d_shapes_static_and_inferred():
    X = pt.tensor4(shape=(None, 20, 24, 24))
    assert pool_2d(X, (2, 2)).type.shape == (None, 20, 12, 12)
    assert pool_2d(X, (5, 3), ignore_border=False, stride=(2, 4)).type.shape == (None, 20, 11, 6)
    Y = pt.tensor4()
    out = pool_2d(Y, (3, 2), ignore_border=False, stride=(1, 3))
    f = compiled([Y], [out.shape, pytensor.grad(out.sum(), Y).shape], PY)
    assert not any(isinstance(node.op, ops._PoolBase) for node in f.maker.fgraph.toposort())
    out_shape, grad_shape = f(numpy.zeros((2, 3, 7, 8)))
    assert tuple(out_shape) == reference_pool(numpy.zeros((2, 3, 7, 8)), (3, 2), False, (1, 3)).shape
    assert tuple(grad_shape) == (2, 3, 7, 8)


@pytest.mark.parametrize(
    "x, message",
    [
        (pt.vector(), "pool_2d needs a tensor of 2 or more dimensions, got 1"),
        (T4(dtype="int64"), "pool_2d works on floating-point tensors, got int64"),
    ],
)
def test_pool_2d_bad_tensors_fail_when_building_the_graph(x, message):
    with pytest.raises(TypeError, match=message):
        pool_2d(x, (2, 2))


@pytest.mark.parametrize(
    "x, kwargs, message",
    [
        (T4(), {"ws": (2, 2), "mode": "average"}, "mode must be one of max, sum, average_inc_pad, average_exc_pad"),
        (T4(), {"ws": (0, 2)}, r"ws must be a pair of integers >= 1, got \(0, 2\)"),
        (T4(), {"ws": 2}, "ws must be a pair of integers"),
        (T4(), {"ws": (2, 2), "stride": (2, 0)}, "stride must be a pair of integers >= 1"),
        (T4(), {"ws": (2, 2), "pad": (-1, 0)}, "pad must be a pair of integers >= 0"),
        (T4(), {"ws": (2, 2), "pad": (1, 1), "ignore_border": False}, r"padding \(1, 1\) needs ignore_border=True"),
        (T4(), {"ws": (2, 2), "pad": (2, 0)}, r"each pad \(2, 0\) must be smaller than the window \(2, 2\)"),
        (T4(), {"ws": (2, 2), "ignore_border": None}, "ignore_border must be True or False"),
        (T4(1, 1, 3, 3), {"ws": (4, 2)}, "a window of 4 rows does not fit in an input of 3 rows"),
        (T4(1, 1, 3, 3), {"ws": (2, 6), "pad": (0, 1)}, "a window of 6 columns does not fit in an input of 5 columns"),
    ],
)
def test_pool_2d_bad_arguments_fail_when_building_the_graph(x, kwargs, message):
    with pytest.raises(ValueError, match=message):
        pool_2d(x, **kwargs)


def test_pool_2d_window_larger_than_the_data_fails_clearly_at_run_time():
    X = pt.tensor4()
    f = compiled([X], pool_2d(X, (3, 3)), PY)
    assert f(numpy.zeros((1, 1, 3, 3))).shape == (1, 1, 1, 1)
    with pytest.raises(ValueError, match="a window of 3 columns does not fit in an input of 2 columns"):
        f(numpy.zeros((1, 1, 3, 2)))


# -- PyTensor's default backend ---------------------------------------------


@pytest.mark.filterwarnings("ignore:Numba will use object mode")
def test_lenet_layer_under_numba_object_mode():
    """A LeNet layer (conv, pool, tanh) and its gradients under the Numba backend."""
    rng = numpy.random.RandomState(4)
    x, w = rng.randn(2, 1, 8, 8), rng.randn(3, 1, 3, 3)
    X, W = pt.tensor4(), pt.tensor4()
    layer = pt.tanh(pool_2d(conv2d(X, W), (2, 2)))
    outputs = [layer, *pytensor.grad(layer.sum(), [X, W])]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        numba_values = compiled([X, W], outputs, "NUMBA")(x, w)
    expected = compiled([X, W], outputs, PY)(x, w)
    for value, reference in zip(numba_values, expected):
        numpy.testing.assert_allclose(value, reference, rtol=1e-12, atol=1e-12)
    layer_reference = numpy.tanh(reference_pool(reference_conv2d(x, w), (2, 2)))
    numpy.testing.assert_allclose(numba_values[0], layer_reference, rtol=1e-12)


def test_float16_is_computed_in_float32_and_stays_float16():
    rng = numpy.random.RandomState(16)
    x, w = rng.rand(2, 3, 6, 6), rng.rand(4, 3, 3, 3)
    X, W = pt.tensor4(dtype="float16"), pt.tensor4(dtype="float16")
    out = pool_2d(conv2d(X, W), (2, 2))
    grads = pytensor.grad(out.sum(), [X, W])
    result, gx, gw = compiled([X, W], [out] + grads, PY)(x.astype("float16"), w.astype("float16"))
    assert (result.dtype, gx.dtype, gw.dtype) == ("float16",) * 3
    x16, w16 = x.astype("float16").astype("float64"), w.astype("float16").astype("float64")
    expected = reference_pool(reference_conv2d(x16, w16), (2, 2))
    numpy.testing.assert_allclose(result, expected, rtol=2e-3)
