"""Stop and resume: real runs, stopped by real signals, resumed, compared with uninterrupted runs.

Each tutorial runs as a script in a subprocess.  The test waits for a line
of its output, sends the signal, then resumes the run; the lines of the two
parts, put together, must be those of an uninterrupted run (the golden log
of the historical code, where one exists for the arguments), and the final
parameters must be the same bits.
"""

import os
import pickle
import signal
import subprocess
import sys
import time

import numpy
import pytest

from deeplearning_tutorial import checkpoints
from deeplearning_tutorial.logs import result_lines
from tests.helpers import assert_log_matches, golden_log

# Write a checkpoint at the end too: its parameters are the final ones.
FINAL = ["--checkpoint-every", "1000", "--quiet"]


def script(name, *args):
    return [sys.executable, "-m", f"deeplearning_tutorial.{name}", *args]


def run(cwd, command, check=True):
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if check:
        assert done.returncode == 0, done.stderr
    return done


def run_and_stop(cwd, command, when, signum=signal.SIGINT):
    """Start ``command``, send ``signum`` when ``when(line)`` is true of an output line; return its output."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if when(line):
            proc.send_signal(signum)
            break
    lines.extend(proc.stdout)
    err = proc.stderr.read()
    assert proc.wait() == checkpoints.EXIT_STATUS[signum], err
    # The command to continue starts with the interpreter that ran, so it works without an activated venv.
    assert "checkpoint written to" in err and f"to continue: {sys.executable} -m deeplearning_tutorial." in err
    return "".join(lines), err


def mid_epoch(delay):
    """Stop ``delay`` seconds into training, within the first epoch."""
    started = []

    def when(line):
        if line.startswith("... training"):
            started.append(time.monotonic())
            time.sleep(delay)
            return True
        return False

    return when


def after_validation(line):
    """Stop as soon as a validation error is printed: the test pass runs then."""
    return "validation error" in line


def final_params(path):
    header, params, _, _ = checkpoints.load(path)
    assert header["complete"]
    return params


def stop_and_resume(tmp_path, name, args, when, signum=signal.SIGINT):
    """Lines of a run stopped by ``signum`` and resumed, and its final parameters."""
    first, _ = run_and_stop(tmp_path, script(name, *args, *FINAL), when, signum)
    resumed = run(tmp_path, script(name, *args, *FINAL, "--resume"))
    assert resumed.stderr.startswith(f"resuming {name}.checkpoint.npz after epoch "), resumed.stderr
    return result_lines(first + resumed.stdout), final_params(tmp_path / f"{name}.checkpoint.npz")


def uninterrupted(tmp_path, name, args):
    folder = tmp_path / "uninterrupted"
    folder.mkdir()
    lines = result_lines(run(folder, script(name, *args, *FINAL)).stdout)
    return lines, final_params(folder / f"{name}.checkpoint.npz")


def assert_same_bits(params, expected):
    assert len(params) == len(expected)
    for value, want in zip(params, expected):
        assert value.dtype == want.dtype
        numpy.testing.assert_array_equal(value, want)


@pytest.mark.parametrize(
    "floatX, when",
    [("float64", mid_epoch(0.2)), ("float32", after_validation)],
    ids=["float64-mid-epoch", "float32-during-test-pass"],
)
def test_logistic_regression_resumes_exactly(mnist_path, tmp_path, floatX, when):
    args = ["--n-epochs", "3", "--floatX", floatX]
    lines, params = stop_and_resume(tmp_path, "logistic_sgd", args, when)
    expected_lines, expected_params = uninterrupted(tmp_path, "logistic_sgd", args)
    assert lines == expected_lines
    # The historical log of the default run, as far as three epochs go.
    assert lines[:-1] == golden_log(f"logistic_sgd.default.{floatX}.log")[: len(lines) - 1]
    assert_same_bits(params, expected_params)
    models = []
    for folder in (tmp_path, tmp_path / "uninterrupted"):
        with open(folder / "best_model.pkl", "rb") as f:
            models.append([p.get_value() for p in pickle.load(f).params])
    assert_same_bits(*models)


@pytest.mark.parametrize("floatX", ["float64", "float32"])
def test_mlp_resumes_exactly(mnist_path, tmp_path, floatX):
    """Stopped by SIGTERM twice: mid-epoch, and again during the resumed run's first validation."""
    args = ["--n-epochs", "3", "--n-hidden", "20", "--batch-size", "200", "--floatX", floatX]
    first, _ = run_and_stop(tmp_path, script("mlp", *args, *FINAL), mid_epoch(0.3), signal.SIGTERM)
    second, _ = run_and_stop(tmp_path, script("mlp", *args, *FINAL, "--resume"), after_validation, signal.SIGTERM)
    third = run(tmp_path, script("mlp", *args, *FINAL, "--resume")).stdout
    expected_lines, expected_params = uninterrupted(tmp_path, "mlp", args)
    assert result_lines(first + second + third) == expected_lines
    assert_same_bits(final_params(tmp_path / "mlp.checkpoint.npz"), expected_params)


@pytest.mark.slow
def test_mlp_stopped_and_resumed_prints_the_golden_log(mnist_path, tmp_path):
    """A whole default epoch, twice over: behind the ``slow`` marker, for the default run's time."""
    lines, _ = stop_and_resume(tmp_path, "mlp", ["--n-epochs", "1", "--floatX", "float64"], mid_epoch(1.0))
    assert lines == golden_log("mlp.n_epochs1.float64.log")


@pytest.mark.parametrize("floatX", ["float64", pytest.param("float32", marks=pytest.mark.slow)])
def test_lenet_resumes_exactly(mnist_path, tmp_path, floatX):
    """float32 is behind the ``slow`` marker, for the time of the default test run."""
    args = ["--n-epochs", "1", "--nkerns", "5", "5", "--floatX", floatX]
    lines, params = stop_and_resume(tmp_path, "convolutional_mlp", args, lambda line: "training @ iter" in line)
    golden = golden_log(f"convolutional_mlp.n_epochs1.nkerns5-5.{floatX}.log")
    if floatX == "float64":
        assert lines == golden
    else:
        assert_log_matches(lines, golden, samples=2)
    _, expected_params = uninterrupted(tmp_path, "convolutional_mlp", args)
    assert_same_bits(params, expected_params)


def test_lenet5_resumes_exactly(mnist_path, tmp_path):
    """LeNet-5 on the shared command line, stopped by a real SIGINT at its first progress line.

    Its second-derivative estimates (SDLM) are shared variables updated by a
    compiled function of their own, so they are restored like the weights.
    """
    args = ["--train-on-all", "--n-epochs", "1", "--max-minibatches", "200", "--hessian-examples", "50"]
    args += ["--floatX", "float64"]
    lines, params = stop_and_resume(tmp_path, "lenet5", args, lambda line: "training @ iter" in line)
    expected_lines, expected_params = uninterrupted(tmp_path, "lenet5", args)
    assert lines == expected_lines
    assert any("test error" in line for line in lines)
    assert_same_bits(params, expected_params)


# -- what is refused, and what is left alone -------------------------------------


@pytest.fixture
def stopped_logistic(mnist_path, tmp_path):
    run_and_stop(tmp_path, script("logistic_sgd", "--n-epochs", "2", "--quiet"), mid_epoch(0.3))
    path = tmp_path / "logistic_sgd.checkpoint.npz"
    return path, path.read_bytes()


def assert_refused(cwd, command, message, untouched):
    done = run(cwd, command, check=False)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr
    for path, content in untouched.items():
        assert path.read_bytes() == content
    return done


def test_resuming_with_other_arguments_is_refused(tmp_path, stopped_logistic):
    path, content = stopped_logistic
    command = script("logistic_sgd", "--n-epochs", "2", "--learning-rate", "0.2", "--resume")
    message = "the checkpoint was made with learning_rate=0.13, this run has learning_rate=0.2"
    assert_refused(tmp_path, command, message, {path: content})


def test_resuming_in_another_float_type_is_refused(tmp_path, stopped_logistic):
    path, content = stopped_logistic
    command = script("logistic_sgd", "--n-epochs", "2", "--floatX", "float32", "--resume")
    assert_refused(tmp_path, command, "floatX differs from the checkpoint's run ('float64' there", {path: content})


def test_a_truncated_checkpoint_is_refused_and_kept(tmp_path, stopped_logistic):
    path, content = stopped_logistic
    truncated = content[: len(content) // 2]
    path.write_bytes(truncated)
    command = script("logistic_sgd", "--n-epochs", "2", "--resume")
    message = "is not a checkpoint of a stopped run, or is truncated or damaged"
    assert_refused(tmp_path, command, message, {path: truncated})


def test_a_missing_checkpoint_is_named(tmp_path, mnist_path):
    command = script("logistic_sgd", "--resume", "nothing.npz")
    assert_refused(tmp_path, command, "nothing.npz: no such file; expected a checkpoint", {})


def test_a_diverging_run_stops_and_keeps_the_last_good_model(tmp_path, mnist_path):
    good = tmp_path / "best_model.pkl"
    good.write_bytes(b"the previous good model")
    command = script("logistic_sgd", "--learning-rate", "1e308", "--quiet")
    done = assert_refused(tmp_path, command, "the training cost became", {good: b"the previous good model"})
    assert "at epoch 1, minibatch 2: the learning rate is probably too large" in done.stderr


def test_the_function_checks_its_arguments(tmp_path):
    from deeplearning_tutorial.logistic_sgd import sgd_optimization_mnist

    for kwargs, message in [
        ({"n_epochs": 0}, "n_epochs must be a positive integer"),
        ({"batch_size": 0}, "batch_size must be a positive integer"),
        ({"learning_rate": float("nan")}, "learning_rate must be a finite number > 0"),
        ({"learning_rate": float("inf")}, "learning_rate must be a finite number > 0"),
    ]:
        with pytest.raises(ValueError, match=message):
            sgd_optimization_mnist(**kwargs)


def test_a_missing_dataset_is_not_fetched_elsewhere(tmp_path):
    from deeplearning_tutorial.logistic_sgd import load_data

    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_data(str(tmp_path / "nonexistent" / "mnist.pkl.gz"))
    assert not (tmp_path / "nonexistent").exists()
