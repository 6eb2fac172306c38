"""Tests of deeplearning_tutorial.link.numpy.contraction: ``x - k * (a * b + c * d)`` with Theano's two fmas.

The reference is ``fma(-k, fma(c, d, a * b), x)`` with the C library's
``fma`` (`rng_mrg._fused_float64`), the form that matched every element of
Theano 1.0.5's compiled loop on this machine (docs/parity.md, The RBM).
"""

import numpy
import pytensor
import pytensor.tensor as T
import pytest

from deeplearning_tutorial.modes import NUMBA_BLAS, NUMPY, numpy_mode
from deeplearning_tutorial.ops.rng_mrg import MulAdd, _fused_float32, _fused_float64


def hbias_update(mode, extra_output=False):
    hb, s1, s2 = T.vectors("hb", "s1", "s2")
    a, c = T.scalars("a", "c")
    inner = a * s1 + c * s2
    outputs = [hb - numpy.float64(0.1) * inner] + ([inner] if extra_output else [])
    return pytensor.function([hb, s1, s2, a, c], outputs, mode=mode)


def values(n=5000):
    rng = numpy.random.default_rng(5)
    return rng.uniform(-0.1, 0.1, n), rng.uniform(10, 60, n), rng.uniform(10, 60, n), -1.0 / 100, 1.0 / 300


@pytest.mark.parametrize("mode", [NUMPY, NUMBA_BLAS], ids=["NUMPY", "NUMBA_BLAS"])
def test_the_update_rounds_as_theanos_fused_loop(mode):
    f = hbias_update(mode)
    assert sum(isinstance(n.op, MulAdd) for n in f.maker.fgraph.toposort()) == 2
    hb, s1, s2, a, c = values()
    (got,) = f(hb, s1, s2, a, c)
    inner = _fused_float64(numpy.full_like(s2, c), s2, a * s1)
    want = _fused_float64(numpy.full_like(hb, -0.1), inner, hb)
    assert numpy.array_equal(got, want)
    # two roundings each would differ: the check sees the contraction
    assert (hb - 0.1 * (a * s1 + c * s2) != want).sum() > 100


def test_a_variable_learning_rate_after_the_sum_is_contracted_the_same_way():
    """DBN's pretraining passes ``lr`` as an input; Theano's loop was then ``x - (a * b + c * d) * lr``."""
    hb, s1, s2 = T.vectors("hb", "s1", "s2")
    a, c, lr = T.scalars("a", "c", "lr")
    f = pytensor.function([hb, s1, s2, a, c, lr], hb - lr * (a * s1 + c * s2), mode=NUMPY)
    assert sum(isinstance(n.op, MulAdd) for n in f.maker.fgraph.toposort()) == 2
    hb, s1, s2, a, c = values()
    inner = _fused_float64(numpy.full_like(s2, c), s2, a * s1)
    assert numpy.array_equal(f(hb, s1, s2, a, c, 0.01), _fused_float64(numpy.full_like(hb, -0.01), inner, hb))


def test_without_the_rewrite_the_update_rounds_twice():
    f = hbias_update(numpy_mode(without=("theano_contraction",)))
    assert not any(isinstance(n.op, MulAdd) for n in f.maker.fgraph.toposort())


def test_a_shared_intermediate_is_not_contracted():
    """Theano's fused loop took only intermediates used nowhere else; a sum that is also an output stays as it is."""
    f = hbias_update(NUMPY, extra_output=True)
    assert not any(isinstance(n.op, MulAdd) for n in f.maker.fgraph.toposort())


def test_float32_update_is_contracted_too():
    hb, s1, s2 = (T.vector(name, dtype="float32") for name in ("hb", "s1", "s2"))
    a, c = (T.scalar(name, dtype="float32") for name in ("a", "c"))
    f = pytensor.function([hb, s1, s2, a, c], hb - numpy.float32(0.1) * (a * s1 + c * s2), mode=NUMPY)
    assert sum(isinstance(n.op, MulAdd) for n in f.maker.fgraph.toposort()) == 2
    hb, s1, s2, a, c = (numpy.asarray(v, dtype="float32") for v in values(2000))
    got = f(hb, s1, s2, a, c)
    inner = _fused_float32(*numpy.broadcast_arrays(c, s2, a * s1))
    want = _fused_float32(*numpy.broadcast_arrays(-numpy.float32(0.1), inner, hb))
    assert numpy.array_equal(got, want)
