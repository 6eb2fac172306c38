"""LeNet-5's pictures: its learning curves, C1's kernels and the RBF prototypes.

The learning curves and the kernels are drawn by the shared
`deeplearning_tutorial.plots`; this module chooses what to draw for LeNet-5
and its variants, and draws what only they have: the test error after each
pass of a run without a validation set, and the prototypes.  Needs
matplotlib, like the shared module.
"""

import os

from deeplearning_tutorial import plots
from deeplearning_tutorial.lenet5.prototypes import prototype_bitmaps


def is_lenet5(params):
    """True for LeNet-5's parameters, False for an article's variant.

    The third parameter of LeNet-5 is S2's vector of subsampling
    coefficients; a variant's max-pooling has no parameters, so its third
    is C3's bank of kernels.
    """
    return len(params) > 2 and params[2].ndim == 1


def test_error_curve(path, title, rows):
    """The test error (%) after each pass: the curve of a run without a validation set."""
    fig, ax = plots.plt.subplots(figsize=(7, 4))
    points = [(r["epoch"], r["test_error"]) for r in rows if r.get("test_error") is not None]
    ax.plot(*zip(*points), "o-", label="test error")
    ax.set_xlabel("epoch")
    ax.set_ylabel("error (%)")
    ax.set_title(f"{title}: test error after each pass")
    ax.xaxis.set_major_locator(plots.MaxNLocator(integer=True))  # passes are whole
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return plots._save(fig, path)


def write_prototypes(path):
    """The ten RBF prototypes as 7x12 bitmaps, ink black on white.

    Drawn here rather than as a weight grid: they are targets of +-1, not
    weights, so two colours say all there is.
    """
    bitmaps = prototype_bitmaps().reshape(10, 12, 7)
    fig, axes = plots.plt.subplots(1, 10, figsize=(10, 2.2))
    for digit, ax in enumerate(axes):
        ax.imshow(-bitmaps[digit], cmap="gray", vmin=-1, vmax=1, interpolation="nearest")
        ax.set_title(str(digit))
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("LeNet-5: the prototypes of the output units")
    fig.tight_layout()
    return plots._save(fig, path)


def write_plots(folder, rows, params):
    """Learning curves, C1's kernels and (LeNet-5) the prototypes as PNG files in ``folder``; return their paths.

    ``rows`` are the run's history rows; ``params`` the model's parameter
    arrays in the order of `model.LeNet5.params` (C1's kernels first).
    """
    lenet5 = is_lenet5(params)
    title = "LeNet-5" if lenet5 else "an article's LeNet"
    paths = []
    curves = os.path.join(folder, "learning_curves.png")
    if any(r.get("validation_error") is not None for r in rows):
        paths.append(plots.learning_curves(curves, title, rows))
    elif any(r.get("test_error") is not None for r in rows):
        paths.append(test_error_curve(curves, title, rows))
    kernels = params[0][:, 0]
    labels = [f"map {k}" for k in range(len(kernels))]
    path = os.path.join(folder, "c1_kernels.png")
    paths.append(plots.weight_grid(path, f"{title}: C1's kernels", kernels, (1, len(kernels)), labels))
    if lenet5:
        paths.append(write_prototypes(os.path.join(folder, "prototypes.png")))
    return paths
