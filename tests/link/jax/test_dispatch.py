"""The tutorials' JAX conversions of PyTensor's own ops, against the default mode."""

import numpy
import pytensor
import pytensor.tensor as pt
import pytest

jax = pytest.importorskip("jax")

from pytensor.link.jax.dispatch import jax_funcify  # noqa: E402

from deeplearning_tutorial.link import load_backend  # noqa: E402
from tests.helpers import DTYPES, assert_same_as_reference_mode  # noqa: E402

JAX = load_backend(pytensor.compile.mode.get_mode("JAX"))


@pytest.mark.parametrize("dtype", DTYPES)
def test_a_sum_keeps_its_output_dtype_and_accumulates_in_its_acc_dtype(dtype):
    """A float32 mean (a ``Sum{acc=float64}``) is a float32 computed from a float64 sum, as in NumPy."""
    x = pt.matrix("x", dtype=dtype)
    outputs = [x.mean(), x.sum(axis=0), x.sum(axis=1, acc_dtype="float64"), pt.max(x, axis=1)]
    rng = numpy.random.default_rng(0)
    # 1 + small values: a float32 accumulator would lose the small parts.
    value = (1 + rng.random((300, 7)) * 1e-4).astype(dtype)
    assert_same_as_reference_mode([x], outputs, [value], JAX)
    fn = pytensor.function([x], outputs, mode=JAX)
    assert [out.dtype for out in fn(value)] == [numpy.dtype(dtype)] * 4


def test_a_float32_training_step_stays_float32():
    """PyTensor's own conversion turned the updated parameters float64 after the first step."""
    rng = numpy.random.default_rng(1)
    W = pytensor.shared(rng.random((5, 3), dtype="float32"), name="W")
    x = pt.matrix("x", dtype="float32")
    cost = pt.special.softmax(x @ W, axis=-1).max(axis=1).mean()
    step = pytensor.function([x], cost, updates=[(W, W - numpy.float32(0.1) * pytensor.grad(cost, W))], mode=JAX)
    for _ in range(2):
        assert step(rng.random((4, 5), dtype="float32")).dtype == numpy.float32
        assert W.get_value(borrow=True).dtype == numpy.float32


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "n, k, m",
    [
        (600, 784, 10),  # logistic regression's weight gradient: computed as (d.T @ x).T
        (20, 784, 500),  # the MLP's first-layer gradient: as it is
        (20, 500, 10),
    ],
)
def test_a_product_with_a_transposed_left_operand(dtype, n, k, m):
    """Small integers: every sum is exact, so any order of the additions must give the same bits."""
    x, d, e = (pt.matrix(name, dtype=dtype) for name in "xde")
    rng = numpy.random.default_rng(2)
    values = [rng.integers(-4, 5, shape).astype(dtype) for shape in ((n, k), (n, m), (m, n))]
    got = pytensor.function([x, d, e], [x.T @ d, d.T @ x, x.T @ e.T], mode=JAX)(*values)
    x, d, e = values
    for result, expected in zip(got, [x.T @ d, d.T @ x, x.T @ e.T]):
        assert result.dtype == dtype
        numpy.testing.assert_array_equal(result, expected)


@pytest.mark.parametrize("n, k, m, turned", [(600, 784, 10, True), (20, 784, 500, False)])
def test_the_product_is_turned_when_that_copies_less(n, k, m, turned):
    x, d = pt.matrix("x"), pt.matrix("d")
    fn = pytensor.function([x, d], x.T @ d, mode=JAX)
    traced = jax_funcify(fn.maker.fgraph, tutorial_linker=True)
    hlo = jax.jit(traced).lower(numpy.ones((n, k)), numpy.ones((n, m))).as_text()
    assert ("optimization_barrier" in hlo) == turned


def test_arange_with_constant_bounds_past_int8():
    """``arange(600)`` starts from an int8 0; computed in int8 it would wrap around at 128."""
    n = pt.lscalar("n")
    fn = pytensor.function([n], pt.arange(600)[n], mode=JAX)
    assert fn(599) == 599
