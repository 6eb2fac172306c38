"""A multilayer perceptron on MNIST, trained by minibatch SGD.

One hidden layer of tanh units between the input and a logistic-regression
output layer:

    f(x) = softmax(b2 + W2 tanh(b1 + W1 x))

trained on the negative log-likelihood plus L1 and L2 penalties on the
weights, with the early stopping of ``logistic_sgd``.  Ported from the Theano
"Deep Learning Tutorials" with the historical names, defaults, seed,
training loop and printed lines.

Run it as ``python -m deeplearning_tutorial.mlp`` (or ``python mlp.py``).
Reference: C. M. Bishop, "Pattern Recognition and Machine Learning",
section 5.
"""

import os
import sys
import timeit

if __name__ == "__main__" and not __package__:
    # Started as a script by path: make the package importable.
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy
import pytensor
import pytensor.tensor as T

from deeplearning_tutorial import checks, cli, runs
from deeplearning_tutorial.logistic_sgd import LogisticRegression, load_data
from deeplearning_tutorial.modes import tutorial_mode


class HiddenLayer:
    """A fully connected layer: ``output = activation(input W + b)``."""

    def __init__(self, rng, input, n_in, n_out, W=None, b=None, activation=T.tanh):
        """
        :param rng: numpy.random.RandomState drawing the initial weights
        :param input: symbolic minibatch of shape (n_examples, n_in)
        :param n_in: number of inputs
        :param n_out: number of units
        :param W, b: shared parameters to use instead of new ones
        :param activation: element-wise nonlinearity, or None for a linear layer
        """
        self.input = input
        if W is None:
            # Uniform in +-sqrt(6 / (fan_in + fan_out)) keeps tanh units
            # in their linear range at the start, where gradients flow best
            # (Glorot & Bengio, 2010).  The sigmoid is four times flatter
            # at zero, so its weights are four times larger.
            W_values = numpy.asarray(
                rng.uniform(
                    low=-numpy.sqrt(6.0 / (n_in + n_out)),
                    high=numpy.sqrt(6.0 / (n_in + n_out)),
                    size=(n_in, n_out),
                ),
                dtype=pytensor.config.floatX,
            )
            if activation == T.sigmoid:
                W_values *= 4
            W = pytensor.shared(value=W_values, name="W", borrow=True)

        if b is None:
            b_values = numpy.zeros((n_out,), dtype=pytensor.config.floatX)
            b = pytensor.shared(value=b_values, name="b", borrow=True)

        self.W = W
        self.b = b

        lin_output = T.dot(input, self.W) + self.b
        self.output = lin_output if activation is None else activation(lin_output)
        self.params = [self.W, self.b]


class MLP:
    """One tanh hidden layer feeding a `LogisticRegression` layer."""

    def __init__(self, rng, input, n_in, n_hidden, n_out):
        """
        :param rng: numpy.random.RandomState drawing the initial weights
        :param input: symbolic minibatch of shape (n_examples, n_in)
        :param n_in: number of inputs
        :param n_hidden: number of hidden units
        :param n_out: number of classes
        """
        self.hiddenLayer = HiddenLayer(rng=rng, input=input, n_in=n_in, n_out=n_hidden, activation=T.tanh)
        self.logRegressionLayer = LogisticRegression(input=self.hiddenLayer.output, n_in=n_hidden, n_out=n_out)

        # Penalties on the weights (not the biases), to regularise.
        self.L1 = abs(self.hiddenLayer.W).sum() + abs(self.logRegressionLayer.W).sum()
        self.L2_sqr = (self.hiddenLayer.W**2).sum() + (self.logRegressionLayer.W**2).sum()

        # Likelihood and error come from the output layer.
        self.negative_log_likelihood = self.logRegressionLayer.negative_log_likelihood
        self.errors = self.logRegressionLayer.errors

        self.params = self.hiddenLayer.params + self.logRegressionLayer.params
        self.input = input


def test_mlp(
    learning_rate=0.01,
    L1_reg=0.00,
    L2_reg=0.0001,
    n_epochs=1000,
    dataset="mnist.pkl.gz",
    batch_size=20,
    n_hidden=500,
    seed=1234,
):
    """Train an `MLP` on MNIST by minibatch SGD with early stopping.

    :param learning_rate: step size of the gradient descent
    :param L1_reg: weight of the L1 penalty in the cost
    :param L2_reg: weight of the squared L2 penalty in the cost
    :param n_epochs: largest number of passes over the training set
    :param dataset: the MNIST file (see `load_data`)
    :param batch_size: examples per minibatch
    :param n_hidden: number of hidden units
    :param seed: seed of the random initial weights (the historical one by default)
    """
    # Compile and print through the run (runs.py): the same as pytensor.function
    # and print, except under the command line, which watches both.
    run = runs.current()
    checks.positive_number("learning_rate", learning_rate)
    for name, value in (("n_epochs", n_epochs), ("batch_size", batch_size), ("n_hidden", n_hidden)):
        checks.positive_int(name, value)
    checks.non_negative("L1_reg", L1_reg)
    checks.non_negative("L2_reg", L2_reg)

    datasets = load_data(dataset)
    checks.batch_fits(batch_size, datasets)

    train_set_x, train_set_y = datasets[0]
    valid_set_x, valid_set_y = datasets[1]
    test_set_x, test_set_y = datasets[2]

    n_train_batches = train_set_x.get_value(borrow=True).shape[0] // batch_size
    n_valid_batches = valid_set_x.get_value(borrow=True).shape[0] // batch_size
    n_test_batches = test_set_x.get_value(borrow=True).shape[0] // batch_size

    run.print("... building the model")

    index = T.lscalar()  # which minibatch
    x = T.matrix("x")  # images, one flattened image per row
    y = T.ivector("y")  # their labels

    rng = numpy.random.RandomState(seed)

    classifier = MLP(rng=rng, input=x, n_in=28 * 28, n_hidden=n_hidden, n_out=10)

    cost = classifier.negative_log_likelihood(y) + L1_reg * classifier.L1 + L2_reg * classifier.L2_sqr

    test_model = run.function(
        inputs=[index],
        outputs=classifier.errors(y),
        givens={
            x: test_set_x[index * batch_size : (index + 1) * batch_size],
            y: test_set_y[index * batch_size : (index + 1) * batch_size],
        },
        mode=tutorial_mode(),
    )
    validate_model = run.function(
        inputs=[index],
        outputs=classifier.errors(y),
        givens={
            x: valid_set_x[index * batch_size : (index + 1) * batch_size],
            y: valid_set_y[index * batch_size : (index + 1) * batch_size],
        },
        mode=tutorial_mode(),
    )

    # The gradient of the cost with respect to each parameter, in order.
    gparams = [T.grad(cost, param) for param in classifier.params]
    updates = [(param, param - learning_rate * gparam) for param, gparam in zip(classifier.params, gparams)]

    train_model = run.function(
        inputs=[index],
        outputs=cost,
        updates=updates,
        givens={
            x: train_set_x[index * batch_size : (index + 1) * batch_size],
            y: train_set_y[index * batch_size : (index + 1) * batch_size],
        },
        mode=tutorial_mode(),
    )

    run.print("... training")

    # Early stopping, as in logistic_sgd, with a longer initial patience.
    patience = 10000
    patience_increase = 2
    improvement_threshold = 0.995
    validation_frequency = min(n_train_batches, patience // 2)

    best_validation_loss = numpy.inf
    best_iter = 0
    test_score = 0.0
    start_time = timeit.default_timer()

    epoch = 0
    done_looping = False

    while (epoch < n_epochs) and (not done_looping):
        epoch = epoch + 1
        for minibatch_index in range(n_train_batches):
            minibatch_avg_cost = train_model(minibatch_index)  # noqa: F841 (kept from the original)
            iter = (epoch - 1) * n_train_batches + minibatch_index

            if (iter + 1) % validation_frequency == 0:
                validation_losses = [validate_model(i) for i in range(n_valid_batches)]
                this_validation_loss = numpy.mean(validation_losses)
                run.print(
                    "epoch %i, minibatch %i/%i, validation error %f %%"
                    % (epoch, minibatch_index + 1, n_train_batches, this_validation_loss * 100.0)
                )

                if this_validation_loss < best_validation_loss:
                    if this_validation_loss < best_validation_loss * improvement_threshold:
                        patience = max(patience, iter * patience_increase)
                    best_validation_loss = this_validation_loss
                    best_iter = iter

                    test_losses = [test_model(i) for i in range(n_test_batches)]
                    test_score = numpy.mean(test_losses)
                    run.print(
                        "     epoch %i, minibatch %i/%i, test error of best model %f %%"
                        % (epoch, minibatch_index + 1, n_train_batches, test_score * 100.0)
                    )

            if patience <= iter:
                done_looping = True
                break

    end_time = timeit.default_timer()
    run.print(
        "Optimization complete. Best validation score of %f %% obtained at iteration %i, with test performance %f %%"
        % (best_validation_loss * 100.0, best_iter + 1, test_score * 100.0)
    )
    run.print(
        "The code for file " + os.path.split(__file__)[1] + " ran for %.2fm" % ((end_time - start_time) / 60.0),
        file=sys.stderr,
    )


if __name__ == "__main__":
    cli.main("mlp")
