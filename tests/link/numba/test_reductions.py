"""Tests of deeplearning_tutorial.link.numba.reductions: the L2 penalty in one pass, under ``NUMBA_BLAS``."""

import numpy
import pytensor
import pytensor.tensor as T
import pytest

from deeplearning_tutorial.link.numba.mode import NUMBA_BLAS
from deeplearning_tutorial.link.numpy.reductions import SumOfSquares


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_sum_of_squares_replaces_the_l2_penalty(dtype):
    w = T.matrix("w", dtype=dtype)
    f = pytensor.function([w], (w**2).sum(), mode=NUMBA_BLAS)
    assert [type(n.op) for n in f.maker.fgraph.toposort()] == [SumOfSquares]
    wv = numpy.random.default_rng(1).standard_normal((37, 11)).astype(dtype)
    result = f(wv)
    assert result.dtype == dtype
    numpy.testing.assert_allclose(
        result, numpy.sum(numpy.square(wv), dtype="float64"), rtol=1e-15 if dtype == "float64" else 1e-7
    )
