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


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_the_tutorials_element_wise_graphs_give_the_same_bits(dtype):
    """Softmax, tanh and its gradient, in place and not, with float64 constants and a cast of labels.

    In float32 the gradient's product of three inputs is rounded after each
    multiplication, as in Theano, where ``Elemwise.perform`` rounds it once
    from float64: those values, and what is computed from them, differ in
    the last bits.
    """
    x, y_float = pt.matrix("x", dtype=dtype), pt.vector("y", dtype=dtype)
    W = pt.matrix("W", dtype=dtype)
    y = pt.cast(y_float, "int32")
    h = pt.tanh(x @ W + 0.5)
    p = pt.special.softmax(h, axis=-1)
    cost = -pt.mean(pt.log(p)[pt.arange(y.shape[0]), y]) + 1e-4 * (W**2).sum()
    outputs = [cost, pytensor.grad(cost, W), pt.neq(pt.argmax(p, axis=1), y).mean(), y]
    rng = numpy.random.default_rng(0)
    values = [rng.standard_normal((20, 7)).astype(dtype), rng.integers(0, 3, 20).astype(dtype)]
    values.append(rng.standard_normal((7, 3)).astype(dtype))
    (got, want), fn = both_modes([x, y_float, W], outputs, values)
    ops = [node.op for node in fn.maker.fgraph.apply_nodes]
    assert any(isinstance(op, UfuncElemwise) and op.inplace_pattern for op in ops)
    assert not any(type(op) is pt.elemwise.Elemwise for op in ops)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype
        if dtype == "float64" or g.dtype.kind != "f":
            numpy.testing.assert_array_equal(g, w)
        else:
            numpy.testing.assert_allclose(g, w, rtol=2e-6, atol=1e-7)


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


@pytest.mark.parametrize("dtype", ["float64", "float32", "int16"])
@pytest.mark.parametrize("op", [pt.mul, pt.add])
def test_an_op_of_three_inputs_chains_its_ufunc_left_to_right(dtype, op):
    """``(a * b) * c``, each step rounded in the dtype, as Theano's C code; with broadcast inputs."""
    a, b, c = pt.matrix("a", dtype=dtype, shape=(1, 1)), pt.matrix("b", dtype=dtype), pt.matrix("c", dtype=dtype)
    fn = pytensor.function([a, b, c], op(a, b, c), mode=NUMPY)
    (node,) = fn.maker.fgraph.apply_nodes
    assert isinstance(node.op, UfuncElemwise) and len(node.inputs) == 3
    rng = numpy.random.default_rng(2)
    values = [rng.uniform(-3, 3, shape).astype(dtype) * 7 for shape in [(1, 1), (40, 30), (40, 30)]]
    ufunc = numpy.multiply if op is pt.mul else numpy.add
    expected = ufunc(ufunc(values[0], values[1]), values[2])
    got = fn(*values)
    assert got.dtype == dtype
    numpy.testing.assert_array_equal(got, expected)
    if dtype == "float64":  # what Elemwise.perform computes, one element at a time
        (reference, _), _ = both_modes([a, b, c], op(a, b, c), values)
        numpy.testing.assert_array_equal(got, reference)


def test_scalars_and_a_broadcast_last_input_chain_too():
    a, b, c = pt.scalar("a"), pt.scalar("b"), pt.vector("c")
    (got, want), _ = both_modes([a, b, c], [a * b * c, a + b + a * b * a], [2.5, 1 / 3, numpy.linspace(-1, 1, 7)])
    for g, w in zip(got, want):
        numpy.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_pytensors_softplus_on_whole_arrays_gives_its_bits(dtype):
    """PyTensor's softplus (without the NUMPY mode's Theano softplus), across its cut-offs, as Elemwise.perform."""
    x = pt.vector("x", dtype=dtype)
    values = numpy.concatenate([numpy.linspace(-60, 60, 2401), [-800.0, 18.0, 33.3, 800.0, numpy.nan]])
    functions = [
        pytensor.function([x], pt.softplus(x), mode=numpy_mode(without=without))
        for without in (["theano_sigmoid"], ["theano_sigmoid", "ufunc_elemwise"])
    ]
    assert isinstance(functions[0].maker.fgraph.outputs[0].owner.op, UfuncElemwise)
    got, want = (fn(values.astype(dtype)) for fn in functions)
    assert got.dtype == want.dtype == dtype
    numpy.testing.assert_array_equal(got, want)
