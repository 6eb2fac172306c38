"""Checks of the tutorials' JAX functions: on the host before the call, or in it."""

import logging

import numpy
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.raise_op import Assert, CheckAndRaise

jax = pytest.importorskip("jax")

from jax.experimental.checkify import JaxRuntimeError  # noqa: E402

from deeplearning_tutorial.link import load_backend  # noqa: E402
from deeplearning_tutorial.link.numpy.minibatch import StaticLengthSlice  # noqa: E402
from tests.helpers import logistic_step  # noqa: E402

JAX = load_backend(pytensor.compile.mode.get_mode("JAX"))


def checks_in(fn):
    return {node for node in fn.maker.fgraph.apply_nodes if isinstance(node.op, CheckAndRaise | StaticLengthSlice)}


def test_a_minibatch_steps_checks_are_all_made_on_the_host():
    """The index, the data's rows and the minibatch lengths are all known before the call."""
    index, outputs, givens = logistic_step()
    fn = pytensor.function([index], outputs, givens=givens, mode=JAX)
    checks = checks_in(fn)
    assert {type(node.op) for node in checks} >= {StaticLengthSlice}
    assert set(fn.maker.linker.host_checks.nodes) == checks
    assert fn.maker.linker.host_checks.in_call == []
    assert numpy.isfinite(fn(4)[0])


def test_a_shape_assertion_fails_on_the_host_with_its_own_exception():
    W = pytensor.shared(numpy.ones((3, 2)), name="W")
    b = pytensor.shared(numpy.ones(2), name="b")
    x = pt.matrix("x")
    out = Assert("W and b do not match")(x @ W, pt.eq(W.shape[1], b.shape[0])) + b
    fn = pytensor.function([x], out, mode=JAX)
    assert len(fn.maker.linker.host_checks.nodes) == 1
    numpy.testing.assert_array_equal(fn(numpy.ones((1, 3))), [[4.0, 4.0]])
    b.set_value(numpy.ones(3))
    for _ in range(2):  # a failure is not remembered as a pass
        with pytest.raises(AssertionError, match="W and b do not match"):
            fn(numpy.ones((1, 3)))


def test_a_value_assertion_stays_in_the_call():
    x = pt.vector("x")
    fn = pytensor.function([x], Assert("x must be positive")(x, pt.all(x > 0)), mode=JAX)
    assert fn.maker.linker.host_checks.nodes == []
    assert fn.maker.linker.host_checks.in_call == list(checks_in(fn))
    with pytest.raises(JaxRuntimeError, match="x must be positive"):
        fn(numpy.array([1.0, -2.0]))


def test_a_function_is_compiled_before_its_first_call(caplog):
    """As in the other modes: ``pytensor.function`` compiles, and moves the shared data to the device."""
    index, outputs, givens = logistic_step()
    with jax.log_compiles(True), caplog.at_level(logging.DEBUG):
        fn = pytensor.function([index], outputs, givens=givens, mode=JAX)
        assert isinstance(givens[next(iter(givens))].owner.inputs[0].get_value(borrow=True), jax.Array)
        compiled = len(caplog.records)
        fn(1)
    assert compiled > 0
    assert not [r for r in caplog.records[compiled:] if "Compiling" in r.getMessage()]
