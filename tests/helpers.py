"""Helpers shared by the tests: golden outputs of the historical code, and op comparisons."""

import json
import os
import re
import subprocess
import sys

import numpy
import pytensor
import pytensor.tensor as pt
import pytest

from deeplearning_tutorial import runs
from deeplearning_tutorial.logs import golden_text, result_lines
from deeplearning_tutorial.modes import NUMPY

LEGACY_DIR = os.path.join(os.path.dirname(__file__), "legacy")
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# -- golden logs and costs of the historical code -----------------------------


def golden_log(name):
    """Result lines of a golden log shipped with the package (stdout and stderr merged)."""
    return result_lines(golden_text(name))


PERCENT = re.compile(r"(\d+\.\d+) %")


def assert_log_matches(lines, golden, samples=0, n_examples=10000):
    """Compare result lines; error rates may differ by up to ``samples`` images.

    Everything but the error rates must be identical.  ``samples`` > 0 is for
    float32 LeNet runs, where the order of float32 sums differs between
    convolution implementations and can flip a single borderline image of
    the 10 000 validation or test images (as between Theano on different
    machines).
    """
    assert [PERCENT.sub("%", line) for line in lines] == [PERCENT.sub("%", line) for line in golden]
    for line, expected in zip(lines, golden):
        for got, want in zip(PERCENT.findall(line), PERCENT.findall(expected)):
            assert abs(float(got) - float(want)) <= samples * 100.0 / n_examples + 1e-9, (line, expected)


FINAL = re.compile(
    r"Best validation score of (\d+\.\d+) % obtained at iteration \d+, with test performance (\d+\.\d+) %"
)


def assert_published_result(lines, validation, test, samples=2, n_examples=10000):
    """The best validation and test errors of a full float32 run, within ``samples`` images.

    A float32 run of hundreds of epochs does not end on the same iteration
    on every machine: rounding differs with the order of every sum, and the
    historical code's own published runs differ by an image and in the
    iteration between a CPU and two GPUs.  So the iteration is not compared.
    """
    match = FINAL.search(lines[-1])
    assert match, lines[-1]
    for got, want in zip(map(float, match.groups()), (validation, test)):
        assert abs(got - want) <= samples * 100.0 / n_examples + 1e-9, (lines[-1], validation, test)


def golden_costs(model, dtype):
    """The first 100 training costs the historical code returned."""
    with open(os.path.join(LEGACY_DIR, f"{model}.costs.{dtype}.json")) as f:
        content = json.load(f)
    assert content["model"] == model and content["floatX"] == dtype
    return [float(c) for c in content["first_minibatch_costs"]]


def assert_costs_match(costs, model, dtype):
    """Compare the first 100 training costs with the historical ones.

    float64 must agree to 1e-9 relative.  In float32, rounding differs with
    the order of every sum (the BLAS kernel's blocking, which depends on the
    processor, and the convolution algorithm) and grows with each SGD step:
    by step 100 the historical float32 costs are up to 4.7e-5 (LeNet) away
    from the historical float64 ones.  So in float32 the first 10 costs must
    agree with the historical float32 ones to 1e-5, and each of the 100 must
    either agree with the historical float32 cost to 1e-5 (Theano's own
    float32 result, rounded in another order), or be at least as close to
    the float64 (near-exact) costs as the historical float32 ones were
    (and never further than 1e-5 where those were closer).
    """
    costs = numpy.asarray(costs[:100])
    exact = numpy.asarray(golden_costs(model, "float64"))
    if dtype == "float64":
        numpy.testing.assert_allclose(costs, exact, rtol=1e-9)
        return
    historical = numpy.asarray(golden_costs(model, "float32"))
    numpy.testing.assert_allclose(costs[:10], historical[:10], rtol=1e-5)
    historical_error = numpy.max(numpy.abs(historical / exact - 1))
    n = len(costs)
    near_theano = numpy.abs(costs / historical[:n] - 1) <= 1e-5
    near_exact = numpy.abs(costs / exact[:n] - 1) <= max(1e-5, historical_error)
    bad = numpy.flatnonzero(~(near_theano | near_exact))
    assert not bad.size, (
        f"float32 costs too far from both the historical float32 and float64 ones at steps {bad.tolist()}: "
        f"{costs[bad].tolist()} against {historical[bad].tolist()} and {exact[bad].tolist()}"
    )


class StopTraining(Exception):
    """Raised by `CostRecorder` once it has the costs a test asked for."""


class CostRecorder(list):
    """The costs returned by the training function, in order.

    Set ``stop_after`` to end the run (by raising `StopTraining`) once that
    many costs are recorded: enough to check a compiled graph without
    training for a whole epoch.  ``params`` are the shared variables the
    training function updates, in the order of its updates.
    """

    stop_after = None
    params = ()


def run_tutorial(capsys, fn, **kwargs):
    """Run a tutorial function; return its stdout+stderr result lines."""
    fn(**kwargs)
    out, err = capsys.readouterr()
    return result_lines(out + err)


def run_module(module, cwd, pytensor_flags):
    """Run ``python -m deeplearning_tutorial.<module>`` as a reader would, with ``PYTENSOR_FLAGS``.

    Returns the finished process, whose exit status was 0.
    """
    env = dict(os.environ, PYTENSOR_FLAGS=pytensor_flags, PYTHONPATH=REPO)
    command = [sys.executable, "-m", f"deeplearning_tutorial.{module}"]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=True)


def show_log(capsys, lines):
    """Print a captured log to the terminal, so a long run leaves its numbers behind."""
    with capsys.disabled():
        print("\n" + "\n".join(lines))


def logistic_step(batch_size=20):
    """A logistic regression step on shared data taken by minibatch index, as logistic_sgd builds it."""
    rng = numpy.random.RandomState(3)
    data_x = pytensor.shared(rng.randn(100, 5), name="data_x")
    data_y = pytensor.shared(rng.randint(0, 3, 100).astype("int32"), name="data_y")
    W = pytensor.shared(rng.randn(5, 3), name="W")
    x, y, index = pt.matrix("x"), pt.ivector("y"), pt.lscalar("index")
    p = pt.special.softmax(x @ W, axis=-1)
    cost = -pt.mean(pt.log(p)[pt.arange(y.shape[0]), y])
    minibatch = slice(index * batch_size, (index + 1) * batch_size)
    givens = {x: data_x[minibatch], y: data_y[minibatch]}
    return index, [cost, pytensor.grad(cost, W)], givens


# -- ops: every implementation against one reference --------------------------

#: The implementations the op tests run: the tutorials' own mode (PyTensor's
#: Python VM running each op's perform) and the C backend.  The Numba
#: backend has its own tests (tests/link/numba), as its compiles are slow.
IMPLEMENTATIONS = [pytest.param(NUMPY, id="py"), pytest.param("CVM", id="cvm")]
TOLERANCE = {"float64": 1e-12, "float32": 1e-5}
DTYPES = ["float64", "float32"]


def T4(*shape, dtype="float64"):
    """A symbolic 4-d tensor, with the static shape given (if any)."""
    return pt.tensor4(shape=shape or (None,) * 4, dtype=dtype)


def compiled(inputs, outputs, mode):
    return pytensor.function(inputs, outputs, mode=mode)


def assert_close(result, expected, dtype):
    assert result.dtype == dtype
    numpy.testing.assert_allclose(result, expected, rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype])


def assert_same_as_reference_mode(inputs, outputs, values, mode, reference=NUMPY):
    """``outputs`` compiled under ``mode`` give what they give under ``reference``, to the dtype's tolerance."""
    got = compiled(inputs, outputs, mode)(*values)
    expected = compiled(inputs, outputs, reference)(*values)
    for value, want in zip(got, expected):
        assert_close(value, want, want.dtype.name)


class OutputsRun(runs.Run):
    """Keeps every output of every compiled function, and the compiled functions themselves."""

    def __init__(self):
        self.functions = []

    def function(self, *args, **kwargs):
        fn = super().function(*args, **kwargs)
        outputs = []
        self.functions.append((fn, outputs))

        def call(*inputs, **named):
            value = fn(*inputs, **named)
            outputs.append(float(value))
            return value

        return call

    def updated(self):
        """(function number, shared variable) for every shared variable a function updates, each once."""
        seen = []
        for number, (fn, _) in enumerate(self.functions):
            for var in (i.variable for i in fn.maker.inputs if i.update is not None):
                if all(var is not v for _, v in seen):
                    seen.append((number, var))
        return seen


# -- Numba's team of threads ------------------------------------------------------


def take_way(monkeypatch, way):
    """Make `threads.on_team_if_faster` always take ``way``: "team" (Numba's threads) or "alone" (the caller)."""
    from deeplearning_tutorial.ops import threads

    def chosen(kind, on_team, alone):
        return on_team() if way == "team" else alone()

    monkeypatch.setattr(threads, "on_team_if_faster", chosen)
