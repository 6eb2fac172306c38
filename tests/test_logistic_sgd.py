"""Tests of logistic_sgd: the model, and parity of whole runs with the historical code."""

import os
import pickle
import subprocess
import sys

import numpy
import pytensor
import pytensor.tensor as T
import pytest

from deeplearning_tutorial import logistic_sgd
from deeplearning_tutorial.logistic_sgd import LogisticRegression, predict, sgd_optimization_mnist
from deeplearning_tutorial.modes import tutorial_mode
from tests.helpers import REPO, StopTraining, assert_costs_match, golden_log, result_lines, run_module, run_tutorial


def softmax(z):
    e = numpy.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


class TestLogisticRegression:
    def test_parameters_start_at_zero_in_floatX(self, floatX):
        model = LogisticRegression(T.matrix("x"), n_in=7, n_out=3)
        assert [p.name for p in model.params] == ["W", "b"]
        assert model.W.get_value().shape == (7, 3) and model.b.get_value().shape == (3,)
        for p in model.params:
            assert p.get_value().dtype == floatX
            assert not p.get_value().any()

    def test_outputs_match_numpy(self):
        rng = numpy.random.RandomState(0)
        x = T.matrix("x")
        y = T.ivector("y")
        model = LogisticRegression(x, n_in=5, n_out=4)
        W = rng.randn(5, 4)
        b = rng.randn(4)
        model.W.set_value(W)
        model.b.set_value(b)
        xv = rng.randn(6, 5)
        yv = numpy.array([0, 1, 2, 3, 0, 1], dtype="int32")
        f = pytensor.function(
            [x, y],
            [model.p_y_given_x, model.y_pred, model.negative_log_likelihood(y), model.errors(y)],
            mode=tutorial_mode(),
        )
        p, pred, nll, err = f(xv, yv)
        expected_p = softmax(xv @ W + b)
        numpy.testing.assert_allclose(p, expected_p, rtol=1e-12)
        numpy.testing.assert_array_equal(pred, expected_p.argmax(axis=1))
        numpy.testing.assert_allclose(nll, -numpy.log(expected_p[numpy.arange(6), yv]).mean(), rtol=1e-12)
        assert err == pytest.approx(numpy.mean(expected_p.argmax(axis=1) != yv))

    def test_errors_rejects_wrong_ndim(self):
        model = LogisticRegression(T.matrix("x"), n_in=5, n_out=4)
        with pytest.raises(TypeError, match="same shape as self.y_pred"):
            model.errors(T.imatrix("y"))

    def test_errors_rejects_float_labels(self):
        model = LogisticRegression(T.matrix("x"), n_in=5, n_out=4)
        with pytest.raises(NotImplementedError):
            model.errors(T.vector("y"))


def test_load_data_gives_shared_floatX_images_and_int32_labels(mnist_path, floatX, capsys):
    datasets = logistic_sgd.load_data("mnist.pkl.gz")
    assert capsys.readouterr().out == "... loading data\n"
    sizes = [50000, 10000, 10000]
    for (x, y), n in zip(datasets, sizes):
        assert x.get_value(borrow=True).shape == (n, 784)
        assert x.dtype == floatX
        assert y.dtype == "int32"
        labels = y.eval()
        assert labels.shape == (n,) and labels.min() == 0 and labels.max() == 9


def test_default_run_matches_legacy(mnist_path, tmp_path, monkeypatch, capsys, record_training_costs):
    """The whole default run prints the historical log line for line.

    (float32 is checked the way a reader runs it, by
    `test_runs_as_module_with_floatX_from_flags`.)
    """
    monkeypatch.chdir(tmp_path)
    lines = run_tutorial(capsys, sgd_optimization_mnist)
    assert lines == golden_log("logistic_sgd.default.float64.log")
    assert_costs_match(record_training_costs[:100], "logistic_sgd", "float64")

    # predict() reloads the best model and labels the first ten test images.
    predicted = predict()
    assert "Predicted values for the first 10 examples in test set:" in capsys.readouterr().out
    with open("best_model.pkl", "rb") as f:
        model = pickle.load(f)
    assert type(model) is LogisticRegression
    test_x = logistic_sgd.load_data("mnist.pkl.gz")[2][0].get_value()[:10]
    expected = (test_x @ model.W.get_value() + model.b.get_value()).argmax(axis=1)
    numpy.testing.assert_array_equal(predicted, expected)


def test_float32_training_costs(mnist_path, tmp_path, monkeypatch, capsys, record_training_costs):
    monkeypatch.chdir(tmp_path)
    record_training_costs.stop_after = 100
    with pytensor.config.change_flags(floatX="float32"), pytest.raises(StopTraining):
        sgd_optimization_mnist()
    assert_costs_match(record_training_costs, "logistic_sgd", "float32")


def test_predict_without_a_model_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"run sgd_optimization_mnist\(\) first"):
        predict()


@pytest.mark.parametrize("mode", [pytest.param("NUMBA", marks=pytest.mark.slow), "CVM"])
def test_first_epoch_in_compiled_modes(mnist_path, mode, tmp_path, monkeypatch, capsys):
    """PyTensor's Numba default and its C backend give the same first epoch."""
    monkeypatch.chdir(tmp_path)
    with pytensor.config.change_flags(mode=mode):
        lines = run_tutorial(capsys, sgd_optimization_mnist, n_epochs=1)
    assert lines[:5] == golden_log("logistic_sgd.default.float64.log")[:5]
    assert lines[5] == (
        "Optimization complete with best validation score of 12.458333 %,with test performance 12.375000 %"
    )


def test_runs_as_module_with_floatX_from_flags(mnist_path, tmp_path):
    """``python -m`` with PYTENSOR_FLAGS=floatX=float32, as a reader would run it."""
    proc = run_module("logistic_sgd", tmp_path, "floatX=float32")
    assert result_lines(proc.stdout + proc.stderr) == golden_log("logistic_sgd.default.float32.log")
    assert "logistic_sgd.py ran for" in proc.stderr
    with open(tmp_path / "best_model.pkl", "rb") as f:
        assert pickle.load(f).W.get_value().dtype == "float32"


@pytest.mark.parametrize("module", ["logistic_sgd", "mlp", "convolutional_mlp"])
@pytest.mark.parametrize("how", ["path from the root", "inside the package", "-m"])
def test_every_tutorial_starts_all_three_ways(module, how):
    """By file path from the root or the package folder, or with -m (imports only: --help)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    command, cwd = {
        "path from the root": ([f"deeplearning_tutorial/{module}.py"], REPO),
        "inside the package": ([f"{module}.py"], os.path.join(REPO, "deeplearning_tutorial")),
        "-m": (["-m", f"deeplearning_tutorial.{module}"], REPO),
    }[how]
    proc = subprocess.run([sys.executable, *command, "--help"], cwd=cwd, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "--mode" in proc.stdout
