"""The learning-rate schedule and the optimisers' updates."""

import numpy
import pytensor
import pytensor.tensor as T
import pytest

from deeplearning_tutorial.lenet5.optimizers import PAPER_SCHEDULE, parse_schedule, rate_for_epoch, updates


def test_paper_schedule():
    schedule = parse_schedule(PAPER_SCHEDULE)
    rates = [rate_for_epoch(schedule, e) for e in range(1, 21)]
    assert rates == [0.0005] * 2 + [0.0002] * 3 + [0.0001] * 3 + [0.00005] * 4 + [0.00001] * 8
    assert parse_schedule("0.01") == [(0.01, None)]


@pytest.mark.parametrize("bad", ["", "abc", "0.1:2", "0.1:x,0.2", "0.1,0.2", "-0.1", "0.1:0,0.2", "nan"])
def test_bad_schedule(bad):
    with pytest.raises(ValueError):
        parse_schedule(bad)


@pytest.mark.parametrize("optimizer", ["sgd", "sdlm", "adam"])
def test_the_model_parameters_come_first(optimizer):
    # The run machinery keeps the updated variables; the model's lead, in order.
    params = [pytensor.shared(numpy.ones(3), name="w"), pytensor.shared(numpy.ones(2), name="b")]
    grads = [T.ones_like(p) for p in params]
    hessians = [pytensor.shared(numpy.zeros(3)), pytensor.shared(numpy.zeros(2))]
    rate = pytensor.shared(0.1)
    pairs = updates(optimizer, params, grads, rate, hessians, mu=0.5)
    assert [v for v, _ in pairs[:2]] == params
    assert len(pairs) == (2 if optimizer != "adam" else 2 + 1 + 2 * 2)
    step = pytensor.function([], [], updates=pairs)
    step()
    # A first step of each rule on a gradient of ones.
    first = {"sgd": 0.1, "sdlm": 0.1 / 0.5, "adam": 0.1}[optimizer]
    numpy.testing.assert_allclose(params[0].get_value(), 1 - first, rtol=1e-6)


def test_unknown_optimizer():
    with pytest.raises(ValueError, match="sdlm, sgd, adam"):
        updates("rmsprop", [], [], pytensor.shared(0.1))
