"""Pictures of a run: learning curves and the first layers' weights.

Needs matplotlib, an optional extra (``pip install -e '.[plots]'``); the
command line checks for it before training.  Every PNG is written
atomically.
"""

import math
import os

import matplotlib

matplotlib.use("Agg")  # files only: no window, no display needed

import matplotlib.pyplot as plt  # noqa: E402
import numpy  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from deeplearning_tutorial import data  # noqa: E402

#: Largest number of unit images drawn for one layer.
MAX_UNITS = 100


def _save(fig, path):
    try:
        with data.atomic_write(path) as tmp:
            fig.savefig(tmp, format="png", dpi=100)
    finally:
        plt.close(fig)
    return path


def learning_curves(path, title, rows):
    """Write the `curves_figure` of ``rows`` to ``path``."""
    return _save(curves_figure(title, rows), path)


def curves_figure(title, rows):
    """Validation and test error (%) and the mean training cost against the epoch.

    A row is a validation; its place on the epoch axis is the fraction of
    the epochs done when it was made, and the axis is marked at whole
    epochs only.
    """
    n_batches = max(r["minibatch"] for r in rows)
    epochs = [r["epoch"] - 1 + r["minibatch"] / n_batches for r in rows]
    fig, (errors, costs) = plt.subplots(2, 1, figsize=(7, 7), sharex=True)
    errors.plot(epochs, [r["validation_error"] for r in rows], ".-", label="validation error")
    best = [(e, r["test_error"]) for e, r in zip(epochs, rows) if r["test_error"] is not None]
    if best:
        errors.plot(*zip(*best), "o", markersize=4, label="test error of each new best model")
    errors.set_ylabel("error (%)")
    errors.set_title(f"{title}: errors on the validation and test sets")
    errors.grid(alpha=0.3)
    errors.legend()
    with_cost = [(e, r["train_cost"]) for e, r in zip(epochs, rows) if r["train_cost"] is not None]
    if with_cost:
        # Markers too: a one-epoch run has a single point, which a bare line would not show.
        costs.plot(*zip(*with_cost), ".-", color="tab:green")
    costs.set_xlabel("epochs done")
    costs.set_ylabel("mean training cost")
    costs.set_title("training cost, mean since the previous validation")
    costs.grid(alpha=0.3)
    # From the start of training, marked at whole epochs only.
    costs.set_xlim(0, math.ceil(max(epochs)) * 1.02)
    costs.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    return fig


def grid_shape(n):
    """(rows, columns) that ``n`` images fill exactly, as near square as can be; None if only a long strip would.

    Up to 8 images make one row; more need a layout at most three times as
    wide as high (10 is 2 x 5, 20 is 4 x 5, 100 is 10 x 10; 13 has none).
    """
    if n <= 8:
        return 1, n
    rows = max(r for r in range(1, math.isqrt(n) + 1) if n % r == 0)
    return (rows, n // rows) if n // rows <= 3 * rows else None


def shown_count(n, limit=MAX_UNITS):
    """How many of ``n`` images to draw: at most ``limit``, and a number that fills a grid (see `grid_shape`)."""
    return next(m for m in range(min(n, limit), 0, -1) if grid_shape(m))


def weight_grid(path, title, images, grid=None, labels=None, axis_names=None):
    """Write the `weights_figure` of ``images`` to ``path``."""
    return _save(weights_figure(title, images, grid, labels, axis_names), path)


def weights_figure(title, images, grid=None, labels=None, axis_names=None):
    """Draw ``images`` (n, rows, cols) side by side in one picture, on one colour scale, with its colour bar.

    Zero is white, positive weights red and negative ones blue, all on the
    same scale, so that images can be compared with each other.  ``grid``
    is (rows, cols) of the layout (`grid_shape` by default), and it must be
    filled exactly: no empty cells.  ``labels`` name the images (drawn above
    each), ``axis_names`` (rows, columns) say what the rows and columns are.
    """
    n, height, width = images.shape
    rows, cols = grid or grid_shape(n)
    if rows * cols != n:
        raise ValueError(f"{n} images do not fill a grid of {rows} x {cols}")
    limit = float(numpy.abs(images).max()) or 1.0
    scale = matplotlib.colors.Normalize(vmin=-limit, vmax=limit)
    colours = plt.get_cmap("RdBu_r")
    # One picture (a grid of a thousand small axes would take long to draw):
    # the images in colour, thin grey lines between them, and a white band
    # above each row for the labels.
    # A line of one pixel in 14 (2 for MNIST's 28) stands out from noisy weights.
    line = max(1, height // 14)
    row_gap, col_gap = (8, line) if labels else (line, line)
    top = row_gap if labels else 0
    mosaic = numpy.full((top + rows * (height + row_gap) - row_gap, cols * (width + col_gap) - col_gap, 4), 0.55)
    mosaic[..., 3] = 1.0
    if labels:
        for r in range(rows):
            y = r * (height + row_gap)
            mosaic[y : y + row_gap] = 1.0  # white band for the labels
    for i, image in enumerate(images):
        r, c = divmod(i, cols)
        y, x = top + r * (height + row_gap), c * (width + col_gap)
        mosaic[y : y + height, x : x + width] = colours(scale(image))

    # The picture at most 10 x 12 inches, an image at most one inch wide;
    # room around it for the title, the axis names and the colour bar below.
    inch = min(10 / mosaic.shape[1], 12 / mosaic.shape[0], 1.0 / width)  # per pixel of the mosaic
    fig, ax = plt.subplots(figsize=(max(mosaic.shape[1] * inch, 4.0) + 0.6, mosaic.shape[0] * inch + 2.0))
    ax.imshow(mosaic, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_frame_on(False)
    if labels:
        for i, label in enumerate(labels):
            r, c = divmod(i, cols)
            x, y = c * (width + col_gap) + (width - 1) / 2, top + r * (height + row_gap) - 1.5
            ax.text(x, y, label, ha="center", va="bottom", fontsize=9)
    if axis_names:
        ax.set_ylabel(axis_names[0])
        ax.set_xlabel(axis_names[1])
    # Below the picture, as wide as it: the same size for a strip of five kernels as for a hundred units.
    bar = fig.colorbar(
        matplotlib.cm.ScalarMappable(scale, colours), ax=ax, orientation="horizontal", fraction=0.08, pad=0.02
    )
    bar.set_label("weight (0 is white)")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def layer_images(name, params):
    """(title, file name, images, grid, labels, axis names) for each layer worth drawing, from the parameter arrays."""
    drawn = []
    matrices = [w for w in params if w.ndim == 2]
    for w in params:
        if w.ndim == 2 and w.shape[0] == 28 * 28:
            units = w.shape[1]
            shown = shown_count(units)
            images = w.T[:shown].reshape(shown, 28, 28)
            if len(matrices) == 1 and units == 10:
                # Logistic regression: one image per class, that is per digit.
                labels = [f"digit {d}" for d in range(10)]
                drawn.append(
                    (f"{name}: the weights of each output class", "weights_layer1.png", images, None, labels, None)
                )
                continue
            if shown == units:
                what = f"all {units} hidden units"
            else:
                what = f"the first {shown} of {units} hidden units"
            drawn.append((f"{name}: first-layer weights,\n{what}", "weights_layer1.png", images, None, None, None))
    fours = [w for w in params if w.ndim == 4]
    for w in sorted(fours, key=lambda w: w.shape[1]):
        layer = 1 if w.shape[1] == 1 else 2
        f, c, kr, kc = w.shape
        if c == 1:
            shown = shown_count(f, limit=f)
            what = f"{f} kernels of {kr}x{kc}" if shown == f else f"the first {shown} of {f} kernels of {kr}x{kc}"
            images, grid, axis_names = w[:shown].reshape(shown, kr, kc), None, None
        else:
            # One row of kernels per filter, one column per input map.
            what = f"{f} filters (rows) x {c} input maps (columns), {kr}x{kc}"
            images, grid, axis_names = w.reshape(f * c, kr, kc), (f, c), ("filter", "input map")
        title = f"{name}: convolution layer {layer},\n{what}"
        drawn.append((title, f"weights_layer{layer}.png", images, grid, None, axis_names))
    return drawn


def plot_run(folder, name, rows, params):
    """Write the learning curves and the weight grids of a run into ``folder``; return the paths."""
    paths = []
    # The validation rows (a chapter's pretraining rows have their own pictures).
    rows = [row for row in rows if row.get("minibatch") is not None]
    if rows:
        paths.append(learning_curves(os.path.join(folder, "learning_curves.png"), name, rows))
    for title, file_name, images, grid, labels, axis_names in layer_images(name, params):
        paths.append(weight_grid(os.path.join(folder, file_name), title, images, grid, labels, axis_names))
    return paths
