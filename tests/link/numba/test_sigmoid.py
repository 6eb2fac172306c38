"""Tests of deeplearning_tutorial.link.numba.sigmoid: Theano's sigmoid and softplus under ``NUMBA_BLAS``.

The ``NUMPY`` mode's loops (`deeplearning_tutorial.link.numpy.sigmoid`)
are the reference; the compiled element-wise nodes must give their bits,
at the cut-offs, next to them, and past them.
"""

import numpy
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.tensor.elemwise import Elemwise

from deeplearning_tutorial.link.numba.mode import NUMBA_BLAS
from deeplearning_tutorial.link.numpy import sigmoid as reference
from deeplearning_tutorial.link.numpy.sigmoid import SIGMOID_CUTOFFS, SOFTPLUS_CUTOFFS, TheanoSigmoid, TheanoSoftplus
from deeplearning_tutorial.modes import NUMPY

pytestmark = pytest.mark.filterwarnings("error:Numba will use object mode")


def edge_values(dtype, cutoffs):
    """The cut-offs of both ops and their neighbours, zeros, infinities, nan, and many ordinary values."""
    kind = numpy.dtype(dtype).type
    special = [0.0, -0.0, numpy.inf, -numpy.inf, numpy.nan, 1.0, -1.0, 1e-30, -1e-30]
    for c in cutoffs:
        c = kind(c)
        special += [c, numpy.nextafter(c, kind(numpy.inf)), numpy.nextafter(c, kind(-numpy.inf))]
    rng = numpy.random.default_rng(11)
    return numpy.concatenate(
        [numpy.array(special, dtype=dtype), rng.uniform(-40, 40, 5000).astype(dtype), rng.uniform(-800, 800, 2000)]
    ).astype(dtype)


def scalar_ops(fn):
    return [node.op.scalar_op for node in fn.maker.fgraph.apply_nodes if isinstance(node.op, Elemwise)]


def assert_same_bits(got, expected):
    assert got.dtype == expected.dtype and got.shape == expected.shape
    assert got.tobytes() == expected.tobytes()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sigmoid_and_softplus_are_theanos(dtype):
    x = pt.vector("x", dtype=dtype)
    fn = pytensor.function([x], [pt.sigmoid(x), pt.softplus(x)], mode=NUMBA_BLAS)
    ops = scalar_ops(fn)
    assert any(isinstance(op, TheanoSigmoid) for op in ops) and any(isinstance(op, TheanoSoftplus) for op in ops)
    cutoffs = (
        SIGMOID_CUTOFFS[dtype] + SOFTPLUS_CUTOFFS[dtype] + SIGMOID_CUTOFFS["float64"] + SOFTPLUS_CUTOFFS["float64"]
    )
    values = edge_values(dtype, cutoffs)
    got_sigmoid, got_softplus = fn(values)
    with numpy.errstate(over="ignore"):
        assert_same_bits(got_sigmoid, reference.sigmoid(values))
        assert_same_bits(got_softplus, reference.softplus(values))
    # the cut-offs are Theano's: 1 and x past the upper ones, where PyTensor's own formulas are not
    high = numpy.nextafter(numpy.array(SIGMOID_CUTOFFS[dtype][1], dtype=dtype), numpy.array(numpy.inf, dtype=dtype))
    assert got_sigmoid[values == high][0] == 1.0


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_rbm_costs_softplus_terms_are_theanos(dtype):
    """``log(sigmoid(a))`` and ``log(1 - sigmoid(a))``, which the rewrites turn into softplus, as in ``NUMPY``."""
    a = pt.matrix("a", dtype=dtype)
    cost = pt.log(pt.sigmoid(a)) + pt.log(1 - pt.sigmoid(a))
    fn = pytensor.function([a], cost, mode=NUMBA_BLAS)
    assert any(isinstance(op, TheanoSoftplus) for op in scalar_ops(fn))
    expected = pytensor.function([a], cost, mode=NUMPY)
    values = edge_values(dtype, SOFTPLUS_CUTOFFS[dtype])[:7000].reshape(70, 100)
    with numpy.errstate(all="ignore"):
        assert_same_bits(fn(values), expected(values))
