"""Tests of deeplearning_tutorial.link.numpy.vm: the NUMPY mode's virtual machine."""

import warnings

import numpy
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.ifelse import ifelse
from pytensor.link.vm import Stack
from pytensor.tensor.blas import Dot22

from deeplearning_tutorial.link.numpy.minibatch import StaticLengthSlice
from deeplearning_tutorial.link.numpy.vm import QuietLoop
from deeplearning_tutorial.modes import NUMPY
from deeplearning_tutorial.ops import Conv2d, blas_kernels, conv2d


def test_numpy_mode_functions_run_on_the_quiet_loop():
    x = pt.vector("x")
    fn = pytensor.function([x], pt.exp(x).sum(), mode=NUMPY)
    assert type(fn.vm) is QuietLoop
    assert fn(numpy.arange(3.0)) == pytest.approx(numpy.exp(numpy.arange(3.0)).sum())


def test_floating_point_exceptions_do_not_warn():
    """Every node runs under errstate(all='ignore'), as Theano's C code never warned."""
    x = pt.vector("x")
    fn = pytensor.function([x], [pt.log(x), 1.0 / x, pt.exp(x).sum() * 2.0], mode=NUMPY)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        log, inverse, big = fn(numpy.array([-1.0, 0.0, 800.0]))
    assert numpy.isnan(log[0]) and log[1] == -numpy.inf
    assert inverse[1] == numpy.inf and big == numpy.inf


def test_an_error_is_reported_as_pytensor_reports_it():
    """The op's own exception, with PyTensor's note about the node (raise_with_op)."""
    data, start = pt.matrix("data"), pt.lscalar("start")
    fn = pytensor.function([data, start], StaticLengthSlice(3)(data, start) * 2, mode=NUMPY)
    with pytest.raises(IndexError, match="a slice of 3 rows from row 2 does not fit") as info:
        fn(numpy.zeros((4, 2)), 2)
    assert any("exception_verbosity" in note for note in info.value.__notes__)
    with pytensor.config.change_flags(exception_verbosity="high"):
        with pytest.raises(IndexError) as info:
            fn(numpy.zeros((4, 2)), 2)
    text = str(info.value) + "".join(getattr(info.value, "__notes__", []))
    assert "StaticLengthSlice" in text


def test_intermediate_results_are_freed_after_their_last_use():
    x = pt.vector("x")
    middle = pt.exp(x)
    fn = pytensor.function([x], middle.sum(), mode=NUMPY)
    assert fn(numpy.ones(5)) == pytest.approx(5 * numpy.e)
    intermediates = [
        v for node in fn.maker.fgraph.apply_nodes for v in node.outputs if v not in fn.maker.fgraph.outputs
    ]
    assert intermediates
    assert all(fn.vm.storage_map[v][0] is None for v in intermediates)


def test_updates_and_repeated_calls():
    W = pytensor.shared(numpy.ones(3))
    x = pt.vector("x")
    step = pytensor.function([x], (W * x).sum(), updates=[(W, W - 0.5 * x)], mode=NUMPY)
    assert [float(step(numpy.arange(3.0))) for _ in range(3)] == [3.0, 0.5, -2.0]
    numpy.testing.assert_array_equal(W.get_value(), [1.0, -0.5, -2.0])


def test_a_call_holding_a_node_that_splits_its_work_keeps_blas_on_one_thread(monkeypatch):
    """The whole call, not only that node: BLAS's idle threads would busy-wait against the node's."""
    get, set_ = blas_kernels.load().thread_counts
    seen = []

    def record(op_class):
        perform = op_class.perform

        def recording(self, node, inputs, outputs):
            seen.append((op_class.__name__, get()))
            return perform(self, node, inputs, outputs)

        monkeypatch.setattr(op_class, "perform", recording)

    record(Conv2d)
    record(Dot22)
    x, w, m = pt.tensor4("x"), pt.tensor4("w"), pt.matrix("m")
    fn = pytensor.function([x, w, m], [conv2d(x, w).sum(), pt.dot(m, m)], mode=NUMPY)
    m32 = pt.matrix("m32", dtype="float32")
    without_conv = pytensor.function([m32], pt.dot(m32, m32), mode=NUMPY)
    before = get()
    set_(2)
    try:
        fn(numpy.ones((2, 1, 4, 4)), numpy.ones((3, 1, 2, 2)), numpy.ones((3, 3)))
        assert sorted(seen) == [("Conv2d", 1), ("Dot22", 1)]
        assert get() == 2
        seen.clear()
        # a float32 product too large for one BLAS thread (link/numpy/blas.py; a float64 one never uses BLAS's threads)
        without_conv(numpy.ones((256, 256), dtype="float32"))
        assert seen == [("Dot22", 2)]
    finally:
        set_(before)


def test_a_lazy_graph_keeps_the_virtual_machine_pytensor_chose():
    """Only a plain `Loop` becomes a `QuietLoop`; an ``ifelse`` needs PyTensor's lazy ``Stack``."""
    a, b = pt.vector("a"), pt.vector("b")
    fn = pytensor.function([a, b], ifelse(pt.lt(a.sum(), b.sum()), a * 2, b * 3), mode=NUMPY)
    assert type(fn.vm) is Stack
    numpy.testing.assert_array_equal(fn(numpy.ones(2), numpy.full(2, 2.0)), [2.0, 2.0])
    numpy.testing.assert_array_equal(fn(numpy.full(2, 2.0), numpy.ones(2)), [3.0, 3.0])
