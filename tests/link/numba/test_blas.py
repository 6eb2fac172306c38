"""Tests of deeplearning_tutorial.link.numba.blas: PyTensor's BLAS ops, each one BLAS call, under ``NUMBA_BLAS``."""

import numpy
import pytensor
import pytensor.tensor as T

from deeplearning_tutorial.link.numba.mode import NUMBA_BLAS

SHAPES = [(3, 4, 5), (1, 4, 5), (3, 1, 5), (3, 4, 1), (1, 1, 1), (0, 3, 2), (3, 0, 2)]


def test_blas_ops_compute_what_perform_computes():
    """Dot22, Dot22Scalar, Gemm and Gemv against their ``perform``, on empty and single-row shapes too."""
    rng = numpy.random.default_rng(0)
    x, y, z, v, u = T.matrix("x"), T.matrix("y"), T.matrix("z"), T.vector("v"), T.vector("u")
    a, b = T.constant(-0.01), T.constant(0.999998)
    outputs = [
        T.blas._dot22(x, y),
        T.blas._dot22scalar(x, y, a),
        T.blas.gemm_no_inplace(z, a, x, y, b),
        T.blas.gemv_no_inplace(u, a, x, v, b),
        T.blas.gemv_no_inplace(v, a, x.T, u, T.constant(0.0)),  # a transposed (Fortran-ordered) matrix
    ]
    inputs = [x, y, z, u, v]
    compiled = pytensor.function(inputs, outputs, mode=NUMBA_BLAS)
    reference = pytensor.function(inputs, outputs, mode="FAST_COMPILE")
    kinds = {type(n.op).__name__ for n in compiled.maker.fgraph.toposort()}
    assert {"Dot22", "Dot22Scalar", "Gemm", "Gemv"} <= kinds, kinds
    for m, k, n in SHAPES:
        values = [rng.standard_normal(shape) for shape in [(m, k), (k, n), (m, n), (m,), (k,)]]
        for got, want in zip(compiled(*values), reference(*values)):
            numpy.testing.assert_allclose(got, want, rtol=1e-14, atol=1e-14, err_msg=str((m, k, n)))


def test_gemm_updates_a_shared_matrix_in_place():
    W = pytensor.shared(numpy.ones((3, 2)))
    x = T.matrix("x")
    step = pytensor.function([x], [], updates=[(W, W - 0.5 * T.dot(x.T, x[:, :2]) - 0.25 * W)], mode=NUMBA_BLAS)
    assert any(type(n.op).__name__ == "Gemm" and n.op.inplace for n in step.maker.fgraph.toposort())
    before = W.get_value(borrow=True)
    xv = numpy.arange(12.0).reshape(4, 3)
    step(xv)
    numpy.testing.assert_allclose(W.get_value(), 0.75 * numpy.ones((3, 2)) - 0.5 * xv.T @ xv[:, :2], rtol=1e-15)
    assert W.get_value(borrow=True) is before
