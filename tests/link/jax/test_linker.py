"""The tutorials' JAX linker: data kept on the device, assertions checked."""

import numpy
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.raise_op import Assert

jax = pytest.importorskip("jax")

from jax.experimental.checkify import JaxRuntimeError  # noqa: E402

from deeplearning_tutorial.link import load_backend  # noqa: E402

JAX = load_backend(pytensor.compile.mode.get_mode("JAX"))


def test_shared_data_moves_to_the_device_once():
    data = pytensor.shared(numpy.arange(12.0).reshape(4, 3), name="data")
    W = pytensor.shared(numpy.ones(3), name="W")
    i = pt.lscalar("i")
    step = pytensor.function([i], (data[i] * W).sum(), updates=[(W, W * 2)], mode=JAX)
    assert step(1) == 12.0
    on_device = data.get_value(borrow=True)
    assert isinstance(on_device, jax.Array) and isinstance(W.get_value(borrow=True), jax.Array)
    assert step(2) == 2 * 21.0
    assert data.get_value(borrow=True) is on_device  # not copied again
    data.set_value(numpy.zeros((4, 3)))  # a new NumPy value goes to the device on the next call
    assert step(0) == 0.0
    assert isinstance(data.get_value(borrow=True), jax.Array)


def test_assertions_are_checked():
    x = pt.vector("x")
    fn = pytensor.function([x], Assert("x must be positive")(x, pt.all(x > 0)) * 2, mode=JAX)
    numpy.testing.assert_array_equal(fn(numpy.array([1.0, 2.0])), [2.0, 4.0])
    with pytest.raises(JaxRuntimeError, match="x must be positive"):
        fn(numpy.array([1.0, -2.0]))


def test_pytensors_own_jax_mode_still_drops_them():
    x = pt.vector("x")
    with pytest.warns(UserWarning, match="Skipping"):
        fn = pytensor.function([x], Assert("x must be positive")(x, pt.all(x > 0)) * 2, mode="JAX")
    numpy.testing.assert_array_equal(fn(numpy.array([-1.0])), [-2.0])
