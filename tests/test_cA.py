"""Tests of cA: the first training steps against the historical run, the floor-divided penalty, bad arguments."""

import json
import os

import numpy
import pytensor
import pytensor.tensor as T
import pytest

from deeplearning_tutorial import cA as chapter
from deeplearning_tutorial.data import load_data
from deeplearning_tutorial.modes import tutorial_mode
from tests.helpers import LEGACY_DIR, golden_log, run_tutorial

# Tolerances on the reconstruction cost of a step (mean over 10 examples of a sum over 784 pixels):
# float64: the port's values are the historical ones to within 5e-16 relative (element-wise functions
#   and sums round differently in the last bits); float32: a few units of 2**-24 from the order of sums.
# The Jacobian term is floor-divided, a whole number: it must be equal.
RTOL = {"float64": 1e-13, "float32": 1e-6}


def build_like_test_cA(train_set_x, batch_size=10):
    index = T.lscalar()
    x = T.matrix("x")
    ca = chapter.cA(numpy_rng=numpy.random.RandomState(123), input=x, n_visible=784, n_hidden=500, n_batchsize=10)
    cost, updates = ca.get_cost_updates(contraction_level=0.1, learning_rate=0.01)
    train_ca = pytensor.function(
        [index],
        [T.mean(ca.L_rec), ca.L_jacob],
        updates=updates,
        givens={x: train_set_x[index * batch_size : (index + 1) * batch_size]},
        mode=tutorial_mode(),
    )
    return ca, train_ca


def test_first_steps_match_legacy(mnist_path, floatX):
    with open(os.path.join(LEGACY_DIR, f"cA.training_epochs1.{floatX}.json")) as f:
        expected = [[float(v) for v in out] for out in json.load(f)["functions"][0]["outputs"][:3]]
    _, train_ca = build_like_test_cA(load_data(mnist_path)[0][0])
    got = [[float(v) for v in train_ca(i)] for i in range(3)]
    numpy.testing.assert_allclose([g[0] for g in got], [e[0] for e in expected], rtol=RTOL[floatX], atol=0)
    assert [g[1] for g in got] == [e[1] for e in expected]


def test_the_floor_divided_penalty_has_no_gradient():
    x = T.matrix("x")
    ca = chapter.cA(numpy_rng=numpy.random.RandomState(1), input=x, n_visible=6, n_hidden=4, n_batchsize=2)
    ca.get_cost_updates(contraction_level=0.1, learning_rate=0.01)
    g = pytensor.function([x], T.grad(ca.L_jacob, ca.W), mode=tutorial_mode())
    assert not g(numpy.random.RandomState(2).rand(2, 6).astype(pytensor.config.floatX)).any()
    exact = pytensor.function([x], T.sum(ca.get_jacobian(ca.get_hidden_values(x), ca.W) ** 2) / 2, mode=tutorial_mode())
    floored = pytensor.function([x], ca.L_jacob, mode=tutorial_mode())
    data = numpy.random.RandomState(3).rand(2, 6).astype(pytensor.config.floatX)
    assert floored(data) == numpy.floor(exact(data))


@pytest.mark.parametrize(
    "kwargs",
    [{"training_epochs": 0}, {"batch_size": -1}, {"learning_rate": 0}, {"contraction_level": -0.1}],
)
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        chapter.test_cA(**kwargs)


def assert_lines_match(lines, golden, floatX):
    """Word by word; numbers to 12 significant digits in float64, 6 in float32 (see RTOL)."""
    assert len(lines) == len(golden)
    for line, expected in zip(lines, golden):
        words, ewords = line.split(), expected.split()
        assert len(words) == len(ewords)
        for word, eword in zip(words, ewords):
            try:
                assert float(word) == pytest.approx(float(eword), rel=1e-12 if floatX == "float64" else 1e-6)
            except ValueError:
                assert word == eword


@pytest.mark.slow
def test_one_epoch_matches_legacy(mnist_path, floatX, capsys, tmp_path):
    """One epoch; the printed means agree to 12 digits in float64, 6 in float32 (see RTOL)."""
    lines = run_tutorial(capsys, chapter.test_cA, training_epochs=1, output_folder=str(tmp_path))
    assert_lines_match(lines, golden_log(f"cA.training_epochs1.{floatX}.log"), floatX)


@pytest.mark.slow
def test_default_run_matches_legacy(mnist_path, capsys, tmp_path):
    """The whole default run, 20 epochs of 5 000 steps, in float64: both printed means of every epoch."""
    with pytensor.config.change_flags(floatX="float64"):
        lines = run_tutorial(capsys, chapter.test_cA, output_folder=str(tmp_path))
    assert_lines_match(lines, golden_log("cA.default.float64.log"), "float64")
