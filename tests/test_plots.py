"""Tests of deeplearning_tutorial.plots: grids with no empty cell, a colour bar, epochs marked whole."""

import matplotlib.image
import matplotlib.pyplot as plt
import numpy
import pytest

from deeplearning_tutorial import plots


@pytest.mark.parametrize(
    "n, shape", [(1, (1, 1)), (5, (1, 5)), (10, (2, 5)), (20, (4, 5)), (30, (5, 6)), (100, (10, 10)), (500, (20, 25))]
)
def test_a_grid_is_filled_exactly_and_nearly_square(n, shape):
    assert plots.grid_shape(n) == shape


@pytest.mark.parametrize("n, shown", [(13, 12), (11, 10), (7, 7), (500, 100), (101, 100), (22, 21)])
def test_as_many_images_are_shown_as_fill_a_grid(n, shown):
    assert plots.grid_shape(13) is None and plots.grid_shape(22) is None
    assert plots.shown_count(n) == shown
    rows, cols = plots.grid_shape(shown)
    assert rows * cols == shown


def rng_weights(*shape):
    return numpy.random.RandomState(1).uniform(-0.3, 0.5, size=shape)


def test_each_layer_is_drawn_without_an_empty_cell():
    logistic = plots.layer_images("logistic_sgd", [rng_weights(784, 10), numpy.zeros(10)])
    ((title, name, images, grid, labels, axes),) = logistic
    assert name == "weights_layer1.png" and images.shape == (10, 28, 28) and grid is None
    assert labels == [f"digit {d}" for d in range(10)]

    mlp = plots.layer_images("mlp", [rng_weights(784, 13), numpy.zeros(13), rng_weights(13, 10), numpy.zeros(10)])
    ((title, name, images, grid, labels, axes),) = mlp
    assert images.shape == (12, 28, 28) and labels is None  # 13 units would leave a cell empty
    assert "the first 12 of 13 hidden units" in title

    lenet = plots.layer_images("convolutional_mlp", [rng_weights(7, 5, 5, 5), rng_weights(5, 1, 5, 5)])
    (first, second) = lenet
    assert first[1] == "weights_layer1.png" and first[2].shape == (5, 5, 5) and first[3] is None
    assert second[1] == "weights_layer2.png" and second[2].shape == (35, 5, 5) and second[3] == (7, 5)
    assert second[5] == ("filter", "input map")


def test_the_weights_picture_has_one_colour_scale_with_its_bar():
    images = rng_weights(10, 28, 28)
    fig = plots.weights_figure("t", images, labels=[f"digit {d}" for d in range(10)])
    try:
        picture, bar = fig.axes
        assert bar.get_xlabel() == "weight (0 is white)"  # a horizontal bar, below
        mosaic = picture.images[0].get_array()
        # The bar's colours: one scale, symmetric about zero, to the largest |weight| of all images.
        (colours,) = [c for c in bar.collections if c.cmap.name == "RdBu_r"]
        limit = numpy.abs(images).max()
        assert (colours.norm.vmin, colours.norm.vmax) == (-limit, limit)
        # Tile (row 1, column 3) is image 8, in the bar's colours.
        top, row_gap, col_gap = 8, 8, 2
        y, x = top + 1 * (28 + row_gap), 3 * (28 + col_gap)
        expected = colours.cmap(colours.norm(images[8]))
        numpy.testing.assert_allclose(mosaic[y : y + 28, x : x + 28], expected)
        assert [t.get_text() for t in picture.texts] == [f"digit {d}" for d in range(10)]
    finally:
        plt.close(fig)


def test_a_grid_that_is_not_filled_is_refused():
    with pytest.raises(ValueError, match="12 images do not fill a grid of 5 x 3"):
        plots.weights_figure("t", rng_weights(12, 5, 5), grid=(5, 3))


def rows_of(epochs, validations_per_epoch, n_batches=83):
    rows = []
    for epoch in range(1, epochs + 1):
        for k in range(1, validations_per_epoch + 1):
            minibatch = n_batches * k // validations_per_epoch
            rows.append(
                {"epoch": epoch, "minibatch": minibatch, "validation_error": 12.0 - epoch - k / 10}
                | {"test_error": 11.0 - epoch, "train_cost": 1.0 / (epoch + k), "elapsed_s": 1.0}
            )
    return rows


@pytest.mark.parametrize("epochs, per_epoch", [(1, 1), (2, 1), (3, 2), (7, 1)])
def test_the_epoch_axis_is_marked_at_whole_epochs(epochs, per_epoch):
    fig = plots.curves_figure("t", rows_of(epochs, per_epoch))
    try:
        fig.canvas.draw()
        errors, costs = fig.axes
        low, high = costs.get_xlim()
        marks = zip(costs.get_xticks(), costs.get_xticklabels())
        shown = [(t, label.get_text()) for t, label in marks if low <= t <= high]
        assert shown[0] == (0, "0") and shown[-1] == (epochs, str(epochs))
        assert all(text == str(int(t)) for t, text in shown)  # whole epochs, written as such
        # Every validation is drawn, on both panels: even the one of a one-epoch run.
        (cost_line,) = costs.get_lines()
        assert len(cost_line.get_xdata()) == epochs * per_epoch and cost_line.get_marker() == "."
    finally:
        plt.close(fig)


def test_plot_run_writes_every_picture(tmp_path):
    params = [rng_weights(20, 1, 5, 5), numpy.zeros(20), rng_weights(50, 20, 5, 5), numpy.zeros(50)]
    paths = plots.plot_run(str(tmp_path), "convolutional_mlp", rows_of(2, 1), params)
    assert [p.rsplit("/", 1)[1] for p in paths] == ["learning_curves.png", "weights_layer1.png", "weights_layer2.png"]
    for path in paths:
        image = matplotlib.image.imread(path)
        assert image.ndim == 3 and min(image.shape[:2]) > 200
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.rsplit("/", 1)[1] for p in paths)  # nothing else
