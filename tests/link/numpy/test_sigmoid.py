"""Tests of deeplearning_tutorial.link.numpy.sigmoid: Theano's sigmoid and softplus in the NUMPY mode.

Each element is compared with Theano's C formula evaluated here one
element at a time with the C library's functions (called through ctypes),
across every cut-off, in both dtypes.
"""

import ctypes
import ctypes.util

import numpy
import pytensor
import pytensor.tensor as pt
import pytest

from deeplearning_tutorial.link.numpy import sigmoid as theano_ops
from deeplearning_tutorial.link.numpy.elemwise import UfuncElemwise
from deeplearning_tutorial.modes import NUMPY
from tests.helpers import take_way

LIBM = ctypes.CDLL(ctypes.util.find_library("m"))
C_FUNCTIONS = {}
for name, c_type in [("exp", ctypes.c_double), ("log1p", ctypes.c_double), ("expf", ctypes.c_float)]:
    C_FUNCTIONS[name] = getattr(LIBM, name)
    C_FUNCTIONS[name].restype, C_FUNCTIONS[name].argtypes = c_type, [c_type]
C_FUNCTIONS["log1pf"] = LIBM.log1pf
LIBM.log1pf.restype, LIBM.log1pf.argtypes = ctypes.c_float, [ctypes.c_float]


def c_sigmoid(v, dtype):
    low, high = theano_ops.SIGMOID_CUTOFFS[dtype]
    if dtype == "float32":
        v = numpy.float32(v)
        one = numpy.float32(1.0)
        return 0.0 if v < low else 1.0 if v > high else one / (one + numpy.float32(C_FUNCTIONS["expf"](-v)))
    return 0.0 if v < low else 1.0 if v > high else 1.0 / (1.0 + C_FUNCTIONS["exp"](-v))


def c_softplus(v, dtype):
    low, high = theano_ops.SOFTPLUS_CUTOFFS[dtype]
    suffix = "f" if dtype == "float32" else ""
    return 0.0 if v < low else v if v > high else C_FUNCTIONS["log1p" + suffix](C_FUNCTIONS["exp" + suffix](v))


def values(dtype):
    rng = numpy.random.default_rng(0)
    around_cutoffs = [
        c + d for c in (-745, -709, -103, -88, 14, 15, 16, 19) for d in (-0.5, 0.0, 0.5)
    ]  # each a float32 too
    info = numpy.finfo(dtype)
    tiny = [info.tiny, info.smallest_subnormal, info.eps, info.max]
    special = [-1e4, -0.0, 0.0, 1e4, numpy.inf, -numpy.inf, numpy.nan] + tiny + [-t for t in tiny]
    return numpy.concatenate([special, around_cutoffs, rng.uniform(-40, 40, 3000), rng.standard_normal(2991)]).astype(
        dtype
    )


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", ["sigmoid", "softplus"])
def test_each_element_is_theanos_c_formula(name, dtype):
    x = values(dtype)
    reference = {"sigmoid": c_sigmoid, "softplus": c_softplus}[name]
    expected = numpy.array([reference(v, dtype) for v in x.tolist()], dtype=dtype)
    function = getattr(theano_ops, name)
    got = function(x)
    assert got.dtype == dtype and got.shape == x.shape
    numpy.testing.assert_array_equal(got, expected)
    numpy.testing.assert_array_equal(function(x.reshape(-1, 3)[:, ::2]), expected.reshape(-1, 3)[:, ::2])  # a view


def test_the_cutoffs_make_a_difference_pytensors_formulas_do_not():
    """Just above 19, Theano's float64 sigmoid is 1 and PyTensor's is not; above 16 softplus(x) is x."""
    assert theano_ops.sigmoid(numpy.array([19.5]))[0] == 1.0 != 1 / (1 + numpy.exp(-19.5))
    assert theano_ops.softplus(numpy.array([16.5]))[0] == 16.5 != numpy.log1p(numpy.exp(16.5))
    assert theano_ops.sigmoid(numpy.array([15.5], dtype="float32"))[0] == 1.0


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_the_numpy_mode_computes_theanos_sigmoid_and_the_cross_entropy_with_it(dtype):
    """sigmoid, and log(sigmoid) / log(1 - sigmoid) (which PyTensor turns into softplus), in place or not."""
    a = pt.matrix("a", dtype=dtype)
    z = pt.sigmoid(a)
    x = pt.matrix("x", dtype=dtype)
    cost = -pt.sum(x * pt.log(z) + (1 - x) * pt.log(1 - z), axis=1).mean()
    fn = pytensor.function([a, x], [z, cost, pytensor.grad(cost, a)], mode=NUMPY)
    scalar_ops = [type(n.op.scalar_op) for n in fn.maker.fgraph.apply_nodes if isinstance(n.op, UfuncElemwise)]
    assert theano_ops.TheanoSigmoid in scalar_ops and theano_ops.TheanoSoftplus in scalar_ops
    assert not {pt.math.ps.Sigmoid, pt.math.ps.Softplus} & set(scalar_ops)  # exact types: only Theano's remain
    rng = numpy.random.default_rng(1)
    av = (rng.standard_normal((4, 6)) * 12).astype(dtype)
    xv = rng.uniform(size=(4, 6)).astype(dtype)
    got_z, got_cost, got_grad = fn(av, xv)
    numpy.testing.assert_array_equal(got_z, theano_ops.sigmoid(av))
    sp = theano_ops.softplus
    expected = (xv * sp(-av) + (1 - xv) * sp(av)).sum(axis=1).mean()
    numpy.testing.assert_allclose(got_cost, expected, rtol=1e-6 if dtype == "float32" else 1e-14)
    numpy.testing.assert_allclose(got_grad, (theano_ops.sigmoid(av) - xv) / 4, rtol=1e-5, atol=1e-6)


def test_the_scalar_impl_computes_the_same():
    assert theano_ops.theano_sigmoid.impl(19.5) == 1.0
    assert theano_ops.theano_softplus.impl(numpy.float32(14.5)) == numpy.float32(14.5)
    assert theano_ops.theano_softplus.impl(0.25) == theano_ops.softplus(numpy.array([0.25]))[0]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", ["sigmoid", "softplus"])
def test_a_large_array_on_two_threads_is_the_loop_on_one(name, dtype, monkeypatch):
    x = numpy.tile(values(dtype), 2)  # 12 000 values: above the size that may go to two threads
    assert x.size >= theano_ops._ON_CORES_MIN_SIZE
    got = {}
    for way in ("team", "alone"):
        take_way(monkeypatch, way)
        got[way] = getattr(theano_ops, name)(x)
    numpy.testing.assert_array_equal(got["team"], got["alone"])
    reference = {"sigmoid": c_sigmoid, "softplus": c_softplus}[name]
    numpy.testing.assert_array_equal(got["team"][:50], [reference(v, dtype) for v in x[:50].tolist()])
