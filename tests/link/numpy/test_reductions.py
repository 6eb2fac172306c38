"""Tests of deeplearning_tutorial.link.numpy.reductions: the L2 penalty in one pass, and sums in Theano's order.

The Numba backend's implementation is tested in tests/link/numba/test_reductions.py.
"""

import numpy
import pytensor
import pytensor.tensor as T
import pytest

from deeplearning_tutorial.link.numpy.reductions import SumInOrder, SumOfSquares
from deeplearning_tutorial.modes import NUMPY


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shape", [(37, 11), (0, 3), (784, 500)])
def test_sum_of_squares_replaces_the_l2_penalty(dtype, shape):
    w = T.matrix("w", dtype=dtype)
    f = pytensor.function([w], (w**2).sum(), mode=NUMPY)
    assert [type(n.op) for n in f.maker.fgraph.toposort()] == [SumOfSquares]
    wv = numpy.random.default_rng(1).standard_normal(shape).astype(dtype)
    result = f(wv)
    assert result.dtype == dtype
    # Each square rounded in the dtype, the sum in float64 (in another order: an ulp or so).
    expected = numpy.sum(numpy.square(wv).astype("float64"))
    numpy.testing.assert_allclose(result, expected, rtol=1e-14 if dtype == "float64" else 1e-7)


def test_a_strided_matrix_is_summed_as_a_contiguous_one():
    w = T.matrix("w")
    f = pytensor.function([w], (w**2).sum(), mode=NUMPY)
    wv = numpy.random.default_rng(2).standard_normal((6, 8))
    assert f(wv[:, ::2]) == f(numpy.ascontiguousarray(wv[:, ::2]))


def test_the_squares_are_kept_when_something_else_uses_them():
    w = T.matrix("w")
    squares = w**2
    f = pytensor.function([w], [squares.sum(), squares], mode=NUMPY)
    assert SumOfSquares not in {type(n.op) for n in f.maker.fgraph.toposort()}


def sums_in_order(x, axis):
    """The reference: Python's float additions, one after another, in memory order over ``axis``."""
    kept = [d for d in range(x.ndim) if d not in axis]
    rows = numpy.transpose(x, kept + list(axis)).reshape(int(numpy.prod([x.shape[d] for d in kept])), -1)
    out = []
    for row in rows:
        acc = 0.0
        for value in row.tolist():
            acc += value
        out.append(acc)
    return numpy.array(out).reshape([x.shape[d] for d in kept])


@pytest.mark.parametrize(
    "shape, axis",
    [((100, 100), (1,)), ((300, 784), (0,)), ((1000, 2), (0,)), ((1000, 3), (0,)), ((20, 30), None), ((7,), None)],
)
def test_float64_sums_add_in_theano_order(shape, axis):
    """A float64 ``Sum`` of a vector or matrix becomes `SumInOrder`: the sequential sum, bit for bit.

    NumPy's pairwise sum of a contiguous axis rounds otherwise for most rows
    of this size (checked below, so that the test shows the difference it guards).
    """
    x = T.tensor("x", dtype="float64", shape=(None,) * len(shape))
    f = pytensor.function([x], x.sum(axis=axis), mode=NUMPY)
    assert any(isinstance(n.op, SumInOrder) for n in f.maker.fgraph.toposort())
    values = numpy.random.default_rng(3).uniform(0, 10, size=shape)
    axes = tuple(range(len(shape))) if axis is None else axis
    expected = sums_in_order(values, axes)
    numpy.testing.assert_array_equal(f(values), expected)
    if shape == (100, 100):
        assert (values.sum(axis=1) != expected).sum() > 10


def test_float32_sums_are_left_to_pytensor():
    x = T.matrix("x", dtype="float32")
    f = pytensor.function([x], x.sum(axis=1), mode=NUMPY)
    assert not any(isinstance(n.op, SumInOrder) for n in f.maker.fgraph.toposort())


def test_the_softmax_sum_is_left_to_numpy():
    """Theano's softmax was one op with its own loop: the sum inside the (inlined) softmax stays NumPy's."""
    x = T.matrix("x", dtype="float64")
    f = pytensor.function([x], T.special.softmax(x, axis=-1), mode=NUMPY)
    ops = {type(n.op) for n in f.maker.fgraph.toposort()}
    assert SumInOrder not in ops
    assert any(isinstance(n.op, T.math.Sum) for n in f.maker.fgraph.toposort())


def test_the_sums_of_feature_maps_are_left_to_numpy():
    """A convolutional layer's 4-d reductions stay NumPy's: summed in order they would cost several times more."""
    x = T.tensor4("x", dtype="float64")
    f = pytensor.function([x], x.sum(axis=(0, 2, 3)), mode=NUMPY)
    assert not any(isinstance(n.op, SumInOrder) for n in f.maker.fgraph.toposort())


def test_a_transposed_matrix_is_summed_in_order_too():
    x = T.matrix("x", dtype="float64")
    f = pytensor.function([x], x.T.sum(axis=0), mode=NUMPY)
    values = numpy.random.default_rng(4).uniform(0, 10, size=(50, 200))
    numpy.testing.assert_array_equal(f(values), sums_in_order(values.T, (0,)))


@pytest.mark.parametrize("shape, axis", [((0, 5), (0,)), ((5, 0), (1,)), ((0, 5), (1,)), ((0,), None), ((0, 0), None)])
def test_empty_sums_are_zeros(shape, axis):
    x = T.matrix("x", dtype="float64") if len(shape) == 2 else T.vector("x", dtype="float64")
    f = pytensor.function([x], x.sum(axis=axis), mode=NUMPY)
    values = numpy.zeros(shape)
    numpy.testing.assert_array_equal(f(values), values.sum(axis=axis))
