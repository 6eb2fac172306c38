"""Tests of dA: the first training steps and the corruption stream against the historical code."""

import hashlib
import json
import os

import numpy
import pytensor
import pytensor.tensor as T
import pytest

from deeplearning_tutorial import dA as chapter
from deeplearning_tutorial.data import load_data
from deeplearning_tutorial.modes import tutorial_mode
from deeplearning_tutorial.ops import rng_mrg
from tests.helpers import LEGACY_DIR, golden_log, run_tutorial


def legacy_record(floatX):
    with open(os.path.join(LEGACY_DIR, f"dA.training_epochs1.{floatX}.json")) as f:
        return json.load(f)


def build_like_test_dA(train_set_x, corruption_level, batch_size=20):
    """The model and training step exactly as test_dA builds them (same seeds, same order)."""
    index = T.lscalar()
    x = T.matrix("x")
    rng = numpy.random.RandomState(123)
    theano_rng = chapter.RandomStreams(rng.randint(2**30))
    da = chapter.dA(numpy_rng=rng, theano_rng=theano_rng, input=x, n_visible=28 * 28, n_hidden=500)
    cost, updates = da.get_cost_updates(corruption_level=corruption_level, learning_rate=0.1)
    train_da = pytensor.function(
        [index],
        cost,
        updates=updates,
        givens={x: train_set_x[index * batch_size : (index + 1) * batch_size]},
        mode=tutorial_mode(),
    )
    return da, train_da


# Tolerances on a training step's cost (the mean over 20 examples of a sum over 784 pixels):
# float64: the port's costs are the historical ones to within 1e-15 relative (the element-wise
#   functions and the order of the sums differ in the last bits); 1e-13 leaves room for the
#   BLAS kernels of another machine, and is far below the 1e-6 that one flipped mask value makes.
# float32: rounding of float32 sums of 15 680 terms in another order, a few units of 2**-24.
RTOL = {"float64": 1e-13, "float32": 1e-6}


@pytest.mark.parametrize("model, corruption_level", [(0, 0.0), (1, 0.3)])
def test_first_steps_match_legacy(mnist_path, floatX, model, corruption_level):
    train_set_x = load_data(mnist_path)[0][0]
    _, train_da = build_like_test_dA(train_set_x, corruption_level)
    expected = [float(v) for v in legacy_record(floatX)["functions"][model]["outputs"][:3]]
    got = [float(train_da(i)) for i in range(3)]
    numpy.testing.assert_allclose(got, expected, rtol=RTOL[floatX], atol=0)


def test_corruption_stream_after_one_epoch_is_the_historical_one():
    """After an epoch (2 500 steps of 20 x 784 draws), the stream's state is byte for byte Theano's."""
    da = chapter.dA(numpy_rng=numpy.random.RandomState(123), input=T.matrix("x"))
    # the dA drew its own stream seed first, as test_dA does before building it
    rng = numpy.random.RandomState(123)
    theano_rng = chapter.RandomStreams(rng.randint(2**30))
    assert theano_rng.rstate.tolist() == da.theano_rng.rstate.tolist()
    theano_rng.binomial(size=T.matrix().shape, n=1, p=0.7)
    state = theano_rng.state_updates[0][0].get_value()
    assert state.shape == (60 * 256, 6)
    for _ in range(2500):
        state, _ = rng_mrg.mrg_draw(state, 20 * 784, "float64")
    digest = hashlib.sha256(numpy.ascontiguousarray(state).tobytes()).hexdigest()
    for floatX in ("float64", "float32"):
        recorded = legacy_record(floatX)["shared"]
        streams = [s for s in recorded if s["shape"] == [60 * 256, 6]]
        assert len(streams) == 2 and all(s["sha256"] == digest for s in streams)


def test_tile_raster_images():
    X = numpy.arange(3 * 4, dtype="float64").reshape(3, 4) * numpy.asarray([[1.0], [-2.0], [0.5]])
    out = chapter.tile_raster_images(X, img_shape=(2, 2), tile_shape=(2, 2), tile_spacing=(1, 1))
    assert out.shape == (5, 5) and out.dtype == numpy.uint8
    # each image scaled on its own to [0, 255) and truncated; gaps and the missing fourth image black
    first = numpy.floor((numpy.arange(4.0) / (3 + 1e-8)) * 255).reshape(2, 2)
    numpy.testing.assert_array_equal(out[:2, :2], first)
    numpy.testing.assert_array_equal(out[:2, 3:], first[::-1, ::-1])  # the second image decreases
    numpy.testing.assert_array_equal(out[3:, :2], first)
    assert not out[2].any() and not out[:, 2].any() and not out[3:, 3:].any()


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_tiles_are_the_historical_pixels(dtype):
    """The historical utils.tile_raster_images (NumPy 1.23.5) on the same matrix: the same pixels."""
    with open(os.path.join(LEGACY_DIR, "tile_raster_images.json")) as f:
        expected = json.load(f)[dtype]
    X = numpy.random.RandomState(0).uniform(-1, 1, size=(784, 500)).astype(dtype).T
    out = chapter.tile_raster_images(X, img_shape=(28, 28), tile_shape=(10, 10), tile_spacing=(1, 1))
    assert list(out.shape) == expected["shape"] and str(out.dtype) == expected["dtype"]
    assert hashlib.sha256(numpy.ascontiguousarray(out).tobytes()).hexdigest() == expected["sha256"]


def test_write_plots(tmp_path):
    W = numpy.random.RandomState(0).uniform(-1, 1, size=(784, 500))
    paths = chapter.write_plots(str(tmp_path), [], [W])
    assert paths == [os.path.join(str(tmp_path), "filters.png")]
    from PIL import Image

    pixels = numpy.asarray(Image.open(paths[0]))
    expected = chapter.tile_raster_images(W.T, img_shape=(28, 28), tile_shape=(10, 10), tile_spacing=(1, 1))
    numpy.testing.assert_array_equal(pixels, expected)


@pytest.mark.parametrize(
    "kwargs", [{"training_epochs": 0}, {"batch_size": 0}, {"learning_rate": -0.1}, {"training_epochs": 1.5}]
)
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        chapter.test_dA(**kwargs)


def assert_run_matches_legacy(lines, name, floatX, folder):
    """The lines of a run against the golden log ``name``, and its filter images against their digests."""
    golden = golden_log(f"{name}.{floatX}.log")
    assert len(lines) == len(golden)
    for line, expected in zip(lines, golden):
        head, _, value = line.rpartition(" ")
        ehead, _, evalue = expected.rpartition(" ")
        assert head == ehead
        if head.startswith("Training epoch"):
            assert float(value) == pytest.approx(float(evalue), rel=1e-12 if floatX == "float64" else 1e-6)
        else:
            assert value == evalue
    if floatX == "float64":
        with open(os.path.join(LEGACY_DIR, f"{name}.float64.images.json")) as f:
            images = json.load(f)
        from PIL import Image

        for image, expected in images.items():
            pixels = numpy.asarray(Image.open(os.path.join(str(folder), image)))
            assert hashlib.sha256(numpy.ascontiguousarray(pixels).tobytes()).hexdigest() == expected["sha256"]


def test_one_epoch_matches_legacy(mnist_path, floatX, capsys, tmp_path):
    """test.py's run: one epoch of each model; costs printed with repr agree to 12 digits (float64).

    Both float64 costs are the historical ones to the last printed digit
    (with Theano's sigmoid and softplus, docs/parity.md); the tolerance is
    for the BLAS kernels of another machine.
    """
    lines = run_tutorial(capsys, chapter.test_dA, training_epochs=1, output_folder=str(tmp_path))
    assert_run_matches_legacy(lines, "dA.training_epochs1", floatX, tmp_path)


@pytest.mark.slow
def test_one_epoch_under_numba_blas_matches_legacy(mnist_path, capsys, tmp_path):
    """The mode the chapter's page names for speed prints test.py's float64 lines and draws the same images.

    Slow: compiling the graphs with Numba on an empty cache takes minutes.
    """
    from deeplearning_tutorial.link.numba.mode import NUMBA_BLAS

    with pytensor.config.change_flags(floatX="float64", mode=NUMBA_BLAS):
        lines = run_tutorial(capsys, chapter.test_dA, training_epochs=1, output_folder=str(tmp_path))
    assert_run_matches_legacy(lines, "dA.training_epochs1", "float64", tmp_path)


@pytest.mark.slow
def test_default_run_matches_legacy(mnist_path, capsys, tmp_path):
    """The whole default run (15 epochs of each model, 75 000 steps) in float64: every cost and both images.

    A flipped corruption draw or a drifting sum anywhere in the 75 000 steps
    would show in the later epochs' costs and in the learned filters.
    """
    with pytensor.config.change_flags(floatX="float64"):
        lines = run_tutorial(capsys, chapter.test_dA, output_folder=str(tmp_path))
    assert_run_matches_legacy(lines, "dA.default", "float64", tmp_path)
