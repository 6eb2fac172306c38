"""Tests of deeplearning_tutorial.link.numpy.reductions: the L2 penalty in one pass.

The Numba backend's implementation is tested in tests/link/numba/test_reductions.py.
"""

import numpy
import pytensor
import pytensor.tensor as T
import pytest

from deeplearning_tutorial.link.numpy.reductions import SumOfSquares
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
