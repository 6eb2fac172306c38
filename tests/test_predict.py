"""Tests of deeplearning_tutorial.predict: predicted labels are shown beside the true ones."""

import gzip
import pickle

import numpy
import pytensor
import pytest

from deeplearning_tutorial import predict, saved_models


@pytest.fixture
def small_dataset(tmp_path):
    """A dataset of random images whose test labels are known: 0, 1, ..., 9, 0, 1, ..."""
    rng = numpy.random.RandomState(0)

    def split(n):
        return rng.rand(n, 784).astype("float32"), (numpy.arange(n) % 10).astype("int64")

    path = tmp_path / "small.pkl.gz"
    with gzip.open(path, "wb") as f:
        pickle.dump((split(10), split(10), split(20)), f, protocol=2)
    return str(path)


def constant_model(path, label):
    """A logistic regression that predicts ``label`` for every image: no weights, a bias for that class."""
    b = numpy.zeros(10)
    b[label] = 1.0
    arguments = {"learning_rate": 0.13, "n_epochs": 1, "dataset": "mnist.pkl.gz", "batch_size": 5}
    saved_models.save(str(path), "logistic_sgd", arguments, "float64", [numpy.zeros((784, 10)), b])
    return str(path)


def test_the_labels_table_puts_predicted_and_true_side_by_side():
    table = predict.labels_table(numpy.array([7, 2, 6]), numpy.array([7, 2, 5]))
    assert table.splitlines() == [
        "image  predicted  true",
        "    0          7     7",
        "    1          2     2",
        "    2          6     5  wrong",
        "1 of these 3 wrong (33.3 %)",
    ]


def test_predict_prints_each_label_beside_the_true_one(small_dataset, tmp_path, capsys):
    model = constant_model(tmp_path / "m.npz", label=3)
    with pytensor.config.change_flags(floatX="float64"):
        assert predict.main([model, "--dataset", small_dataset, "--n", "7"]) is None
    lines = capsys.readouterr().out.splitlines()
    start = lines.index("Predicted values for the first 7 examples in test set:")
    assert lines[start + 1 :] == [
        "image  predicted  true",
        "    0          3     0  wrong",
        "    1          3     1  wrong",
        "    2          3     2  wrong",
        "    3          3     3",
        "    4          3     4  wrong",
        "    5          3     5  wrong",
        "    6          3     6  wrong",
        "6 of these 7 wrong (85.7 %)",
        # Two of the 20 test labels are 3: 90 % wrong over the whole test set.
        "test error of saved model 90.000000 %",
    ]


def test_predict_returns_the_labels_and_the_test_error(small_dataset, tmp_path, capsys):
    header, values = saved_models.load(constant_model(tmp_path / "m.npz", label=0))
    with pytensor.config.change_flags(floatX="float64"):
        labels, score = predict.predict("logistic_sgd", header["arguments"], values, small_dataset, 12)
    numpy.testing.assert_array_equal(labels, numpy.zeros(12))
    assert score == pytest.approx(0.9)
    assert "10 of these 12 wrong (83.3 %)" in capsys.readouterr().out
