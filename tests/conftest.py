"""Shared fixtures: the MNIST file, floatX, and the training costs of a run."""

import os

import pytensor
import pytest

from deeplearning_tutorial import data
from deeplearning_tutorial.observe import watch_training
from tests.helpers import CostRecorder, StopTraining


@pytest.fixture(scope="session")
def mnist_path():
    """Path of mnist.pkl.gz in the repository's data/ folder, fetched once if missing."""
    path = data.resolve_path(data.MNIST_NAME)
    if not os.path.isfile(path):
        data.fetch_mnist(path)
    return path


@pytest.fixture(params=["float64", "float32"])
def floatX(request):
    with pytensor.config.change_flags(floatX=request.param):
        yield request.param


@pytest.fixture
def record_training_costs():
    """Record what every training step (a compiled function with updates) returns.

    The tutorials build their functions inside one big function, as the
    historical code does; `watch_training` lets a test see the
    per-minibatch costs without changing that layout.
    """
    costs = CostRecorder()

    def record(cost, params):
        costs.params = params
        costs.append(float(cost))
        if len(costs) == costs.stop_after:
            raise StopTraining

    with watch_training(record):
        yield costs
