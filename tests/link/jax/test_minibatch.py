"""Minibatch slices of a static length under the tutorials' JAX mode (the op: tests/ops/test_minibatch.py)."""

import numpy
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.graph.replace import clone_replace

pytest.importorskip("jax")

from jax.experimental.checkify import JaxRuntimeError  # noqa: E402

from deeplearning_tutorial.link import load_backend  # noqa: E402
from deeplearning_tutorial.link.numpy.minibatch import StaticLengthSlice  # noqa: E402
from tests.helpers import assert_same_as_reference_mode, logistic_step  # noqa: E402

JAX = load_backend(pytensor.compile.mode.get_mode("JAX"))


def slices_of(index, outputs, givens):
    fn = pytensor.function([index], outputs, givens=givens, mode=JAX)
    return [node.op for node in fn.maker.fgraph.apply_nodes if isinstance(node.op, StaticLengthSlice)]


def test_a_minibatch_step_gives_what_the_numpy_mode_gives_for_every_index():
    index, outputs, givens = logistic_step()
    assert set(slices_of(index, outputs, givens)) == {StaticLengthSlice(20)}
    outputs = clone_replace(outputs, givens)
    for i in range(5):
        assert_same_as_reference_mode([index], outputs, [i], JAX)


@pytest.mark.parametrize("index", [5, -1, 100])
def test_an_index_past_the_data_raises(index):
    """NumPy would return a shorter (or empty) minibatch; JAX would silently move the slice.

    The check is made on the host, before the call, and raises what the
    default mode raises.
    """
    step, outputs, givens = logistic_step()
    fn = pytensor.function([step], outputs, givens=givens, mode=JAX)
    with pytest.raises(
        IndexError, match=f"a slice of 20 rows from row {index * 20} does not fit in an array of 100 rows"
    ):
        fn(index)


def test_an_index_past_data_computed_in_the_call_raises_after_it():
    """When the start comes from a device value, the check stays in the call (checkify)."""
    data = pytensor.shared(numpy.arange(10.0), name="data")
    starts = pytensor.shared(numpy.array([0, 8]), name="starts")
    k = pt.lscalar("k")
    fn = pytensor.function([k], data[starts[k] : starts[k] + 4].sum(), mode=JAX)
    assert fn(0) == 6.0
    with pytest.raises(JaxRuntimeError, match="a slice of 4 rows from row 8 does not fit in an array of 10 rows"):
        fn(1)
