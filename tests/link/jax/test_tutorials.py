"""The tutorials under ``mode=JAX``: the historical logs line for line.

float64 prints the golden logs exactly; float32 within the tolerances of
the other modes' tests (`tests.helpers`).  The tutorials' JAX mode writes
one note on stderr, once per process, when it switches JAX's 64-bit mode
on; everything else is the historical output.
"""

import pytensor
import pytest

pytest.importorskip("jax")

from deeplearning_tutorial.convolutional_mlp import evaluate_lenet5  # noqa: E402
from deeplearning_tutorial.logistic_sgd import sgd_optimization_mnist  # noqa: E402
from deeplearning_tutorial.logs import result_lines  # noqa: E402
from deeplearning_tutorial.mlp import test_mlp as run_mlp  # noqa: E402
from tests.helpers import StopTraining, assert_costs_match, assert_log_matches, golden_log, run_module  # noqa: E402

X64_NOTE = "JAX: 64-bit mode enabled (jax_enable_x64), so that float64 and int64 stay 64-bit"


@pytest.fixture
def jax_mode():
    with pytensor.config.change_flags(mode="JAX"):
        yield


def run_under_jax(capsys, fn, **kwargs):
    """Run a tutorial; its result lines, and that stderr holds nothing else than the 64-bit note."""
    fn(**kwargs)
    out, err = capsys.readouterr()
    assert [line for line in result_lines(err) if line != X64_NOTE] == []
    return result_lines(out)


def test_logistic_regression_default_run(mnist_path, tmp_path, monkeypatch, capsys, jax_mode, record_training_costs):
    monkeypatch.chdir(tmp_path)
    assert run_under_jax(capsys, sgd_optimization_mnist) == golden_log("logistic_sgd.default.float64.log")
    assert_costs_match(record_training_costs[:100], "logistic_sgd", "float64")


def test_logistic_regression_float32_costs(mnist_path, tmp_path, monkeypatch, jax_mode, record_training_costs):
    monkeypatch.chdir(tmp_path)
    record_training_costs.stop_after = 100
    with pytensor.config.change_flags(floatX="float32"), pytest.raises(StopTraining):
        sgd_optimization_mnist()
    assert_costs_match(record_training_costs, "logistic_sgd", "float32")


@pytest.mark.slow
def test_logistic_regression_float32_from_the_command_line(mnist_path, tmp_path):
    """``python -m`` with PYTENSOR_FLAGS=mode=JAX,floatX=float32: the historical float32 log on stdout."""
    proc = run_module("logistic_sgd", tmp_path, "mode=JAX,floatX=float32")
    assert result_lines(proc.stdout) == golden_log("logistic_sgd.default.float32.log")
    assert result_lines(proc.stderr) == [X64_NOTE]


def test_mlp_one_epoch_float64(mnist_path, capsys, jax_mode, record_training_costs):
    assert run_under_jax(capsys, run_mlp, n_epochs=1) == golden_log("mlp.n_epochs1.float64.log")
    assert_costs_match(record_training_costs[:100], "mlp", "float64")


@pytest.mark.slow
def test_mlp_one_epoch_float32(mnist_path, capsys, jax_mode, record_training_costs):
    with pytensor.config.change_flags(floatX="float32"):
        lines = run_under_jax(capsys, run_mlp, n_epochs=1)
    assert lines == golden_log("mlp.n_epochs1.float32.log")
    assert_costs_match(record_training_costs[:100], "mlp", "float32")


@pytest.mark.parametrize(
    "nkerns, log, costs",
    [
        # both behind slow: XLA compiles the LeNet graphs for some 25 s on an empty cache
        pytest.param([5, 5], "n_epochs1.nkerns5-5", "convolutional_mlp_5_5", marks=pytest.mark.slow),
        pytest.param([20, 50], "n_epochs1", "convolutional_mlp", marks=pytest.mark.slow),
    ],
)
def test_lenet_one_epoch_float64(mnist_path, nkerns, log, costs, capsys, jax_mode, record_training_costs):
    lines = run_under_jax(capsys, evaluate_lenet5, n_epochs=1, nkerns=nkerns)
    assert lines == golden_log(f"convolutional_mlp.{log}.float64.log")
    assert_costs_match(record_training_costs, costs, "float64")


@pytest.mark.slow
@pytest.mark.parametrize(
    "nkerns, log, costs",
    [([5, 5], "n_epochs1.nkerns5-5", "convolutional_mlp_5_5"), ([20, 50], "n_epochs1", "convolutional_mlp")],
)
def test_lenet_one_epoch_float32(mnist_path, nkerns, log, costs, capsys, jax_mode, record_training_costs):
    with pytensor.config.change_flags(floatX="float32"):
        lines = run_under_jax(capsys, evaluate_lenet5, n_epochs=1, nkerns=nkerns)
    assert_log_matches(lines, golden_log(f"convolutional_mlp.{log}.float32.log"), samples=2)
    assert_costs_match(record_training_costs, costs, "float32")
