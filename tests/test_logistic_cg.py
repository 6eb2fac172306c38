"""Tests of logistic_cg: the flat-parameter model, parity with the historical code, its command line, stop and resume.

Parity is checked twice.  The printed lines must be those of the historical
code's golden logs.  Those show six digits of a few validation errors, so
each run also records what ``scipy.optimize.fmin_cg`` received and returned
(`tests/legacy/cg_trace.py`): every value of the objective, a sample of
every gradient and of the final parameters.

Tolerances, stated before any comparison:

- float64: the objective values and the final parameters agree with the
  historical ones to 12 significant digits (relative 1e-12; for the
  parameters, 1e-12 of their largest entry), the gradients' entries to 12
  digits of the first gradient (see `assert_trace_matches_float64`).
  Measured (10 iterations): objective 1.4e-13, parameters 1.1e-13,
  gradients 3.3e-13.  Each iteration's search direction carries the
  rounding of the previous ones, so the differences grow with the number
  of iterations: after the default 50 they are 4.5e-13, 1.4e-12 and
  9.2e-13, and that run is held to 5e-12 (11 digits).  They are not the
  same bits because the sums are made in another order: Theano's mean
  of the 600 costs of a minibatch adds them one after the other in a C
  loop (its first objective value, 2.3025850929940668, is
  exactly the sequential sum of 600 equal terms log(10), divided by 600),
  while PyTensor's is NumPy's pairwise sum, and the two BLAS libraries
  block the gradient's matrix products differently.
- float32: the same rounding differences, now at float32's 6e-8, are
  amplified by each line search.  The printed lines must still be
  identical; the objective values must agree with the historical float32
  ones to 1e-6 relative, and our final parameters must be at least as
  close to the float64 (near-exact) ones as the historical float32
  parameters were (never further than 1e-6 where those were closer).
  Measured: objective within 7.2e-7 of the historical float32 values,
  final parameters 1.6e-7 from float64 (historical float32: 2.0e-6).
"""

import inspect
import json
import os
import signal
import subprocess
import sys

import numpy
import pytensor
import pytensor.tensor as T
import pytest
import scipy.optimize

from deeplearning_tutorial import checkpoints, cli, history, logistic_cg, logistic_sgd
from deeplearning_tutorial.logistic_cg import LogisticRegression, cg_optimization_mnist
from deeplearning_tutorial.logs import result_lines
from deeplearning_tutorial.modes import tutorial_mode
from tests.helpers import LEGACY_DIR, REPO, golden_log, run_tutorial
from tests.legacy import cg_trace


def golden_trace(config, dtype):
    with open(os.path.join(LEGACY_DIR, f"logistic_cg.trace.{config}.{dtype}.json")) as f:
        trace = json.load(f)
    assert trace["dtype"] == dtype
    return trace


def floats(values):
    return numpy.array([float(v) for v in values])


def result_entries(trace):
    """The sampled entries and the biases of the parameters that fmin_cg returned."""
    return floats(trace["result"]["sample"] + trace["result"]["bias"])


def assert_trace_matches_float64(trace, golden, tolerance=1e-12):
    assert trace["dtype"] == "float64"
    assert (trace["callbacks"], len(trace["f"]), len(trace["fprime"])) == (
        golden["callbacks"],
        len(golden["f"]),
        len(golden["fprime"]),
    )
    numpy.testing.assert_allclose(floats(trace["f"]), floats(golden["f"]), rtol=tolerance, atol=0)
    # A gradient entry is a sum of 50 000 terms whose size is that of the
    # first gradient's entries; as the optimum nears, the sum shrinks by
    # cancellation (20 times in 10 iterations) but its rounding stays that
    # of the terms.  So its 12 digits are counted at the first gradient's scale.
    scale = numpy.abs(floats(golden["fprime"][0]["sample"])).max()
    for got, want in zip(trace["fprime"], golden["fprime"]):
        numpy.testing.assert_allclose(floats(got["sample"]), floats(want["sample"]), rtol=0, atol=tolerance * scale)
    want = result_entries(golden)
    numpy.testing.assert_allclose(result_entries(trace), want, rtol=0, atol=tolerance * numpy.abs(want).max())


def traced(capsys, **kwargs):
    """Result lines of a run of `cg_optimization_mnist`, and what fmin_cg saw in it."""
    with cg_trace.recording(scipy.optimize) as trace:
        lines = run_tutorial(capsys, cg_optimization_mnist, **kwargs)
    return lines, trace


# -- the model -------------------------------------------------------------------


def test_W_and_b_are_views_of_one_zero_vector_theta(floatX):
    model = LogisticRegression(T.matrix("x"), n_in=7, n_out=3)
    theta = model.theta.get_value()
    assert theta.shape == (7 * 3 + 3,) and theta.dtype == floatX and not theta.any()
    model.theta.set_value(numpy.arange(24, dtype=floatX))
    numpy.testing.assert_array_equal(model.W.eval(), numpy.arange(21).reshape(7, 3))
    numpy.testing.assert_array_equal(model.b.eval(), [21, 22, 23])


def test_cost_and_errors_are_those_of_logistic_sgd():
    rng = numpy.random.RandomState(0)
    x, y = T.matrix("x"), T.ivector("y")
    flat = LogisticRegression(x, n_in=5, n_out=4)
    plain = logistic_sgd.LogisticRegression(x, n_in=5, n_out=4)
    W, b = rng.randn(5, 4), rng.randn(4)
    flat.theta.set_value(numpy.concatenate([W.ravel(), b]))
    plain.W.set_value(W)
    plain.b.set_value(b)
    xv, yv = rng.randn(6, 5), numpy.array([0, 1, 2, 3, 0, 1], dtype="int32")
    outputs = [[m.p_y_given_x, m.negative_log_likelihood(y), m.errors(y)] for m in (flat, plain)]
    got, expected = (pytensor.function([x, y], o, mode=tutorial_mode())(xv, yv) for o in outputs)
    for value, want in zip(got, expected):
        numpy.testing.assert_allclose(value, want, rtol=1e-14)


# -- parity with the historical code ------------------------------------------


def test_ten_iterations_match_the_historical_code(mnist_path, capsys):
    """``test.py``'s call, ``cg_optimization_mnist(n_epochs=10)``, in float64."""
    with pytensor.config.change_flags(floatX="float64"):
        lines, trace = traced(capsys, n_epochs=10)
    assert lines == golden_log("logistic_cg.n_epochs10.float64.log")
    assert_trace_matches_float64(trace, golden_trace("n_epochs10", "float64"))


def test_ten_iterations_in_float32(mnist_path, capsys):
    with pytensor.config.change_flags(floatX="float32"):
        lines, trace = traced(capsys, n_epochs=10)
    assert lines == golden_log("logistic_cg.n_epochs10.float32.log")
    historical, exact = golden_trace("n_epochs10", "float32"), golden_trace("n_epochs10", "float64")
    assert trace["dtype"] == "float32" and trace["callbacks"] == historical["callbacks"]
    numpy.testing.assert_allclose(floats(trace["f"]), floats(historical["f"]), rtol=1e-6, atol=0)
    ours, theirs, near_exact = (result_entries(t) for t in (trace, historical, exact))
    historical_error = numpy.abs(theirs - near_exact).max()
    assert numpy.abs(ours - near_exact).max() <= max(1e-6, historical_error)


@pytest.mark.slow
def test_the_default_run_matches_the_historical_code(mnist_path, capsys):
    """All 50 iterations in float64 (about 20 s: `slow`; the default run keeps test.py's 10 iterations)."""
    with pytensor.config.change_flags(floatX="float64"):
        lines, trace = traced(capsys)
    assert lines == golden_log("logistic_cg.default.float64.log")
    assert_trace_matches_float64(trace, golden_trace("default", "float64"), tolerance=5e-12)


# -- the command line --------------------------------------------------------


def script(*args):
    return [sys.executable, "-m", "deeplearning_tutorial.logistic_cg", *args]


def run(cwd, command):
    env = dict(os.environ, PYTHONPATH=REPO)
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done


def test_the_command_line_prints_the_historical_log(mnist_path, tmp_path):
    done = run(tmp_path, script("--n-epochs", "10", "--floatX", "float64", "--history", "h.json"))
    assert result_lines(done.stdout + done.stderr) == golden_log("logistic_cg.n_epochs10.float64.log")
    assert "logistic_cg.py ran for" in done.stderr
    # One history row per iteration, numbered as epochs, with the printed validation error.
    with open(tmp_path / "h.json") as f:
        rows = json.load(f)
    validations = [line for line in done.stdout.splitlines() if line.startswith("validation error")]
    assert [row["epoch"] for row in rows] == list(range(1, 11))
    assert ["validation error %f %%" % row["validation_error"] for row in rows] == validations


def test_the_command_line_in_float32_prints_the_historical_log(mnist_path, tmp_path):
    """Nothing but the tutorial's lines: SciPy's float32 line search warns under NumPy 2 (see the chapter)."""
    done = run(tmp_path, script("--n-epochs", "10", "--floatX", "float32"))
    assert result_lines(done.stdout + done.stderr) == golden_log("logistic_cg.n_epochs10.float32.log")


def test_plots_draw_the_validation_error_of_each_iteration(mnist_path, tmp_path):
    done = run(tmp_path, script("--n-epochs", "2", "--plots", "p", "--quiet"))
    assert "wrote p/learning_curves.png" in done.stderr
    assert (tmp_path / "p" / "learning_curves.png").read_bytes().startswith(b"\x89PNG")


def test_starts_as_a_script_by_path():
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, "deeplearning_tutorial/logistic_cg.py", "--help"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "--dataset PATH" in done.stdout and "(default: 50)" in " ".join(done.stdout.split())


def test_every_flag_reaches_the_function(monkeypatch):
    calls = []

    def fake(**kwargs):
        calls.append(kwargs)

    fake.__signature__ = inspect.signature(cg_optimization_mnist)
    fake.__module__, fake.__name__ = cg_optimization_mnist.__module__, cg_optimization_mnist.__name__
    monkeypatch.setattr(logistic_cg, "cg_optimization_mnist", fake)
    with pytensor.config.change_flags(floatX=pytensor.config.floatX, mode=pytensor.config.mode):
        cli.main("logistic_cg", ["--n-epochs", "3", "--dataset", "mnist.pkl.gz", "--quiet"])
    assert calls == [{"n_epochs": 3, "mnist_pkl_gz": "mnist.pkl.gz"}]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--n-epochs", "0"], "--n-epochs: must be a positive integer, got '0'"),
        (["--dataset", "/nonexistent/mnist.pkl.gz"], "--dataset /nonexistent/mnist.pkl.gz: no such file"),
    ],
)
def test_bad_input_gives_one_line_and_exit_2(argv, message, tmp_path):
    env = dict(os.environ, PYTHONPATH=REPO)
    done = subprocess.run(script(*argv, "--quiet"), cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 2
    # argparse shows the usage first; what is wrong is the one last line.
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("python -m deeplearning_tutorial.logistic_cg: error:") and message in last, done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_bad_arguments_in_python_raise_value_error():
    with pytest.raises(ValueError, match="n_epochs must be a positive integer, got 0"):
        cg_optimization_mnist(n_epochs=0)


# -- stop and resume ------------------------------------------------------------

# The command line, with fmin_cg's result written to result.npy: the run's
# final parameters, which no compiled function updates and so no
# checkpoint holds.
WITH_RESULT = """
import sys, numpy, scipy.optimize
fmin_cg = scipy.optimize.fmin_cg
def keep(*args, **kwargs):
    result = fmin_cg(*args, **kwargs)
    numpy.save("result.npy", result)
    return result
scipy.optimize.fmin_cg = keep
from deeplearning_tutorial import cli
cli.main("logistic_cg", sys.argv[1:])
"""

ARGS = ["--n-epochs", "3", "--floatX", "float64", "--quiet", "--checkpoint-every", "1000"]


def with_result(*args):
    return [sys.executable, "-c", WITH_RESULT, *args]


def recorded_calls(path):
    header, state, calls, _ = checkpoints.load(path)
    assert header["complete"] and state == []
    return calls


def test_a_run_stopped_mid_iteration_resumes_exactly(mnist_path, tmp_path):
    """SIGINT after the first iteration's validation line; the resumed run replays, then goes on."""
    env = dict(os.environ, PYTHONPATH=REPO, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        with_result(*ARGS), cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    first = []
    for line in proc.stdout:
        first.append(line)
        if line.startswith("validation error"):
            # The stop is taken before the next compiled call: the test pass of this new best model.
            proc.send_signal(signal.SIGINT)
            break
    first.extend(proc.stdout)
    err = proc.stderr.read()
    assert proc.wait() == checkpoints.EXIT_STATUS[signal.SIGINT], err
    # fmin_cg's loop has no training steps (no function updates anything): the stop names the calls made.
    assert (
        err.startswith("stopped after ") and " recorded calls; checkpoint written to logistic_cg.checkpoint.npz" in err
    )
    assert not (tmp_path / "result.npy").exists() and "Optimization complete" not in "".join(first)

    resumed = subprocess.run(
        with_result(*ARGS, "--resume"), cwd=tmp_path, env=env, capture_output=True, text=True, check=True
    )
    assert resumed.stderr.startswith("resuming logistic_cg.checkpoint.npz after "), resumed.stderr
    lines = result_lines("".join(first) + resumed.stdout)

    folder = tmp_path / "uninterrupted"
    folder.mkdir()
    whole = subprocess.run(with_result(*ARGS), cwd=folder, env=env, capture_output=True, text=True, check=True)

    assert lines == result_lines(whole.stdout)
    assert lines[3:6] == golden_log("logistic_cg.n_epochs10.float64.log")[3:6]
    # The same bits: the final parameters, and every output of every compiled call.
    numpy.testing.assert_array_equal(numpy.load(tmp_path / "result.npy"), numpy.load(folder / "result.npy"))
    calls, expected = (recorded_calls(f / "logistic_cg.checkpoint.npz") for f in (tmp_path, folder))
    assert [number for number, _ in calls] == [number for number, _ in expected]
    for (_, value), (_, want) in zip(calls, expected):
        numpy.testing.assert_array_equal(value, want)


def test_history_rows_of_a_cg_log():
    record = history.RunRecord()
    for line in golden_log("logistic_cg.default.float64.log"):
        record.line(line)
    assert len(record.rows) == 50 and record.rows[-1]["epoch"] == 50
    assert record.best_validation() == 7.3125
