"""LeNet-5's pictures, written by `lenet5.write_plots` for the command line's --plots."""

import numpy
import pytensor.tensor as T
import pytest

pytest.importorskip("matplotlib")

from deeplearning_tutorial import lenet5  # noqa: E402
from deeplearning_tutorial.lenet5 import plots  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"


def params_of(variant):
    model = lenet5.LeNet5(numpy.random.RandomState(0), T.matrix()) if variant is None else None
    if model is None:
        model = lenet5.ArticleNet(numpy.random.RandomState(0), T.matrix(), variant)
    return [p.get_value() for p in model.params]


def row(epoch, validation, test):
    return dict(epoch=epoch, minibatch=10, validation_error=validation, test_error=test, train_cost=1.0, elapsed_s=1.0)


def test_lenet5_is_told_from_the_variants():
    assert plots.is_lenet5(params_of(None))
    for variant in lenet5.ArticleNet.VARIANTS:
        assert not plots.is_lenet5(params_of(variant))


def test_lenet5_plots(tmp_path):
    rows = [row(1, 5.0, 5.5), row(2, 3.0, None)]
    paths = lenet5.write_plots(str(tmp_path), rows, params_of(None))
    assert [p.split("/")[-1] for p in paths] == ["learning_curves.png", "c1_kernels.png", "prototypes.png"]
    assert all(open(p, "rb").read(8) == PNG for p in paths)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.split("/")[-1] for p in paths)


def test_a_run_without_validation_draws_its_test_errors(tmp_path):
    # The paper's protocol tests after every pass and validates nothing.
    rows = [row(1, None, 2.1), row(2, None, 1.5)]
    paths = lenet5.write_plots(str(tmp_path), rows, params_of("keras"))
    assert [p.split("/")[-1] for p in paths] == ["learning_curves.png", "c1_kernels.png"]
    assert all(open(p, "rb").read(8) == PNG for p in paths)


def test_no_rows_no_curves(tmp_path):
    paths = lenet5.write_plots(str(tmp_path), [], params_of("pytorch"))
    assert [p.split("/")[-1] for p in paths] == ["c1_kernels.png"]
