"""Tests of deeplearning_tutorial.ops.pool: Theano's pool_2d on PyTensor.

Compiled results are compared with the plain-loop NumPy references of
`tests.ops.references` under every implementation, gradients with finite
differences (`verify_grad`), and every argument error is checked while the
graph is built.
"""

import numpy
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.gradient import verify_grad

from deeplearning_tutorial.modes import NUMPY
from deeplearning_tutorial.ops import POOL_MODES, AveragePoolGrad, MaxPoolGrad, Pool, loops, pool_2d
from tests.helpers import DTYPES, IMPLEMENTATIONS, T4, assert_close, compiled
from tests.ops.references import reference_pool

POOL_OPS = (Pool, MaxPoolGrad, AveragePoolGrad)

# (ws, stride, pad) for each value of ignore_border
POOL_CASES = {
    True: [((2, 2), None, (0, 0)), ((3, 2), (1, 2), (0, 0)), ((3, 3), (2, 1), (1, 2)), ((2, 3), (3, 2), (1, 0))],
    False: [((2, 2), None, (0, 0)), ((3, 2), (1, 2), (0, 0)), ((2, 2), (3, 3), (0, 0)), ((3, 4), (2, 3), (0, 0))],
}
POOL_PARAMS = [(ignore_border, *case) for ignore_border, cases in POOL_CASES.items() for case in cases]


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", POOL_MODES)
@pytest.mark.parametrize("ignore_border, ws, stride, pad", POOL_PARAMS)
def test_pool_2d_matches_reference(ignore_border, ws, stride, pad, mode, dtype, impl):
    x = numpy.random.RandomState(1).randn(2, 3, 7, 8).astype(dtype)
    X = pt.tensor4(dtype=dtype)
    out = pool_2d(X, ws, ignore_border=ignore_border, stride=stride, pad=pad, mode=mode)
    result = compiled([X], out, impl)(x)
    assert_close(result, reference_pool(x, ws, ignore_border, stride, pad, mode), dtype)
    assert result.flags.c_contiguous


@pytest.mark.parametrize("shape", [(7, 8), (2, 7, 8), (1, 2, 2, 7, 8)])
def test_pool_2d_pools_the_last_two_axes_of_any_tensor(shape):
    x = numpy.random.RandomState(2).randn(*shape)
    X = pt.tensor(shape=(None,) * len(shape))
    result = compiled([X], pool_2d(X, (3, 2), ignore_border=False, mode="average_exc_pad"), NUMPY)(x)
    numpy.testing.assert_allclose(result, reference_pool(x, (3, 2), False, mode="average_exc_pad"), rtol=1e-12)


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
@pytest.mark.parametrize("mode", POOL_MODES)
@pytest.mark.parametrize(
    "ignore_border, ws, stride, pad",
    [(True, (2, 2), None, (0, 0)), (True, (3, 2), (2, 1), (1, 1)), (False, (3, 2), (2, 3), (0, 0))],
)
def test_pool_2d_gradients(ignore_border, ws, stride, pad, mode, impl):
    rng = numpy.random.RandomState(5)
    # Distinct values: no ties, so the max is differentiable at this point.
    x = rng.permutation(2 * 2 * 7 * 8).reshape(2, 2, 7, 8) / 10.0
    verify_grad(
        lambda a: pool_2d(a, ws, ignore_border=ignore_border, stride=stride, pad=pad, mode=mode),
        [x],
        rng=rng,
        mode=impl,
    )


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
def test_max_pool_gradient_goes_to_every_tied_maximum(impl):
    X = pt.matrix()
    x = numpy.array([[1.0, 3.0, 0.0, 0.0], [3.0, 3.0, 0.0, 0.0]])
    # Disjoint 2x2 windows: three 3s tie in the first, four 0s in the second.
    disjoint = compiled([X], pytensor.grad(pool_2d(X, (2, 2)).sum(), X), impl)(x)
    numpy.testing.assert_array_equal(disjoint, [[0, 1, 1, 1], [1, 1, 1, 1]])
    # Overlapping 1x2 windows: a cell gets the gradient of every window it is a max of.
    overlapping = compiled([X], pytensor.grad(pool_2d(X, (1, 2), stride=(1, 1)).sum(), X), impl)(x)
    numpy.testing.assert_array_equal(overlapping, [[0, 2, 1, 1], [1, 2, 1, 1]])


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
def test_pool_2d_float32_stays_float32(impl):
    X = pt.tensor4(dtype="float32")
    for mode in POOL_MODES:
        out = pool_2d(X, (2, 2), mode=mode)
        grad = pytensor.grad(out.sum(), X)
        values = compiled([X], [out, grad], impl)(numpy.ones((1, 1, 4, 4), "float32"))
        assert [v.dtype for v in values] == ["float32", "float32"]


def test_theano_documentation_max_pool_example():
    """The example of Theano's LeNet tutorial, on numpy.random.RandomState(1) data."""
    invals = numpy.random.RandomState(1).rand(3, 2, 5, 5)
    X = pt.tensor4()
    kept = compiled([X], pool_2d(X, (2, 2), ignore_border=True), NUMPY)(invals)
    numpy.testing.assert_allclose(kept[0, 0], [[0.72032449, 0.39676747], [0.6852195, 0.87811744]], atol=5e-9)
    partial = compiled([X], pool_2d(X, (2, 2), ignore_border=False), NUMPY)(invals)
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
    f = compiled([Y], [out.shape, pytensor.grad(out.sum(), Y).shape], NUMPY)
    assert not any(isinstance(node.op, POOL_OPS) for node in f.maker.fgraph.toposort())
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
    f = compiled([X], pool_2d(X, (3, 3)), NUMPY)
    assert f(numpy.zeros((1, 1, 3, 3))).shape == (1, 1, 1, 1)
    with pytest.raises(ValueError, match="a window of 3 columns does not fit in an input of 2 columns"):
        f(numpy.zeros((1, 1, 3, 2)))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rows, cols", [(24, 24), (7, 9), (2, 2)])
def test_2x2_loops_give_the_bits_of_the_general_loops(rows, cols, dtype):
    """NaNs, ties, signed zeros; an odd size leaves cells outside every window, whose gradient is zero."""
    rng = numpy.random.default_rng(7)
    x = rng.standard_normal((13, rows, cols)).astype(dtype)
    x[:, ::3, ::2] = numpy.nan
    x[:, 1::5] = 0.5
    x[:, 2::7] = -0.0
    oh, ow = rows // 2, cols // 2
    gz = rng.standard_normal((13, oh, ow)).astype(dtype)
    gz[:, ::4] = -0.0
    bits = "int64" if dtype == "float64" else "int32"
    for take_max in (True, False):
        want, got = numpy.empty((2, 13, oh, ow), dtype)
        loops.pool(x, (2, 2), (2, 2), (0, 0), take_max, want)
        loops.pool_2x2(x, take_max, got, 0, len(x))
        numpy.testing.assert_array_equal(got.view(bits), want.view(bits))
    maxout = numpy.empty((13, oh, ow), dtype)
    loops.pool(x, (2, 2), (2, 2), (0, 0), True, maxout)
    want, got = numpy.zeros((2, *x.shape), dtype)
    got[:, : 2 * oh, : 2 * ow] = 99.0  # the 2x2 loop writes every covered cell
    loops.max_pool_grad(x, maxout, gz, (2, 2), (2, 2), (0, 0), want)
    loops.max_pool_grad_2x2(x, maxout, gz, got, 0, len(x))
    numpy.testing.assert_array_equal(got.view(bits), want.view(bits))
    want, got = numpy.zeros((2, *x.shape), dtype)
    got[:, : 2 * oh, : 2 * ow] = 99.0
    loops.spread(gz, (2, 2), (2, 2), (0, 0), want)
    loops.spread_2x2(gz, got, 0, len(gz))
    numpy.testing.assert_array_equal(got.view(bits), want.view(bits))


def test_the_tutorials_pooling_uses_the_2x2_loops(monkeypatch):
    """LeNet's pooling (2x2, ignore_border) takes the 2x2 loops, value and gradient."""
    called = []

    def recorded(name):
        loop = getattr(loops, name)

        def record(*args):
            called.append(name)
            return loop(*args)

        return record

    for name in ("pool_2x2", "max_pool_grad_2x2"):
        monkeypatch.setattr(loops, name, recorded(name))
    X = pt.tensor4()
    out = pool_2d(X, (2, 2), ignore_border=True)
    x = numpy.random.default_rng(3).standard_normal((2, 3, 6, 8))
    value, grad = compiled([X], [out, pytensor.grad(out.sum(), X)], NUMPY)(x)
    assert list(dict.fromkeys(called)) == ["pool_2x2", "max_pool_grad_2x2"]
    assert_close(value, reference_pool(x, (2, 2), True, None, (0, 0), "max"), "float64")
