"""The ``NUMBA_BLAS`` mode: Numba-compiled graphs that keep Theano's BLAS arithmetic.

Its tutorial runs must print the golden logs and, for the MLP in float64,
end the first epoch as close to the historical parameters as ``NUMPY``
does (`test_mlp.assert_historical_parameters`).  Each tutorial run compiles
its graphs with Numba, one to two minutes on an empty cache on a busy
2-core machine, so only the float64 MLP epoch (the golden log and the
parameter check) runs by default; the float32 epoch and the whole logistic
regression run are marked ``slow``.
"""

import pytensor
import pytest

from deeplearning_tutorial.link.numba.mode import NUMBA_BLAS
from deeplearning_tutorial.logistic_sgd import sgd_optimization_mnist
from deeplearning_tutorial.mlp import test_mlp as run_mlp
from tests.helpers import assert_costs_match, golden_log, run_tutorial
from tests.test_mlp import assert_historical_parameters


@pytest.fixture
def numba_blas():
    with pytensor.config.change_flags(mode=NUMBA_BLAS):
        yield


# Behind slow: compiling the MLP's graphs with Numba takes some 40 s on an empty cache, and
# the default tests keep the mode's ops checked one by one (tests/link/numba).
@pytest.mark.slow
@pytest.mark.parametrize("floatX", ["float64", "float32"])
def test_mlp_first_epoch_keeps_the_historical_arithmetic(mnist_path, numba_blas, floatX, capsys, record_training_costs):
    with pytensor.config.change_flags(floatX=floatX):
        lines = run_tutorial(capsys, run_mlp, n_epochs=1)
    assert lines == golden_log(f"mlp.n_epochs1.{floatX}.log")
    assert_costs_match(record_training_costs[:100], "mlp", floatX)
    if floatX == "float64":
        assert_historical_parameters(record_training_costs.params)


@pytest.mark.slow
def test_logistic_regression_run_matches_legacy(
    mnist_path, numba_blas, tmp_path, monkeypatch, capsys, record_training_costs
):
    monkeypatch.chdir(tmp_path)
    lines = run_tutorial(capsys, sgd_optimization_mnist)
    assert lines == golden_log("logistic_sgd.default.float64.log")
    assert_costs_match(record_training_costs[:100], "logistic_sgd", "float64")
