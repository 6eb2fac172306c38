"""Contractive autoencoders (cA) on MNIST.

A contractive autoencoder is an autoencoder (see `deeplearning_tutorial.dA`)
whose cost adds, to the cross-entropy of the reconstruction, the squared
Frobenius norm of the Jacobian of the hidden code with respect to the
input: a code that changes little when the input moves a little.  For
sigmoid units ``h = s(x W + b)`` that Jacobian is ``h (1 - h) W`` for each
example.

The historical arithmetic is kept as it was: the contraction term is
``T.sum(J ** 2) // n_batchsize``, a *floor* division, whose gradient is zero
in Theano as here, so the Jacobian penalty is printed but does not train
the weights.  A reader who wants the penalty to act replaces ``//`` by
``/`` in `cA.get_cost_updates` (the printed numbers then differ from the
historical ones).

Ported from the Theano "Deep Learning Tutorials" with the historical names,
defaults, seed, loops and printed lines.  Run it as
``python -m deeplearning_tutorial.cA``.

References: S. Rifai, P. Vincent, X. Muller, X. Glorot, Y. Bengio,
"Contractive Auto-Encoders: Explicit Invariance During Feature Extraction",
ICML 2011.
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
from deeplearning_tutorial.dA import _save_filters
from deeplearning_tutorial.data import load_data
from deeplearning_tutorial.modes import tutorial_mode


class cA:
    """A contractive autoencoder with tied weights."""

    def __init__(self, numpy_rng, input=None, n_visible=784, n_hidden=100, n_batchsize=1, W=None, bhid=None, bvis=None):
        """
        :param numpy_rng: numpy.random.RandomState drawing the initial weights
        :param input: symbolic minibatch, one example per row; a new float64
            matrix when None
        :param n_visible: number of input units
        :param n_hidden: number of hidden units
        :param n_batchsize: examples per minibatch (the Jacobian is built for exactly that many)
        :param W, bhid, bvis: shared weights and hidden and visible biases to
            use instead of new ones
        """
        self.n_visible = n_visible
        self.n_hidden = n_hidden
        self.n_batchsize = n_batchsize
        if not W:
            initial_W = numpy.asarray(
                numpy_rng.uniform(
                    low=-4 * numpy.sqrt(6.0 / (n_hidden + n_visible)),
                    high=4 * numpy.sqrt(6.0 / (n_hidden + n_visible)),
                    size=(n_visible, n_hidden),
                ),
                dtype=pytensor.config.floatX,
            )
            W = pytensor.shared(value=initial_W, name="W", borrow=True)

        if not bvis:
            bvis = pytensor.shared(value=numpy.zeros(n_visible, dtype=pytensor.config.floatX), borrow=True)

        if not bhid:
            bhid = pytensor.shared(value=numpy.zeros(n_hidden, dtype=pytensor.config.floatX), name="b", borrow=True)

        self.W = W
        self.b = bhid  # hidden bias
        self.b_prime = bvis  # visible bias
        self.W_prime = self.W.T  # tied weights

        self.x = T.dmatrix(name="input") if input is None else input

        self.params = [self.W, self.b, self.b_prime]

    def get_hidden_values(self, input):
        """The hidden code ``sigmoid(input W + b)``."""
        return T.sigmoid(T.dot(input, self.W) + self.b)

    def get_jacobian(self, hidden, W):
        """Each example's Jacobian of the code: ``h (1 - h)`` times ``W``, broadcast to (batch, visible, hidden)."""
        return T.reshape(hidden * (1 - hidden), (self.n_batchsize, 1, self.n_hidden)) * T.reshape(
            W, (1, self.n_visible, self.n_hidden)
        )

    def get_reconstructed_input(self, hidden):
        """The reconstruction ``sigmoid(hidden W^T + b')``."""
        return T.sigmoid(T.dot(hidden, self.W_prime) + self.b_prime)

    def get_cost_updates(self, contraction_level, learning_rate):
        """The cost (mean cross-entropy plus the contraction term) and one SGD step's updates.

        Sets ``L_rec`` (one cross-entropy per example) and ``L_jacob`` (the
        floor of the squared Jacobian norm per example; see the module
        docstring).
        """
        y = self.get_hidden_values(self.x)
        z = self.get_reconstructed_input(y)
        J = self.get_jacobian(y, self.W)
        self.L_rec = -T.sum(self.x * T.log(z) + (1 - self.x) * T.log(1 - z), axis=1)

        # floor division, as in the historical code: no gradient flows through it
        self.L_jacob = T.sum(J**2) // self.n_batchsize

        cost = T.mean(self.L_rec) + contraction_level * T.mean(self.L_jacob)

        gparams = T.grad(cost, self.params)
        updates = []
        for param, gparam in zip(self.params, gparams):
            updates.append((param, param - learning_rate * gparam))

        return (cost, updates)


def test_cA(
    learning_rate=0.01,
    training_epochs=20,
    dataset="mnist.pkl.gz",
    batch_size=10,
    output_folder="cA_plots",
    contraction_level=0.1,
):
    """Train a contractive autoencoder on MNIST and draw its first 100 filters (``cae_filters.png``).

    Each epoch prints the mean of the first minibatch's reconstruction cost
    and Jacobian term (``c_array[0]``, as the historical code did) and the
    mean square root of the Jacobian term of every minibatch.

    :param learning_rate: step size of the gradient descent
    :param training_epochs: passes over the training set
    :param dataset: the MNIST file (see `load_data`)
    :param batch_size: examples per minibatch
    :param output_folder: where the filter image goes (created if missing)
    :param contraction_level: weight of the contraction term in the cost
    """
    run = runs.current()
    checks.positive_number("learning_rate", learning_rate)
    checks.positive_int("training_epochs", training_epochs)
    checks.positive_int("batch_size", batch_size)
    checks.non_negative("contraction_level", contraction_level)

    datasets = load_data(dataset)
    checks.batch_fits(batch_size, datasets)
    train_set_x, train_set_y = datasets[0]

    n_train_batches = train_set_x.get_value(borrow=True).shape[0] // batch_size

    index = T.lscalar()  # which minibatch
    x = T.matrix("x")  # images, one flattened image per row

    rng = numpy.random.RandomState(123)

    ca = cA(numpy_rng=rng, input=x, n_visible=28 * 28, n_hidden=500, n_batchsize=batch_size)

    cost, updates = ca.get_cost_updates(contraction_level=contraction_level, learning_rate=learning_rate)

    train_ca = run.function(
        [index],
        [T.mean(ca.L_rec), ca.L_jacob],
        updates=updates,
        givens={x: train_set_x[index * batch_size : (index + 1) * batch_size]},
        mode=tutorial_mode(),
    )

    start_time = timeit.default_timer()

    for epoch in range(training_epochs):
        c = []
        for batch_index in range(n_train_batches):
            c.append(train_ca(batch_index))

        c_array = numpy.vstack(c)
        run.print(
            "Training epoch %d, reconstruction cost " % epoch,
            numpy.mean(c_array[0]),
            " jacobian norm ",
            numpy.mean(numpy.sqrt(c_array[1])),
        )

    end_time = timeit.default_timer()

    training_time = end_time - start_time

    run.print(
        "The code for file " + os.path.split(__file__)[1] + " ran for %.2fm" % ((training_time) / 60.0),
        file=sys.stderr,
    )
    weights = ca.W.get_value(borrow=True).T
    path = os.path.join(output_folder, "cae_filters.png")
    run.write_file(path, lambda p: _save_filters(p, weights), what="the cA's filters")


#: Flags of test_cA's own parameters (the others are shared: cli.PARAMETERS).
FLAGS = {
    "training_epochs": (
        "--training-epochs",
        {"type": cli.positive_int, "metavar": "N"},
        "passes over the training set",
    ),
    "output_folder": ("--output-folder", {"metavar": "DIR"}, "where the filter image goes"),
    "contraction_level": (
        "--contraction-level",
        {"type": cli._non_negative_float, "metavar": "WEIGHT"},
        "weight of the contraction term in the cost",
    ),
}


def write_plots(folder, rows, params):
    """The filters of the model's weights (``params[0]``), as ``folder/cae_filters.png``."""
    path = os.path.join(folder, "cae_filters.png")
    _save_filters(path, numpy.asarray(params[0]).T)
    return [path]


if __name__ == "__main__":
    cli.main("cA")
