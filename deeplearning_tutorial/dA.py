"""Denoising autoencoders (dA) on MNIST.

An autoencoder maps its input ``x`` to a hidden code ``y = s(W x + b)`` and
the code back to a reconstruction ``z = s(W' y + b')`` in input space, here
with tied weights (``W' = W^T``); it is trained to make ``z`` close to
``x`` in cross-entropy, ``-sum_k [x_k log z_k + (1 - x_k) log(1 - z_k)]``.
A *denoising* autoencoder encodes a corrupted copy of ``x`` (a random
fraction of its pixels set to 0) and must still reconstruct the clean
``x``.  The corruption masks are drawn inside the graph by Theano's
MRG31k3p random streams (`deeplearning_tutorial.ops.rng_mrg`), so they are
the historical code's masks, bit for bit.

Ported from the Theano "Deep Learning Tutorials" with the historical names,
defaults, seeds, construction order, loops and printed lines.  Run it as
``python -m deeplearning_tutorial.dA``.

References: P. Vincent, H. Larochelle, Y. Bengio, P.-A. Manzagol,
"Extracting and Composing Robust Features with Denoising Autoencoders",
ICML 2008; Y. Bengio, P. Lamblin, D. Popovici, H. Larochelle, "Greedy
Layer-Wise Training of Deep Networks", NIPS 2006.
"""

import os
import sys
import timeit

if __name__ == "__main__" and not __package__:
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy
import pytensor
import pytensor.tensor as T

from deeplearning_tutorial import checks, cli, runs
from deeplearning_tutorial.data import load_data
from deeplearning_tutorial.modes import tutorial_mode
from deeplearning_tutorial.ops.rng_mrg import MRG_RandomStreams as RandomStreams


class dA:
    """A denoising autoencoder with tied weights.

    ``get_cost_updates`` builds the training step: corrupt the input, encode,
    decode, and take one gradient step on the mean cross-entropy between the
    reconstruction and the clean input.
    """

    def __init__(
        self, numpy_rng, theano_rng=None, input=None, n_visible=784, n_hidden=500, W=None, bhid=None, bvis=None
    ):
        """
        :param numpy_rng: numpy.random.RandomState drawing the initial weights
        :param theano_rng: MRG random streams for the corruption; when None,
            one seeded by ``numpy_rng.randint(2 ** 30)`` (drawn before the weights)
        :param input: symbolic minibatch, one example per row; a new float64
            matrix when None
        :param n_visible: number of input units
        :param n_hidden: number of hidden units
        :param W, bhid, bvis: shared weights and hidden and visible biases to
            use instead of new ones (a stacked autoencoder shares them with
            its layers)
        """
        self.n_visible = n_visible
        self.n_hidden = n_hidden

        if not theano_rng:
            theano_rng = RandomStreams(numpy_rng.randint(2**30))

        # A PyTensor variable has no truth value: the shared parameters are tested against None.
        if W is None:
            # uniform in +-4 sqrt(6 / (n_visible + n_hidden)): the range suited to sigmoid units
            initial_W = numpy.asarray(
                numpy_rng.uniform(
                    low=-4 * numpy.sqrt(6.0 / (n_hidden + n_visible)),
                    high=4 * numpy.sqrt(6.0 / (n_hidden + n_visible)),
                    size=(n_visible, n_hidden),
                ),
                dtype=pytensor.config.floatX,
            )
            W = pytensor.shared(value=initial_W, name="W", borrow=True)

        if bvis is None:
            bvis = pytensor.shared(value=numpy.zeros(n_visible, dtype=pytensor.config.floatX), borrow=True)

        if bhid is None:
            bhid = pytensor.shared(value=numpy.zeros(n_hidden, dtype=pytensor.config.floatX), name="b", borrow=True)

        self.W = W
        self.b = bhid  # hidden bias
        self.b_prime = bvis  # visible bias
        self.W_prime = self.W.T  # tied weights
        self.theano_rng = theano_rng
        self.x = T.dmatrix(name="input") if input is None else input

        self.params = [self.W, self.b, self.b_prime]

    def get_corrupted_input(self, input, corruption_level):
        """``input`` with each value kept with probability ``1 - corruption_level``, else set to 0.

        The mask is a binomial draw (one trial) in floatX, so that the
        product stays in floatX.
        """
        return (
            self.theano_rng.binomial(size=input.shape, n=1, p=1 - corruption_level, dtype=pytensor.config.floatX)
            * input
        )

    def get_hidden_values(self, input):
        """The hidden code ``sigmoid(input W + b)``."""
        return T.sigmoid(T.dot(input, self.W) + self.b)

    def get_reconstructed_input(self, hidden):
        """The reconstruction ``sigmoid(hidden W^T + b')``."""
        return T.sigmoid(T.dot(hidden, self.W_prime) + self.b_prime)

    def get_cost_updates(self, corruption_level, learning_rate):
        """The mean cross-entropy of a minibatch's reconstructions, and one SGD step's updates."""
        tilde_x = self.get_corrupted_input(self.x, corruption_level)
        y = self.get_hidden_values(tilde_x)
        z = self.get_reconstructed_input(y)
        # one cross-entropy per example (summed over its pixels), averaged over the minibatch
        L = -T.sum(self.x * T.log(z) + (1 - self.x) * T.log(1 - z), axis=1)
        cost = T.mean(L)

        gparams = T.grad(cost, self.params)
        updates = [(param, param - learning_rate * gparam) for param, gparam in zip(self.params, gparams)]

        return (cost, updates)


def _train(run, train_set_x, x, index, n_train_batches, batch_size, corruption_level, learning_rate, training_epochs):
    rng = numpy.random.RandomState(123)
    theano_rng = RandomStreams(rng.randint(2**30))

    da = dA(numpy_rng=rng, theano_rng=theano_rng, input=x, n_visible=28 * 28, n_hidden=500)

    cost, updates = da.get_cost_updates(corruption_level=corruption_level, learning_rate=learning_rate)

    train_da = run.function(
        [index],
        cost,
        updates=updates,
        givens={x: train_set_x[index * batch_size : (index + 1) * batch_size]},
        mode=tutorial_mode(),
    )

    start_time = timeit.default_timer()
    for epoch in range(training_epochs):
        c = []
        for batch_index in range(n_train_batches):
            c.append(train_da(batch_index))

        run.print("Training epoch %d, cost " % epoch, numpy.mean(c, dtype="float64"))
    end_time = timeit.default_timer()
    return da, end_time - start_time


def test_dA(learning_rate=0.1, training_epochs=15, dataset="mnist.pkl.gz", batch_size=20, output_folder="dA_plots"):
    """Train two denoising autoencoders on MNIST: without corruption, then with 30 % corruption.

    Each starts from the same seed (123); after each, its first 100 filters
    are drawn as ``filters_corruption_0.png`` and ``filters_corruption_30.png``
    in ``output_folder``.

    :param learning_rate: step size of the gradient descent
    :param training_epochs: passes over the training set, for each model
    :param dataset: the MNIST file (see `load_data`)
    :param batch_size: examples per minibatch
    :param output_folder: where the filter images go (created if missing)
    """
    run = runs.current()
    checks.positive_number("learning_rate", learning_rate)
    checks.positive_int("training_epochs", training_epochs)
    checks.positive_int("batch_size", batch_size)

    datasets = load_data(dataset)
    checks.batch_fits(batch_size, datasets)
    train_set_x, train_set_y = datasets[0]

    n_train_batches = train_set_x.get_value(borrow=True).shape[0] // batch_size

    index = T.lscalar()  # which minibatch
    x = T.matrix("x")  # images, one flattened image per row

    for corruption_level, label, picture in (
        (0.0, "no corruption", "filters_corruption_0.png"),
        (0.3, "30% corruption", "filters_corruption_30.png"),
    ):
        da, training_time = _train(
            run, train_set_x, x, index, n_train_batches, batch_size, corruption_level, learning_rate, training_epochs
        )
        run.print(
            "The " + label + " code for file " + os.path.split(__file__)[1] + " ran for %.2fm" % (training_time / 60.0),
            file=sys.stderr,
        )
        path = os.path.join(output_folder, picture)
        weights = da.W.get_value(borrow=True).T
        run.write_file(path, lambda p, w=weights: _save_filters(p, w), what="the dA's filters")


def tile_raster_images(X, img_shape, tile_shape, tile_spacing=(0, 0)):
    """Lay out the first rows of ``X`` (one flattened image each) as a grid of images, in uint8 pixels.

    As the historical ``utils.tile_raster_images`` drew them under NumPy 1:
    each image is shifted to a minimum of 0 and multiplied by
    ``1 / (max + 1e-8)`` (computed in float64, rounded to the image's
    dtype), then scaled by 255 and truncated to uint8; images are
    ``tile_spacing`` pixels apart, filled in row by row; the gaps are black.
    """
    (H, W), (rows, cols), (Hs, Ws) = img_shape, tile_shape, tile_spacing
    out = numpy.zeros(((H + Hs) * rows - Hs, (W + Ws) * cols - Ws), dtype="uint8")
    for k in range(min(rows * cols, X.shape[0])):
        img = X[k].reshape(img_shape).copy()
        img -= img.min()
        # the factor computed in float64 and rounded once to the image's dtype (NumPy 1's scalar rules)
        img *= img.dtype.type(1.0 / (float(img.max()) + 1e-8))
        r, c = divmod(k, cols)
        out[r * (H + Hs) : r * (H + Hs) + H, c * (W + Ws) : c * (W + Ws) + W] = img * 255
    return out


def _save_filters(path, weights):
    """Write the first 100 filters (rows of ``weights``) as a 10 x 10 grid of 28 x 28 images, PNG."""
    from PIL import Image

    from deeplearning_tutorial.data import atomic_write

    pixels = tile_raster_images(X=weights, img_shape=(28, 28), tile_shape=(10, 10), tile_spacing=(1, 1))
    with atomic_write(path) as tmp:
        Image.fromarray(pixels).save(tmp, format="PNG")


#: Flags of test_dA's own parameters (the others are shared: cli.PARAMETERS).
FLAGS = {
    "training_epochs": (
        "--training-epochs",
        {"type": cli.positive_int, "metavar": "N"},
        "passes over the training set, for each model",
    ),
    "output_folder": ("--output-folder", {"metavar": "DIR"}, "where the filter images go"),
}


def write_plots(folder, rows, params):
    """The filters of the model's weights (``params[0]``, the last model trained), as ``folder/filters.png``."""
    path = os.path.join(folder, "filters.png")
    _save_filters(path, numpy.asarray(params[0]).T)
    return [path]


if __name__ == "__main__":
    cli.main("dA")
