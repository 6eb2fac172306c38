"""Small demonstrations: the Theano LeNet tutorial's convolution and pooling, and LeNet-5 untrained.

Two come from the Theano LeNet tutorial:

``python -m deeplearning_tutorial.demos conv [--out FILE]``
    Convolves an RGB photograph with two random 9x9x3 filters, adds a
    random bias per filter and applies a sigmoid: even untrained, such
    filters respond to edges and colours.  Writes the photograph and the
    two filtered images side by side into one PNG (needs matplotlib, whose
    sample data provides the photograph; nothing is downloaded).

``python -m deeplearning_tutorial.demos pool``
    Max-pools a random 5x5 array with a 2x2 window, once dropping the
    partial windows at the border (``ignore_border=True``: 2x2 output) and
    once keeping them (``ignore_border=False``: 3x3 output), and prints
    the inputs and outputs as the tutorial did.

Two more show LeNet-5 (`deeplearning_tutorial.lenet5`) without training it:

``python -m deeplearning_tutorial.demos lenet5-summary [--variant NAME]``
    Prints LeNet-5's layer table (output shape, trainable parameters and
    connections of each layer), or that of an article's variant.

``python -m deeplearning_tutorial.demos prototypes [--out FILE]``
    Draws the ten hand-drawn prototypes of LeNet-5's output units into one
    PNG (needs matplotlib).
"""

import argparse
import os
import sys

if __name__ == "__main__" and not __package__:
    # Started as a script by path: make the package importable.
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy
import pytensor
import pytensor.tensor as T

from deeplearning_tutorial import lenet5
from deeplearning_tutorial.data import atomic_write
from deeplearning_tutorial.modes import tutorial_mode
from deeplearning_tutorial.ops import conv2d, pool_2d

PHOTO = "grace_hopper.jpg"  # shipped with matplotlib's sample data


def _matplotlib(demo):
    """matplotlib with a file-only backend, or one line saying how to install it."""
    try:
        import matplotlib
    except ImportError:
        raise ValueError(
            f"the {demo} demo needs matplotlib, which is not installed: pip install 'deeplearning-tutorial[plots]'"
        ) from None
    matplotlib.use("Agg")
    import matplotlib.cbook
    import matplotlib.image
    import matplotlib.pyplot

    return matplotlib


def conv_filters(rng):
    """The tutorial's two 9x9 filters over 3 colour channels, and their biases.

    Uniform in +-1/sqrt(fan-in) (fan-in 3 x 9 x 9); the biases are drawn
    at random too, in +-0.5, to stand in for learned ones.
    """
    w_shp = (2, 3, 9, 9)
    w_bound = numpy.sqrt(3 * 9 * 9)
    W = rng.uniform(low=-1.0 / w_bound, high=1.0 / w_bound, size=w_shp)
    b = rng.uniform(low=-0.5, high=0.5, size=(2,))
    return W, b


def filter_image(img, seed=23455):
    """(rows, cols, 3) image in [0, 1) -> (2, rows - 8, cols - 8) filtered images."""
    rng = numpy.random.RandomState(seed)
    W, b = conv_filters(rng)
    input = T.tensor4(name="input", dtype="float64")
    conv_out = conv2d(input, pytensor.shared(W, name="W"))
    # The bias, shaped (1, 2, 1, 1), is broadcast over rows and columns.
    output = T.sigmoid(conv_out + pytensor.shared(b, name="b").dimshuffle("x", 0, "x", "x"))
    f = pytensor.function([input], output, mode=tutorial_mode())
    # (rows, cols, channels) -> a minibatch of one (1, channels, rows, cols).
    batch = img.transpose(2, 0, 1)[numpy.newaxis]
    return f(batch)[0]


def conv_demo(out="conv_demo.png"):
    """Filter the sample photograph and write input and outputs into ``out``."""
    mpl = _matplotlib("conv")
    plt = mpl.pyplot
    path = mpl.cbook.get_sample_data(PHOTO, asfileobj=False)
    img = numpy.asarray(mpl.image.imread(path), dtype="float64") / 256.0
    if img.ndim != 3 or img.shape[2] < 3:
        raise ValueError(f"{path} is not an RGB image (shape {img.shape})")
    img = img[:, :, :3]
    filtered = filter_image(img)

    fig, axes = plt.subplots(1, 3, figsize=(12, 4.6))
    axes[0].imshow(img)
    axes[0].set_title("input")
    for k in range(2):
        axes[k + 1].imshow(filtered[k], cmap="gray")
        axes[k + 1].set_title(f"filter {k}: sigmoid(conv + b)")
    for ax in axes:
        ax.axis("off")
    fig.tight_layout()
    with atomic_write(out) as tmp:
        fig.savefig(tmp, format="png", dpi=80, bbox_inches="tight")
    plt.close(fig)
    print(f"wrote {out}: input {img.shape[1]}x{img.shape[0]}, filtered {filtered.shape[2]}x{filtered.shape[1]}")
    return filtered


def pool_demo():
    """Print the tutorial's max-pooling example; returns the two outputs."""
    input = T.dtensor4("input")
    maxpool_shape = (2, 2)
    invals = numpy.random.RandomState(1).rand(3, 2, 5, 5)
    results = []
    with numpy.printoptions(legacy="1.13"):  # the tutorial's NumPy printed arrays this way
        for ignore_border, i in ((True, 0), (False, 1)):
            f = pytensor.function(
                [input], pool_2d(input, maxpool_shape, ignore_border=ignore_border), mode=tutorial_mode()
            )
            output = f(invals)
            print(f"With ignore_border set to {ignore_border}:")
            print(f"invals[{i}, 0, :, :] =")
            print(invals[i, 0, :, :])
            print(f"output[{i}, 0, :, :] =")
            print(output[i, 0, :, :])
            results.append(output[i, 0])
    return results


def lenet5_summary(variant=None, seed=23455):
    """Print the layer table of LeNet-5, or of an article's variant; returns its rows."""
    x = T.matrix("x")
    rng = numpy.random.RandomState(seed)
    model = lenet5.LeNet5(rng, x) if variant is None else lenet5.ArticleNet(rng, x, variant)
    rows = lenet5.summary_rows(model)
    print(lenet5.format_summary(rows))
    return rows


def prototypes_demo(out="prototypes.png"):
    """Draw LeNet-5's ten output prototypes into ``out``."""
    _matplotlib("prototypes")
    from deeplearning_tutorial.lenet5 import plots

    plots.write_prototypes(out)
    print(f"wrote {out}")
    return out


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line and exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser():
    parser = _Parser(prog="python -m deeplearning_tutorial.demos", description=__doc__.splitlines()[0])
    demos = parser.add_subparsers(dest="demo", required=True, metavar="DEMO", parser_class=_Parser)
    conv = demos.add_parser("conv", help="two random filters on a photograph, as a PNG (needs matplotlib)")
    conv.add_argument("--out", default="conv_demo.png", help="PNG to write (default conv_demo.png)")
    demos.add_parser("pool", help="max-pooling with and without the border's partial windows")
    summary = demos.add_parser("lenet5-summary", help="LeNet-5's layers, parameters and connections")
    summary.add_argument("--variant", choices=lenet5.ArticleNet.VARIANTS, help="an article's LeNet instead")
    prototypes = demos.add_parser("prototypes", help="LeNet-5's output prototypes, as a PNG (needs matplotlib)")
    prototypes.add_argument("--out", default="prototypes.png", help="PNG to write (default prototypes.png)")
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.demo == "conv":
            conv_demo(args.out)
        elif args.demo == "pool":
            pool_demo()
        elif args.demo == "lenet5-summary":
            lenet5_summary(args.variant)
        else:
            prototypes_demo(args.out)
    except (ValueError, OSError) as e:
        print(f"{parser.prog}: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
