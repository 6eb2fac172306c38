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

from deeplearning_tutorial import data  # noqa: E402

#: Largest number of unit images drawn for one layer.
MAX_UNITS = 100


def _save(fig, path):
    with data.atomic_write(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
    return path


def learning_curves(path, title, rows):
    """Validation and test error (%) and the mean training cost against the epoch."""
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
        costs.plot(*zip(*with_cost), "-", color="tab:green")
    costs.set_xlabel("epoch")
    costs.set_ylabel("mean training cost")
    costs.set_title("training cost, mean since the previous validation")
    costs.grid(alpha=0.3)
    fig.tight_layout()
    return _save(fig, path)


def weight_grid(path, title, images, grid=None, labels=None):
    """Draw ``images`` (n, rows, cols) as a grid of grey squares, each scaled to its own range.

    Zero is mid-grey, so positive and negative weights show as light and
    dark.  ``grid`` is (rows, cols) of the layout, nearly square by default;
    ``labels`` name the images.
    """
    n = len(images)
    rows, cols = grid or (math.ceil(n / math.ceil(math.sqrt(n))), math.ceil(math.sqrt(n)))
    cell = min(12 / cols, 14 / rows, 1.0)  # inches, square cells
    fig, axes = plt.subplots(rows, cols, figsize=(cols * cell, rows * cell + 0.8), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i, (ax, image) in enumerate(zip(axes.flat, images)):
        limit = numpy.abs(image).max() or 1.0
        ax.imshow(image, cmap="gray", vmin=-limit, vmax=limit, interpolation="nearest")
        if labels:
            ax.set_title(labels[i], fontsize=9)
    fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path)


def layer_images(name, params):
    """(title, file name, images, grid) for each layer worth drawing, from the parameter arrays."""
    drawn = []
    for w in params:
        if w.ndim == 2 and w.shape[0] == 28 * 28:
            units = w.shape[1]
            shown = min(units, MAX_UNITS)
            images = w.T[:shown].reshape(shown, 28, 28)
            what = "the weights of each output class" if units == 10 else f"the first {shown} of {units} hidden units"
            drawn.append((f"{name}: first-layer weights,\n{what}", "weights_layer1.png", images, None))
    fours = [w for w in params if w.ndim == 4]
    for w in sorted(fours, key=lambda w: w.shape[1]):
        layer = 1 if w.shape[1] == 1 else 2
        f, c, kr, kc = w.shape
        # One row of kernels per filter, one column per input map.
        grid = None if c == 1 else (f, c)
        what = f"{f} kernels of {kr}x{kc}" if c == 1 else f"{f} filters (rows) x {c} input maps (columns), {kr}x{kc}"
        title = f"{name}: convolution layer {layer},\n{what}"
        drawn.append((title, f"weights_layer{layer}.png", w.reshape(f * c, kr, kc), grid))
    return drawn


def plot_run(folder, name, rows, params):
    """Write the learning curves and the weight grids of a run into ``folder``; return the paths."""
    paths = []
    if rows:
        paths.append(learning_curves(os.path.join(folder, "learning_curves.png"), name, rows))
    for title, file_name, images, grid in layer_images(name, params):
        # Logistic regression's ten images are the ten digits' weights.
        labels = [f"digit {d}" for d in range(10)] if len(images) == 10 and images.shape[1:] == (28, 28) else None
        paths.append(weight_grid(os.path.join(folder, file_name), title, images, grid, labels))
    return paths
