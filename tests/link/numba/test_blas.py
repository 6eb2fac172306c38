"""The ``NUMBA_BLAS`` mode: Numba-compiled graphs that keep Theano's BLAS arithmetic.

Its tutorial runs must print the golden logs and, for the MLP in float64,
end the first epoch as close to the historical parameters as ``NUMPY``
does (`test_mlp.assert_historical_parameters`).  Each tutorial run compiles
its graphs with Numba, one to two minutes on an empty cache on a busy
2-core machine, so only the float64 MLP epoch (the golden log and the
parameter check) runs by default; the float32 epoch and the whole logistic
regression run are marked ``slow``.
"""

import numpy
import pytensor
import pytensor.tensor as T
import pytest

from deeplearning_tutorial.link.numba_blas import NUMBA_BLAS
from deeplearning_tutorial.logistic_sgd import sgd_optimization_mnist
from deeplearning_tutorial.mlp import test_mlp as run_mlp
from deeplearning_tutorial.ops.reductions import SumOfSquares
from tests.helpers import assert_costs_match, golden_log, run_tutorial
from tests.test_mlp import assert_historical_parameters

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


@pytest.fixture
def numba_blas():
    with pytensor.config.change_flags(mode=NUMBA_BLAS):
        yield


@pytest.mark.parametrize("floatX", ["float64", pytest.param("float32", marks=pytest.mark.slow)])
def test_mlp_first_epoch_keeps_the_historical_arithmetic(mnist_path, numba_blas, floatX, capsys, record_training_costs):
    with pytensor.config.change_flags(floatX=floatX):
        lines = run_tutorial(capsys, run_mlp, n_epochs=1)
    assert lines == golden_log(f"mlp.n_epochs1.{floatX}.log")
    assert_costs_match(record_training_costs[:100], "mlp", floatX)
    if floatX == "float64":
        assert_historical_parameters(record_training_costs.params)


@pytest.mark.slow
def test_logistic_regression_run_matches_legacy(
    mnist_path, numba_blas, tmp_path, monkeypatch, capsys, record_training_costs
):
    monkeypatch.chdir(tmp_path)
    lines = run_tutorial(capsys, sgd_optimization_mnist)
    assert lines == golden_log("logistic_sgd.default.float64.log")
    assert_costs_match(record_training_costs[:100], "logistic_sgd", "float64")
