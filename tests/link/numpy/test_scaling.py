"""Tests of deeplearning_tutorial.link.numpy.scaling: ``sigmoid(z) / n`` as ``sigmoid(z) * (1 / n)``, as Theano had it.

The RBM's whole update, against the historical code's, is tested in
tests/test_rbm.py (its first steps and a longer run); here, what the
rewrite touches and what it leaves.
"""

import numpy
import pytensor
import pytensor.tensor as T
import pytest

from deeplearning_tutorial.modes import NUMBA_BLAS, NUMPY, numpy_mode


def true_divs(f):
    return [
        n for n in f.maker.fgraph.toposort() if getattr(getattr(n.op, "scalar_op", None), "name", None) == "true_div"
    ]


def rbm_like_gradients(mode):
    """The hidden bias's and the weights' gradients of a mean of softplus terms over a batch, as the RBM's."""
    v = T.matrix("v")
    W = pytensor.shared(numpy.random.default_rng(0).uniform(-0.5, 0.5, (7, 5)), name="W")
    hb = pytensor.shared(numpy.zeros(5), name="hb")
    cost = -T.mean(T.sum(T.softplus(T.dot(v, W) + hb), axis=1))
    gW, ghb = T.grad(-cost, [W, hb])
    return v, W, hb, pytensor.function([v], [gW, ghb], mode=mode)


@pytest.mark.parametrize("mode", [NUMPY, NUMBA_BLAS], ids=["NUMPY", "NUMBA_BLAS"])
def test_the_gradients_multiply_by_the_reciprocal_of_the_batch_size(mode):
    v, W, hb, f = rbm_like_gradients(mode)
    assert not true_divs(f)
    values = (numpy.random.default_rng(1).uniform(size=(100, 7)) < 0.5).astype("float64")
    gW, ghb = f(values)
    h = 1 / (1 + numpy.exp(-(values @ W.get_value())))
    # summed one row after another, then scaled by 1 / 100 (not exact in binary)
    rows = numpy.zeros(5)
    for row in h:
        rows = rows + row
    numpy.testing.assert_allclose(ghb, rows * (1.0 / 100), rtol=1e-15)
    numpy.testing.assert_allclose(gW, values.T @ (h * (1.0 / 100)), rtol=1e-13)


def test_without_the_rewrite_pytensor_divides():
    *_, f = rbm_like_gradients(numpy_mode(without=("scale_by_reciprocal",)))
    assert true_divs(f)


def test_other_divisions_are_left_alone():
    """Only a sigmoid (or its sum) divided by a number of rows changes: not a tanh by rows, a sigmoid by a column."""
    x = T.matrix("x")
    f = pytensor.function([x], [T.tanh(x) / x.shape[0], T.sigmoid(x) / x[:, :1]], mode=NUMPY)
    assert len(true_divs(f)) == 2
