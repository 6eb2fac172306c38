"""LeNet on MNIST: a convolutional network trained by minibatch SGD.

Two convolution + max-pooling layers extract local features, a fully
connected tanh layer combines them, and logistic regression classifies:

    28x28 image -> 5x5 conv (nkerns[0] maps) -> 2x2 max-pool -> tanh
                -> 5x5 conv (nkerns[1] maps) -> 2x2 max-pool -> tanh
                -> 500 tanh units -> softmax over 10 digits

This simplifies LeCun's LeNet-5 as the Theano tutorial did: the pooling is
a plain max (no learned scale), every second-layer map sees every
first-layer map, and the output is softmax rather than RBF units.  The
convolution and pooling come from `deeplearning_tutorial.ops`, which
reproduces Theano's ``conv2d`` and ``pool_2d`` (PyTensor 3 has neither).

Run it as ``python -m deeplearning_tutorial.convolutional_mlp`` (or
``python convolutional_mlp.py``).  References: Y. LeCun, L. Bottou,
Y. Bengio and P. Haffner, "Gradient-Based Learning Applied to Document
Recognition", Proc. IEEE 86(11), 1998.
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
from deeplearning_tutorial.mlp import HiddenLayer
from deeplearning_tutorial.modes import tutorial_mode
from deeplearning_tutorial.ops import conv2d, pool_2d


class LeNetConvPoolLayer:
    """A convolution followed by max-pooling, a bias and tanh."""

    def __init__(self, rng, input, filter_shape, image_shape, poolsize=(2, 2)):
        """
        :param rng: numpy.random.RandomState drawing the initial filters
        :param input: symbolic 4-D minibatch of shape ``image_shape``
        :param filter_shape: (number of filters, input maps, filter rows, filter columns)
        :param image_shape: (batch size, input maps, image rows, image columns)
        :param poolsize: pooling window (rows, columns)
        """
        if image_shape[1] != filter_shape[1]:
            raise ValueError(
                f"the filters of filter_shape={tuple(filter_shape)} expect {filter_shape[1]} input maps, "
                f"but image_shape={tuple(image_shape)} has {image_shape[1]}"
            )

        # Each output unit sees (input maps x filter rows x filter columns)
        # inputs, and each input unit sends its gradient back to
        # (filters x filter rows x filter columns) units, divided by the
        # pooling, which keeps one unit in prod(poolsize).
        fan_in = numpy.prod(filter_shape[1:])
        fan_out = filter_shape[0] * numpy.prod(filter_shape[2:]) // numpy.prod(poolsize)
        # The same uniform initialisation as HiddenLayer, for these fans.
        W_bound = numpy.sqrt(6.0 / (fan_in + fan_out))
        self.W = pytensor.shared(
            numpy.asarray(rng.uniform(low=-W_bound, high=W_bound, size=filter_shape), dtype=pytensor.config.floatX),
            borrow=True,
        )

        # One bias per output feature map.
        b_values = numpy.zeros((filter_shape[0],), dtype=pytensor.config.floatX)
        self.b = pytensor.shared(value=b_values, borrow=True)

        conv_out = conv2d(input=input, filters=self.W, filter_shape=filter_shape, input_shape=image_shape)

        # Max-pool each feature map separately.
        pooled_out = pool_2d(input=conv_out, ws=poolsize, ignore_border=True)

        # The bias, seen as shape (1, n_filters, 1, 1), is broadcast over
        # the minibatch and over the rows and columns of each map.
        self.output = T.tanh(pooled_out + self.b.dimshuffle("x", 0, "x", "x"))

        self.params = [self.W, self.b]
        self.input = input


def lenet_layers(rng, x, nkerns, batch_size):
    """The tutorial's four layers on a minibatch ``x`` of ``batch_size`` flattened 28x28 images.

    The weights are drawn from ``rng`` layer by layer, in the historical
    order; `evaluate_lenet5` trains these layers and
    `deeplearning_tutorial.predict` rebuilds them around saved parameters.

    :returns: the two convolution + pooling layers, the hidden layer and the
        logistic regression layer
    """
    # Rows of 784 pixels become (batch, 1 map, 28, 28) images.
    layer0_input = x.reshape((batch_size, 1, 28, 28))

    # First layer: 28x28 images -> 24x24 after a 5x5 valid convolution ->
    # 12x12 after 2x2 pooling, so its output is (batch, nkerns[0], 12, 12).
    layer0 = LeNetConvPoolLayer(
        rng,
        input=layer0_input,
        image_shape=(batch_size, 1, 28, 28),
        filter_shape=(nkerns[0], 1, 5, 5),
        poolsize=(2, 2),
    )

    # Second layer: 12x12 -> 8x8 -> 4x4, output (batch, nkerns[1], 4, 4).
    layer1 = LeNetConvPoolLayer(
        rng,
        input=layer0.output,
        image_shape=(batch_size, nkerns[0], 12, 12),
        filter_shape=(nkerns[1], nkerns[0], 5, 5),
        poolsize=(2, 2),
    )

    # The fully connected layer takes each example's maps as one row of
    # nkerns[1] * 4 * 4 values.
    layer2_input = layer1.output.flatten(2)
    layer2 = HiddenLayer(rng, input=layer2_input, n_in=nkerns[1] * 4 * 4, n_out=500, activation=T.tanh)

    layer3 = LogisticRegression(input=layer2.output, n_in=500, n_out=10)
    return layer0, layer1, layer2, layer3


def evaluate_lenet5(
    learning_rate=0.1, n_epochs=200, dataset="mnist.pkl.gz", nkerns=[20, 50], batch_size=500, seed=23455
):
    """Train LeNet on MNIST by minibatch SGD with early stopping.

    :param learning_rate: step size of the gradient descent
    :param n_epochs: largest number of passes over the training set
    :param dataset: the MNIST file (see `load_data`)
    :param nkerns: number of filters of the first and second conv layers
    :param batch_size: examples per minibatch
    :param seed: seed of the random initial weights (the historical one by default)
    """
    # Compile and print through the run (runs.py): the same as pytensor.function
    # and print, except under the command line, which watches both.
    run = runs.current()
    checks.positive_number("learning_rate", learning_rate)
    checks.positive_int("n_epochs", n_epochs)
    checks.positive_int("batch_size", batch_size)
    if len(nkerns) != 2:
        raise ValueError(f"nkerns must give two filter counts (first and second layer), got {nkerns!r}")
    for k in nkerns:
        checks.positive_int("each entry of nkerns", k)

    rng = numpy.random.RandomState(seed)

    datasets = load_data(dataset)
    checks.batch_fits(batch_size, datasets)

    train_set_x, train_set_y = datasets[0]
    valid_set_x, valid_set_y = datasets[1]
    test_set_x, test_set_y = datasets[2]

    n_train_batches = train_set_x.get_value(borrow=True).shape[0]
    n_valid_batches = valid_set_x.get_value(borrow=True).shape[0]
    n_test_batches = test_set_x.get_value(borrow=True).shape[0]
    n_train_batches //= batch_size
    n_valid_batches //= batch_size
    n_test_batches //= batch_size

    index = T.lscalar()  # which minibatch
    x = T.matrix("x")  # images, one flattened image per row
    y = T.ivector("y")  # their labels

    run.print("... building the model")

    layer0, layer1, layer2, layer3 = lenet_layers(rng, x, nkerns, batch_size)

    cost = layer3.negative_log_likelihood(y)

    test_model = run.function(
        [index],
        layer3.errors(y),
        givens={
            x: test_set_x[index * batch_size : (index + 1) * batch_size],
            y: test_set_y[index * batch_size : (index + 1) * batch_size],
        },
        mode=tutorial_mode(),
    )
    validate_model = run.function(
        [index],
        layer3.errors(y),
        givens={
            x: valid_set_x[index * batch_size : (index + 1) * batch_size],
            y: valid_set_y[index * batch_size : (index + 1) * batch_size],
        },
        mode=tutorial_mode(),
    )

    # All parameters, output layer first as in the original (the order of
    # the updates does not change the results, but keeps graphs alike).
    params = layer3.params + layer2.params + layer1.params + layer0.params
    grads = T.grad(cost, params)

    # Plain SGD: one update pair per parameter.
    updates = [(param_i, param_i - learning_rate * grad_i) for param_i, grad_i in zip(params, grads)]

    train_model = run.function(
        [index],
        cost,
        updates=updates,
        givens={
            x: train_set_x[index * batch_size : (index + 1) * batch_size],
            y: train_set_y[index * batch_size : (index + 1) * batch_size],
        },
        mode=tutorial_mode(),
    )

    run.print("... training")
    # Early stopping, as in logistic_sgd.
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
            iter = (epoch - 1) * n_train_batches + minibatch_index

            if iter % 100 == 0:
                run.print("training @ iter = ", iter)
            cost_ij = train_model(minibatch_index)  # noqa: F841 (kept from the original)

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
    run.print("Optimization complete.")
    run.print(
        "Best validation score of %f %% obtained at iteration %i, with test performance %f %%"
        % (best_validation_loss * 100.0, best_iter + 1, test_score * 100.0)
    )
    run.print(
        "The code for file " + os.path.split(__file__)[1] + " ran for %.2fm" % ((end_time - start_time) / 60.0),
        file=sys.stderr,
    )


if __name__ == "__main__":
    cli.main("convolutional_mlp")
