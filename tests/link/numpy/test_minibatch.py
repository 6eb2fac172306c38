"""Tests of deeplearning_tutorial.link.numpy.minibatch: minibatch slices of a static length.

Which slices the rewrite recognises, the op's range check, and a training
step of the ``NUMPY`` mode (which uses the rewrite) against the same step
compiled without it.  The JAX implementation is tested in
tests/link/jax/test_minibatch.py.
"""

import numpy
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.graph.fg import FunctionGraph
from pytensor.graph.rewriting.basic import dfs_rewriter

from deeplearning_tutorial.link.numpy.minibatch import StaticLengthSlice, static_length_slices
from deeplearning_tutorial.modes import NUMPY, numpy_mode

WITHOUT_STATIC_SLICES = numpy_mode(without=["static_length_slices"])


def mlp_step(batch_size=20):
    """A training step of a one-hidden-layer network on shared data, minibatches taken as the tutorials take them."""
    rng = numpy.random.RandomState(3)
    data_x = pytensor.shared(rng.randn(100, 5), name="data_x")
    data_y = pytensor.shared(rng.randint(0, 3, 100).astype("float64"), name="data_y")
    W = pytensor.shared(rng.randn(5, 4), name="W")
    V = pytensor.shared(rng.randn(4, 3), name="V")
    x, y, index = pt.matrix("x"), pt.ivector("y"), pt.lscalar("index")
    p = pt.special.softmax(pt.tanh(x @ W) @ V, axis=-1)
    cost = -pt.mean(pt.log(p)[pt.arange(y.shape[0]), y]) + 1e-4 * (W**2).sum()
    labels = pt.cast(data_y, "int32")
    minibatch = slice(index * batch_size, (index + 1) * batch_size)
    updates = [(param, param - 0.01 * pytensor.grad(cost, param)) for param in (W, V)]
    givens = {x: data_x[minibatch], y: labels[minibatch]}
    return index, cost, updates, givens, (W, V)


def test_a_training_step_is_the_same_with_static_slices():
    results = []
    for mode in (NUMPY, WITHOUT_STATIC_SLICES):
        index, cost, updates, givens, params = mlp_step()
        step = pytensor.function([index], cost, updates=updates, givens=givens, mode=mode)
        ops = [node.op for node in step.maker.fgraph.apply_nodes]
        assert (StaticLengthSlice(20) in ops) == (mode is NUMPY)
        costs = [step(i) for i in (0, 3, 1, 4, 2)]
        results.append((costs, [param.get_value() for param in params]))
    (costs, params), (expected_costs, expected_params) = results
    numpy.testing.assert_array_equal(costs, expected_costs)
    for got, want in zip(params, expected_params):
        numpy.testing.assert_array_equal(got, want)


def test_the_labels_are_cast_a_minibatch_at_a_time():
    """The slice moves below the cast, so a step does not convert the whole label vector."""
    index, cost, updates, givens, params = mlp_step()
    step = pytensor.function([index], cost, updates=updates, givens=givens, mode=NUMPY)
    for node in step.maker.fgraph.apply_nodes:
        if isinstance(node.op, StaticLengthSlice):
            assert node.inputs[0].owner is None, node


def test_the_result_is_a_view_of_the_data_and_says_so():
    """PyTensor must know of the view, or an in-place op downstream could write into the dataset."""
    x, start = pt.matrix(), pt.lscalar()
    node = StaticLengthSlice(2)(x, start).owner
    data, storage = numpy.arange(8.0).reshape(4, 2), [[None]]
    node.op.perform(node, [data, numpy.int64(1)], storage)
    numpy.testing.assert_array_equal(storage[0][0], [[2, 3], [4, 5]])
    assert numpy.shares_memory(storage[0][0], data)
    assert node.op.view_map == {0: [0]}


def test_the_numpy_implementation_checks_the_range_too():
    x, start = pt.matrix(), pt.lscalar()
    fn = pytensor.function([x, start], StaticLengthSlice(2)(x, start), mode=NUMPY)
    numpy.testing.assert_array_equal(fn(numpy.arange(8.0).reshape(4, 2), 2), [[4, 5], [6, 7]])
    with pytest.raises(IndexError, match="a slice of 2 rows from row 3 does not fit in an array of 4 rows"):
        fn(numpy.zeros((4, 2)), 3)


@pytest.mark.parametrize(
    "bounds, length",
    [
        (lambda i, j: (i, i + 5), 5),
        (lambda i, j: (3 - i, 8 - i), 5),
        (lambda i, j: (2 * (i + j) - 1, 2 * j + 2 * i + 3), 4),
        (lambda i, j: (i * 4 - j, (i + 1) * 4 - j), 4),
        (lambda i, j: (i, 2 * i), None),
        (lambda i, j: (i, j + 3), None),
        # A product of variables is a term of its own (one node: the mode merges equal ones first).
        (lambda i, j: (lambda p: (p, p + 1))(i * j), 1),
    ],
)
def test_which_slices_get_a_static_length(bounds, length):
    i, j = pt.lscalar("i"), pt.lscalar("j")
    data = pt.matrix("data")
    start, stop = bounds(i, j)
    fgraph = FunctionGraph([data, i, j], [data[start:stop]])
    dfs_rewriter(static_length_slices).rewrite(fgraph)
    ops = [node.op for node in fgraph.apply_nodes if isinstance(node.op, StaticLengthSlice)]
    assert ops == ([] if length is None else [StaticLengthSlice(length)])
