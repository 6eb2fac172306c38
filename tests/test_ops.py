"""Tests of deeplearning_tutorial.ops against plain-loop NumPy references."""

import numpy
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.gradient import verify_grad
from scipy.signal import convolve2d

from deeplearning_tutorial.modes import NUMPY
from deeplearning_tutorial.ops import conv2d, pool_2d

# Every case runs in the tutorials' NUMPY mode; one representative case of
# each test also runs under the C backend (compiling C code for every case
# would take minutes on a fresh machine).
MODES = [pytest.param(NUMPY, id="NUMPY")]
TOLERANCE = {"float64": 1e-12, "float32": 1e-5}


# -- references: one output value at a time, written for clarity only ------


def reference_conv2d(x, w, pad, subsample, flip):
    if flip:
        w = w[:, :, ::-1, ::-1]
    (pr, pc), (sr, sc) = pad, subsample
    xp = numpy.zeros(x.shape[:2] + (x.shape[2] + 2 * pr, x.shape[3] + 2 * pc))
    xp[:, :, pr : pr + x.shape[2], pc : pc + x.shape[3]] = x
    kr, kc = w.shape[2:]
    oh = (xp.shape[2] - kr) // sr + 1
    ow = (xp.shape[3] - kc) // sc + 1
    out = numpy.zeros((x.shape[0], w.shape[0], oh, ow))
    for n in range(x.shape[0]):
        for f in range(w.shape[0]):
            for r in range(oh):
                for c in range(ow):
                    out[n, f, r, c] = (xp[n, :, r * sr : r * sr + kr, c * sc : c * sc + kc] * w[f]).sum()
    return out


def reference_pool(x, ws, ignore_border, stride, pad, mode):
    """Pooling as Theano defined it: windows start every ``stride`` cells of
    the padded image; with ignore_border=False the last window may stick out
    and then covers only the cells that exist."""
    (wh, ww), (sh, sw), (ph, pw) = ws, stride, pad
    h, w = x.shape[-2:]
    H, W = h + 2 * ph, w + 2 * pw

    def count(n, k, s):
        if ignore_border:
            return (n - k) // s + 1
        return (n - 1) // s + 1 if s >= k else max(0, (n - k + s - 1) // s) + 1

    oh, ow = count(H, wh, sh), count(W, ww, sw)
    out = numpy.zeros(x.shape[:-2] + (oh, ow))
    for index in numpy.ndindex(*x.shape[:-2]):
        for r in range(oh):
            for c in range(ow):
                r0, c0 = r * sh, c * sw
                r1, c1 = min(r0 + wh, H), min(c0 + ww, W)
                # cells of the real image inside the window
                real = x[index][max(r0 - ph, 0) : max(r1 - ph, 0), max(c0 - pw, 0) : max(c1 - pw, 0)]
                if mode == "max":
                    out[index + (r, c)] = real.max()
                elif mode == "sum":
                    out[index + (r, c)] = real.sum()
                elif mode == "average_inc_pad":
                    out[index + (r, c)] = real.sum() / ((r1 - r0) * (c1 - c0))
                else:
                    out[index + (r, c)] = real.mean()
    return out


def compile_(inputs, output, mode):
    return pytensor.function(inputs, output, mode=mode)


# -- conv2d ------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(
    "border_mode, pad",
    [("valid", (0, 0)), ("full", (2, 1)), ("half", (1, 1)), ((1, 2), (1, 2)), (1, (1, 1))],
)
@pytest.mark.parametrize("subsample", [(1, 1), (2, 3)])
@pytest.mark.parametrize("flip", [True, False])
def test_conv2d_matches_reference(mode, dtype, border_mode, pad, subsample, flip):
    rng = numpy.random.RandomState(42)
    x = rng.randn(2, 3, 9, 8).astype(dtype)
    w = rng.randn(4, 3, 3, 2).astype(dtype)
    X, W = pt.tensor4(dtype=dtype), pt.tensor4(dtype=dtype)
    out = conv2d(X, W, filter_shape=(4, 3, 3, 2), border_mode=border_mode, subsample=subsample, filter_flip=flip)
    result = compile_([X, W], out, mode)(x, w)
    assert result.dtype == dtype
    expected = reference_conv2d(x.astype("float64"), w.astype("float64"), pad, subsample, flip)
    numpy.testing.assert_allclose(result, expected, rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype])


def test_conv2d_is_a_true_convolution():
    rng = numpy.random.RandomState(0)
    x, w = rng.rand(2, 3, 7, 6), rng.rand(2, 3, 3, 4)
    X, W = pt.tensor4(), pt.tensor4()
    result = compile_([X, W], conv2d(X, W), NUMPY)(x, w)
    expected = [[sum(convolve2d(x[n, c], w[f, c], mode="valid") for c in range(3)) for f in range(2)] for n in range(2)]
    numpy.testing.assert_allclose(result, expected, rtol=1e-12)


def test_conv2d_static_shape_and_given_shapes():
    X = pt.tensor4()
    W = pt.tensor4()
    out = conv2d(X, W, input_shape=(5, 1, 28, 28), filter_shape=(20, 1, 5, 5))
    assert out.type.shape == (5, 20, 24, 24)
    f = compile_([X, W], out, NUMPY)
    with pytest.raises(AssertionError):  # data that contradicts the given shape
        f(numpy.zeros((5, 1, 27, 28)), numpy.zeros((20, 1, 5, 5)))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("border_mode", ["valid", "full", "half", (2, 1)])
@pytest.mark.parametrize("subsample", [(1, 1), (2, 1)])
def test_conv2d_gradients(mode, border_mode, subsample):
    rng = numpy.random.RandomState(3)
    x, w = rng.rand(2, 3, 7, 6), rng.rand(4, 3, 3, 2)
    verify_grad(
        lambda a, b: conv2d(a, b, filter_shape=(4, 3, 3, 2), border_mode=border_mode, subsample=subsample),
        [x, w],
        rng=rng,
        mode=mode,
    )


@pytest.mark.parametrize(
    "args, kwargs, message",
    [
        ((pt.matrix(), pt.tensor4()), {}, "input must be a 4-D tensor"),
        ((pt.tensor4(), pt.tensor3()), {}, "filters must be a 4-D tensor"),
        ((pt.tensor4(shape=(None, 3, None, None)), pt.tensor4(shape=(2, 2, 3, 3))), {}, "3 channels but the filters expect 2"),
        ((pt.tensor4(), pt.tensor4()), {"border_mode": "same"}, "unknown border_mode 'same'"),
        ((pt.tensor4(), pt.tensor4()), {"border_mode": "full"}, "needs the filter size"),
        ((pt.tensor4(), pt.tensor4()), {"subsample": (0, 1)}, "subsample must be >= 1"),
        ((pt.tensor4(), pt.tensor4()), {"input_shape": (1, 2, 3)}, "input_shape must have 4 entries"),
        ((pt.tensor4(shape=(1, 1, 4, 4)), pt.tensor4(shape=(1, 1, 5, 5))), {}, "do not fit"),
    ],
)
def test_conv2d_bad_arguments_fail_when_building_the_graph(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        conv2d(*args, **kwargs)


def test_conv2d_channel_mismatch_at_run_time():
    X, W = pt.tensor4(), pt.tensor4()
    f = compile_([X, W], conv2d(X, W), NUMPY)
    with pytest.raises(ValueError, match="2 channels but the filters expect 3"):
        f(numpy.zeros((1, 2, 5, 5)), numpy.zeros((1, 3, 2, 2)))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_ops_and_gradients_under_the_c_backend(dtype):
    rng = numpy.random.RandomState(7)
    x = rng.rand(2, 3, 9, 8).astype(dtype)
    w = rng.rand(4, 3, 3, 2).astype(dtype)
    X, W = pt.tensor4(dtype=dtype), pt.tensor4(dtype=dtype)
    conv = conv2d(X, W, filter_shape=(4, 3, 3, 2), border_mode="half", subsample=(2, 1))
    pooled = pool_2d(conv, (2, 2), ignore_border=False, stride=(1, 2), mode="average_exc_pad")
    outputs = [conv, pooled] + pytensor.grad((pooled**2).sum(), [X, W])
    got = compile_([X, W], outputs, "CVM")(x, w)
    want = compile_([X, W], outputs, NUMPY)(x, w)
    for g, e in zip(got, want):
        assert g.dtype == dtype
        numpy.testing.assert_allclose(g, e, rtol=TOLERANCE[dtype])
    numpy.testing.assert_allclose(
        got[0], reference_conv2d(x.astype("float64"), w.astype("float64"), (1, 1), (2, 1), True), rtol=1e-4
    )


# -- pool_2d -----------------------------------------------------------------

POOL_CASES = [
    ((2, 2), True, None, (0, 0)),
    ((2, 2), False, None, (0, 0)),
    ((3, 2), False, None, (0, 0)),
    ((3, 3), True, (1, 2), (0, 0)),  # overlapping windows
    ((3, 3), False, (2, 1), (0, 0)),
    ((3, 2), True, (2, 2), (1, 1)),  # padding
    ((2, 2), True, (1, 1), (1, 0)),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("pool_mode", ["max", "sum", "average_inc_pad", "average_exc_pad"])
@pytest.mark.parametrize("ws, ignore_border, stride, pad", POOL_CASES)
def test_pool_2d_matches_reference(mode, dtype, pool_mode, ws, ignore_border, stride, pad):
    x = numpy.random.RandomState(1).randn(2, 3, 7, 8).astype(dtype)
    X = pt.tensor4(dtype=dtype)
    out = pool_2d(X, ws, ignore_border=ignore_border, stride=stride, pad=pad, mode=pool_mode)
    result = compile_([X], out, mode)(x)
    assert result.dtype == dtype
    expected = reference_pool(x.astype("float64"), ws, ignore_border, stride or ws, pad, pool_mode)
    numpy.testing.assert_allclose(result, expected, rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype])


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("pool_mode", ["max", "sum", "average_inc_pad", "average_exc_pad"])
@pytest.mark.parametrize("ws, ignore_border, stride, pad", POOL_CASES)
def test_pool_2d_gradients(mode, pool_mode, ws, ignore_border, stride, pad):
    rng = numpy.random.RandomState(5)
    # A permutation has no ties, so the max is differentiable everywhere.
    x = rng.permutation(2 * 2 * 7 * 8).reshape(2, 2, 7, 8) / 10.0
    verify_grad(
        lambda a: pool_2d(a, ws, ignore_border=ignore_border, stride=stride, pad=pad, mode=pool_mode),
        [x],
        rng=rng,
        mode=mode,
    )


def test_max_pool_gradient_goes_to_every_tied_maximum():
    X = pt.matrix()
    g = pytensor.grad(pool_2d(X, (2, 2), ignore_border=True, stride=(1, 1)).sum(), X)
    x = numpy.array([[1.0, 3.0, 3.0], [3.0, 0.0, 2.0]])
    # Windows: [[1,3],[3,0]] has two maxima, [[3,3],[0,2]] two more;
    # the middle 3 at (0, 1) belongs to both windows.
    expected = numpy.array([[0.0, 2.0, 1.0], [1.0, 0.0, 0.0]])
    numpy.testing.assert_array_equal(compile_([X], g, NUMPY)(x), expected)


def test_seed_max_pool_example():
    """The example printed in the seed article (Theano's max_pool_2d on RandomState(1) data)."""
    invals = numpy.random.RandomState(1).rand(3, 2, 5, 5)
    X = pt.tensor4()
    kept = compile_([X], pool_2d(X, (2, 2), ignore_border=True), NUMPY)(invals)
    numpy.testing.assert_allclose(kept[0, 0], [[0.72032449, 0.39676747], [0.6852195, 0.87811744]], atol=5e-9)
    partial = compile_([X], pool_2d(X, (2, 2), ignore_border=False), NUMPY)(invals)
    numpy.testing.assert_allclose(
        partial[1, 0],
        [[0.67883553, 0.58930554, 0.69975836], [0.66379465, 0.94459476, 0.58655504], [0.90340192, 0.80739129, 0.39767684]],
        atol=5e-9,
    )


@pytest.mark.parametrize(
    "x, kwargs, message",
    [
        (pt.vector(), {"ws": (2, 2)}, "at least 2 dimensions"),
        (pt.tensor4(), {"ws": (2, 2), "mode": "median"}, "unknown mode 'median'"),
        (pt.tensor4(), {"ws": (0, 2)}, "ws and stride must be >= 1"),
        (pt.tensor4(), {"ws": (2, 2), "pad": (1, 1), "ignore_border": False}, "padding requires ignore_border=True"),
        (pt.tensor4(), {"ws": (2, 2), "pad": (2, 0)}, "must be smaller than the window"),
        (pt.tensor4(shape=(1, 1, 3, 3)), {"ws": (4, 2)}, "window .* is larger than the input"),
        (pt.tensor4(), {"ws": "2x2"}, "ws must be an int or a pair of ints"),
    ],
)
def test_pool_2d_bad_arguments_fail_when_building_the_graph(x, kwargs, message):
    with pytest.raises(ValueError, match=message):
        pool_2d(x, **kwargs)


def test_ops_run_under_the_numba_default_mode():
    """PyTensor's default backend runs the ops through its object-mode fallback."""
    rng = numpy.random.RandomState(0)
    X, W = pt.tensor4(), pt.tensor4()
    cost = pool_2d(conv2d(X, W), (2, 2)).sum()
    f = compile_([X, W], [cost] + pytensor.grad(cost, [X, W]), "NUMBA")
    x, w = rng.rand(2, 2, 6, 6), rng.rand(3, 2, 3, 3)
    expected = compile_([X, W], [cost] + pytensor.grad(cost, [X, W]), NUMPY)(x, w)
    for got, want in zip(f(x, w), expected):
        numpy.testing.assert_allclose(got, want, rtol=1e-12)
