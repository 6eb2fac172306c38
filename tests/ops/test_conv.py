"""Tests of deeplearning_tutorial.ops.conv: Theano's conv2d on PyTensor.

Compiled results are compared with the plain-loop NumPy references of
`tests.ops.references` under every implementation, gradients with finite
differences (`verify_grad`), and every argument error is checked while the
graph is built.
"""

import numba
import numpy
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.gradient import verify_grad
from scipy.signal import convolve2d

from deeplearning_tutorial.modes import NUMPY
from deeplearning_tutorial.ops import Conv2d, Conv2dGradInputs, Conv2dGradWeights, conv2d, pool_2d
from deeplearning_tutorial.ops import conv as conv_module
from tests.helpers import DTYPES, IMPLEMENTATIONS, T4, assert_close, compiled
from tests.ops.references import reference_conv2d, reference_pool

CONV_OPS = (Conv2d, Conv2dGradInputs, Conv2dGradWeights)

BORDER_MODES = ["valid", "full", "half", 1, (2, 1)]


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("filter_flip", [True, False])
@pytest.mark.parametrize("subsample", [(1, 1), (2, 3)])
@pytest.mark.parametrize("border_mode", BORDER_MODES)
def test_conv2d_matches_reference(border_mode, subsample, filter_flip, dtype, impl):
    rng = numpy.random.RandomState(42)
    x = rng.uniform(-1, 1, (2, 3, 7, 9)).astype(dtype)
    w = rng.uniform(-1, 1, (4, 3, 3, 2)).astype(dtype)
    X, W = pt.tensor4(dtype=dtype), pt.tensor4(dtype=dtype)
    out = conv2d(X, W, border_mode=border_mode, subsample=subsample, filter_flip=filter_flip)
    result = compiled([X, W], out, impl)(x, w)
    assert_close(result, reference_conv2d(x, w, border_mode, subsample, filter_flip), dtype)
    assert result.flags.c_contiguous


def test_conv2d_is_scipy_convolution_summed_over_channels():
    rng = numpy.random.RandomState(3)
    x, w = rng.randn(2, 3, 8, 7), rng.randn(4, 3, 3, 4)
    X, W = pt.tensor4(), pt.tensor4()
    for border_mode in ("valid", "full"):
        result = compiled([X, W], conv2d(X, W, border_mode=border_mode), NUMPY)(x, w)
        for b, f in numpy.ndindex(2, 4):
            expected = sum(convolve2d(x[b, c], w[f, c], mode=border_mode) for c in range(3))
            numpy.testing.assert_allclose(result[b, f], expected, rtol=1e-12, atol=1e-12)


@pytest.fixture(params=["channels-last", "channel-major"])
def patch_layout(request, monkeypatch):
    """Force each memory layout of the patch matrix, and one image per chunk."""
    monkeypatch.setattr(conv_module, "_channels_last", lambda *args: request.param == "channels-last")
    monkeypatch.setattr(conv_module, "_CHUNK_BYTES", 1)
    return request.param


@pytest.mark.parametrize("border_mode, subsample", [("valid", (1, 1)), ("full", (2, 1)), ((1, 2), (1, 3))])
def test_conv2d_every_layout_and_chunking(patch_layout, border_mode, subsample):
    rng = numpy.random.RandomState(8)
    x, w = rng.randn(3, 2, 6, 7), rng.randn(3, 2, 3, 2)
    X, W = pt.tensor4(), pt.tensor4()
    result = compiled([X, W], conv2d(X, W, border_mode=border_mode, subsample=subsample), NUMPY)(x, w)
    numpy.testing.assert_allclose(result, reference_conv2d(x, w, border_mode, subsample), rtol=1e-12, atol=1e-12)
    verify_grad(lambda a, b: conv2d(a, b, border_mode=border_mode, subsample=subsample), [x, w], rng=rng, mode=NUMPY)


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
@pytest.mark.parametrize(
    "border_mode, subsample, filter_flip",
    [("valid", (1, 1), True), ("full", (1, 1), False), ("half", (2, 2), True), ((1, 2), (3, 2), True)],
)
def test_conv2d_gradients(border_mode, subsample, filter_flip, impl):
    rng = numpy.random.RandomState(11)
    x, w = rng.randn(2, 3, 6, 7), rng.randn(2, 3, 3, 2)
    verify_grad(
        lambda a, b: conv2d(a, b, border_mode=border_mode, subsample=subsample, filter_flip=filter_flip),
        [x, w],
        rng=rng,
        mode=impl,
    )


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
def test_conv2d_float32_stays_float32_and_mixed_dtypes_upcast(impl):
    X32, W32, W64 = pt.tensor4(dtype="float32"), pt.tensor4(dtype="float32"), pt.tensor4(dtype="float64")
    out = conv2d(X32, W32)
    assert out.dtype == "float32"
    grads = pytensor.grad(out.sum(), [X32, W32])
    assert [g.dtype for g in grads] == ["float32", "float32"]
    x, w = numpy.ones((1, 1, 4, 4), "float32"), numpy.ones((1, 1, 2, 2), "float32")
    values = compiled([X32, W32], [out, *grads], impl)(x, w)
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
    numpy.testing.assert_allclose(compiled([], conv2d(x, w), NUMPY)(), reference_conv2d(x, w), rtol=1e-12)
    W, G = pt.tensor4(), pt.tensor4()
    f = compiled([W, G], Conv2dGradInputs()(W, G, [6, 6]), NUMPY)
    assert f(numpy.ones((2, 3, 3, 3)), numpy.ones((1, 2, 4, 4))).shape == (1, 3, 6, 6)
    message = r"output gradient of shape \(1, 2, 5, 4\), but the convolution gives \(None, 2, 4, 4\)"
    with pytest.raises(ValueError, match=message):
        f(numpy.ones((2, 3, 3, 3)), numpy.ones((1, 2, 5, 4)))
    with pytest.raises(TypeError, match="input_size must be an integer vector of 2 elements"):
        Conv2dGradInputs()(W, G, [6.0, 6.0])


def test_conv2d_shape_is_inferred_without_running_the_ops():
    X, W = pt.tensor4(), pt.tensor4()
    out = conv2d(X, W, border_mode=(1, 2), subsample=(2, 3))
    gx, gw = pytensor.grad(out.sum(), [X, W])
    f = compiled([X, W], [out.shape, gx.shape, gw.shape], NUMPY)
    assert not any(isinstance(node.op, CONV_OPS) for node in f.maker.fgraph.toposort())
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
    f = compiled([X, W], conv2d(X, W, **kwargs), NUMPY)
    with pytest.raises(ValueError, match=message):
        f(numpy.zeros(x_shape), numpy.zeros(w_shape))


def test_float16_is_computed_in_float32_and_stays_float16():
    rng = numpy.random.RandomState(16)
    x, w = rng.rand(2, 3, 6, 6), rng.rand(4, 3, 3, 3)
    X, W = pt.tensor4(dtype="float16"), pt.tensor4(dtype="float16")
    out = pool_2d(conv2d(X, W), (2, 2))
    grads = pytensor.grad(out.sum(), [X, W])
    result, gx, gw = compiled([X, W], [out] + grads, NUMPY)(x.astype("float16"), w.astype("float16"))
    assert (result.dtype, gx.dtype, gw.dtype) == ("float16",) * 3
    x16, w16 = x.astype("float16").astype("float64"), w.astype("float16").astype("float64")
    expected = reference_pool(reference_conv2d(x16, w16), (2, 2))
    numpy.testing.assert_allclose(result, expected, rtol=2e-3)


@pytest.mark.parametrize("dtype", DTYPES)
def test_conv2d_results_do_not_depend_on_the_number_of_threads(dtype):
    """Each thread's products are BLAS calls on one thread, and chunk sums are added in chunk order."""
    rng = numpy.random.RandomState(4)
    x = rng.uniform(-1, 1, (9, 3, 10, 9)).astype(dtype)
    w = rng.uniform(-1, 1, (4, 3, 3, 2)).astype(dtype)
    X, W = pt.tensor4(dtype=dtype), pt.tensor4(dtype=dtype)
    out = conv2d(X, W)
    fn = compiled([X, W], [out, *pytensor.grad((out**2).sum(), [X, W])], NUMPY)
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = fn(x, w)
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        every = fn(x, w)
    finally:
        numba.set_num_threads(threads)
    for a, b in zip(one, every):
        numpy.testing.assert_array_equal(a, b)
