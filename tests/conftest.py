"""Shared fixtures: the MNIST file, floatX, and the training costs of a run."""

import os

import pytensor
import pytest

from deeplearning_tutorial import data, runs
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


class RecordingRun(runs.Run):
    """A run that records what each training step (a compiled function with updates) returns."""

    def __init__(self, costs):
        self.costs = costs

    def function(self, *args, **kwargs):
        fn = super().function(*args, **kwargs)
        updates = kwargs.get("updates")
        if not updates:
            return fn
        params = [param for param, _ in updates]

        def step(*inputs):
            cost = fn(*inputs)
            self.costs.params = params
            self.costs.append(float(cost))
            if len(self.costs) == self.costs.stop_after:
                raise StopTraining
            return cost

        return step


@pytest.fixture
def record_training_costs():
    """Record what every training step returns, through the run seam (`deeplearning_tutorial.runs`)."""
    costs = CostRecorder()
    with runs.active(RecordingRun(costs)):
        yield costs
