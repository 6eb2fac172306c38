"""Tests of deeplearning_tutorial.link.numpy.elemwise: element-wise nodes with one NumPy call.

`UfuncElemwise` must give exactly what ``Elemwise.perform`` gives: the
``NUMPY`` mode is compared, bit for bit, with the same mode without it.
"""

import numpy
import pytensor
import pytensor.tensor as pt
import pytest

from deeplearning_tutorial.link.numpy.elemwise import UfuncElemwise
from deeplearning_tutorial.modes import NUMPY, numpy_mode

REFERENCE = numpy_mode(without=["ufunc_elemwise"])


def both_modes(inputs, outputs, values):
    """The outputs under NUMPY and under REFERENCE, and the NUMPY function."""
    functions = [pytensor.function(inputs, outputs, mode=mode) for mode in (NUMPY, REFERENCE)]
    return [fn(*[numpy.copy(v) for v in values]) for fn in functions], functions[0]


def test_the_tutorials_element_wise_graphs_give_the_same_bits():
    """Softmax, tanh and its gradient, in place and not, with float64 constants and a cast of labels."""
    x, y_float = pt.matrix("x", dtype="float32"), pt.vector("y", dtype="float32")
    W = pt.matrix("W", dtype="float32")
    y = pt.cast(y_float, "int32")
    h = pt.tanh(x @ W + 0.5)
    p = pt.special.softmax(h, axis=-1)
    cost = -pt.mean(pt.log(p)[pt.arange(y.shape[0]), y]) + 1e-4 * (W**2).sum()
    outputs = [cost, pytensor.grad(cost, W), pt.neq(pt.argmax(p, axis=1), y).mean(), y]
    rng = numpy.random.default_rng(0)
    values = [rng.standard_normal((20, 7)).astype("float32"), rng.integers(0, 3, 20).astype("float32")]
    values.append(rng.standard_normal((7, 3)).astype("float32"))
    (got, want), fn = both_modes([x, y_float, W], outputs, values)
    ops = [node.op for node in fn.maker.fgraph.apply_nodes]
    assert any(isinstance(op, UfuncElemwise) and op.inplace_pattern for op in ops)
    assert not any(type(op) is pt.elemwise.Elemwise for op in ops)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype
        numpy.testing.assert_array_equal(g, w)


@pytest.mark.parametrize(
    "dtype, values",
    [("int32", [0.0, 1.9, -1.9, 9.0]), ("int8", [3.0, -7.5]), ("bool", [0.0, 2.0]), ("float16", [1e-3, 7.1])],
)
def test_casts_are_c_casts(dtype, values):
    x = pt.vector("x")
    (got, want), _ = both_modes([x], pt.cast(x, dtype), [numpy.asarray(values)])
    assert got.dtype == want.dtype == dtype
    numpy.testing.assert_array_equal(got, want)


def test_a_runtime_broadcast_is_still_refused():
    """A length-1 axis the graph did not declare broadcastable is an error, as in Elemwise."""
    x, y = pt.matrix("x"), pt.matrix("y")
    fn = pytensor.function([x, y], x + y, mode=NUMPY)
    assert isinstance(fn.maker.fgraph.outputs[0].owner.op, UfuncElemwise)
    with pytest.raises(ValueError, match="[Rr]untime broadcasting"):
        fn(numpy.ones((3, 1)), numpy.ones((3, 4)))


def test_an_in_place_op_on_mixed_dtypes_rounds_as_elemwise():
    """float32 array times a float64 scalar, written into the float32 input."""
    x, s = pt.vector("x", dtype="float32"), pt.scalar("s", dtype="float64")
    out = pt.cast(x * s, "float32") + 1
    values = [numpy.linspace(0, 1, 11, dtype="float32"), numpy.float64(1 / 3)]
    (got, want), _ = both_modes([x, s], out, values)
    numpy.testing.assert_array_equal(got, want)
