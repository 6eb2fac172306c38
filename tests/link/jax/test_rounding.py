"""Divisions by a size round as in the other modes under JAX."""

import numpy
import pytensor
import pytensor.tensor as pt
import pytest

pytest.importorskip("jax")

from deeplearning_tutorial.link import load_backend  # noqa: E402
from tests.helpers import assert_same_as_reference_mode  # noqa: E402

JAX = load_backend(pytensor.compile.mode.get_mode("JAX"))


def test_a_minibatch_error_rate_is_the_count_divided_by_the_batch_size():
    """XLA would multiply by 1/600 instead, which differs in the last bit for 249 of these counts."""
    batch = 600
    labels = pytensor.shared(numpy.zeros(2 * batch, dtype="int32"))
    predictions, index = pt.lvector("predictions"), pt.lscalar("index")
    y = labels[index * batch : (index + 1) * batch]
    error_rate = pt.mean(pt.neq(predictions, y))
    fn = pytensor.function([predictions, index], error_rate, mode=JAX)
    for count in range(batch + 1):
        wrong = (numpy.arange(batch) < count).astype("int64")
        assert float(fn(wrong, 1)) == count / batch


def test_a_mean_over_a_dynamic_shape_and_its_gradient():
    x = pt.matrix("x")
    outputs = [x.mean(), pytensor.grad((x.mean(axis=0) ** 2).sum(), x)]
    assert_same_as_reference_mode([x], outputs, [numpy.random.RandomState(2).randn(7, 3)], JAX)
