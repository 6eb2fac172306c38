"""Multi-class logistic regression on MNIST, trained by minibatch SGD.

The model maps an input vector x to class probabilities

    P(Y = i | x, W, b) = softmax_i(x W + b)

and predicts the most probable class.  It is trained by stochastic gradient
descent on the mean negative log-likelihood of minibatches, with early
stopping on the validation error.

This is the first of the three tutorials ported from the Theano "Deep
Learning Tutorials" to PyTensor.  Names, defaults, the training loop and the
printed lines are kept as they were, so that a run can be compared with the
historical one line by line.  ``LogisticRegression`` is reused by the
other chapters; ``load_data`` (now in `deeplearning_tutorial.data`) is
still importable from here, where the historical code kept it.

Run it as ``python -m deeplearning_tutorial.logistic_sgd`` (or
``python logistic_sgd.py``); reference: C. M. Bishop, "Pattern Recognition
and Machine Learning", section 4.3.2.
"""

import os
import pickle
import sys
import timeit

if __name__ == "__main__" and not __package__:
    # Started as a script by path: make the package importable.
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy
import pytensor
import pytensor.tensor as T

from deeplearning_tutorial import checks, cli, data, runs
from deeplearning_tutorial.data import load_data
from deeplearning_tutorial.modes import tutorial_mode


class LogisticRegression:
    """Softmax regression: one weight matrix ``W`` and one bias vector ``b``.

    Each class ``i`` has a hyperplane (column ``W[:, i]`` and ``b[i]``); the
    softmax of the signed distances to them gives the class probabilities.
    """

    def __init__(self, input, n_in, n_out):
        """
        :param input: symbolic minibatch, one example per row (a matrix)
        :param n_in: number of input units (size of one example)
        :param n_out: number of classes
        """
        # The parameters start at zero: the problem is convex, so there is
        # no symmetry to break.
        self.W = pytensor.shared(
            value=numpy.zeros((n_in, n_out), dtype=pytensor.config.floatX),
            name="W",
            borrow=True,
        )
        self.b = pytensor.shared(
            value=numpy.zeros((n_out,), dtype=pytensor.config.floatX),
            name="b",
            borrow=True,
        )
        # One row of class probabilities per example.
        self.p_y_given_x = T.special.softmax(T.dot(input, self.W) + self.b, axis=-1)
        self.y_pred = T.argmax(self.p_y_given_x, axis=1)
        self.params = [self.W, self.b]
        self.input = input

    def negative_log_likelihood(self, y):
        """Mean over the minibatch of -log P(Y = y | x).

        The mean rather than the sum keeps the useful learning rate nearly
        independent of the minibatch size.  ``log(p)[arange(n), y]`` picks,
        for each example, the log-probability of its correct label.
        """
        return -T.mean(T.log(self.p_y_given_x)[T.arange(y.shape[0]), y])

    def errors(self, y):
        """Fraction of the minibatch that is misclassified (zero-one loss).

        :param y: symbolic vector of integer labels
        """
        if y.ndim != self.y_pred.ndim:
            raise TypeError(
                "y should have the same shape as self.y_pred",
                ("y", y.type, "y_pred", self.y_pred.type),
            )
        if y.dtype.startswith("int"):
            return T.mean(T.neq(self.y_pred, y))
        else:
            raise NotImplementedError()


def save_model(model, path="best_model.pkl"):
    """Pickle ``model`` to ``path``, as the historical code did after each new best model.

    It is written atomically: an interrupted run never leaves a truncated
    model where the previous good one was.  The command line says where it
    went, and a resumed run does not write it while it replays.
    """

    def write(path):
        with data.atomic_write(path) as tmp, open(tmp, "wb") as f:
            pickle.dump(model, f)

    runs.current().write_file(path, write, what="the best model, pickled for logistic_sgd.predict()")


def sgd_optimization_mnist(learning_rate=0.13, n_epochs=1000, dataset="mnist.pkl.gz", batch_size=600):
    """Train `LogisticRegression` on MNIST by minibatch SGD with early stopping.

    :param learning_rate: step size of the gradient descent
    :param n_epochs: largest number of passes over the training set
    :param dataset: the MNIST file (see `load_data`), originally from
        http://www.iro.umontreal.ca/~lisa/deep/data/mnist/mnist.pkl.gz
    :param batch_size: examples per minibatch
    """
    # Compile and print through the run (runs.py): the same as pytensor.function
    # and print, except under the command line, which watches both.
    run = runs.current()
    checks.positive_number("learning_rate", learning_rate)
    checks.positive_int("n_epochs", n_epochs)
    checks.positive_int("batch_size", batch_size)
    datasets = load_data(dataset)
    checks.batch_fits(batch_size, datasets)

    train_set_x, train_set_y = datasets[0]
    valid_set_x, valid_set_y = datasets[1]
    test_set_x, test_set_y = datasets[2]

    # Whole minibatches only: the last partial one of each split is dropped.
    n_train_batches = train_set_x.get_value(borrow=True).shape[0] // batch_size
    n_valid_batches = valid_set_x.get_value(borrow=True).shape[0] // batch_size
    n_test_batches = test_set_x.get_value(borrow=True).shape[0] // batch_size

    run.print("... building the model")

    index = T.lscalar()  # which minibatch
    x = T.matrix("x")  # images, one flattened image per row
    y = T.ivector("y")  # their labels

    classifier = LogisticRegression(input=x, n_in=28 * 28, n_out=10)
    cost = classifier.negative_log_likelihood(y)

    # ``givens`` replaces x and y by slices of the shared data, so each
    # compiled function takes only the minibatch index.
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

    g_W = T.grad(cost=cost, wrt=classifier.W)
    g_b = T.grad(cost=cost, wrt=classifier.b)
    updates = [
        (classifier.W, classifier.W - learning_rate * g_W),
        (classifier.b, classifier.b - learning_rate * g_b),
    ]
    # One SGD step on minibatch ``index``; returns its cost.
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

    run.print("... training the model")
    # Early stopping: train for at least ``patience`` minibatches, and
    # extend the horizon whenever the validation error improves enough.
    patience = 5000
    patience_increase = 2
    improvement_threshold = 0.995  # relative improvement that counts
    # Validate once an epoch here (or more often if patience is short).
    validation_frequency = min(n_train_batches, patience // 2)

    best_validation_loss = numpy.inf
    test_score = 0.0
    start_time = timeit.default_timer()

    done_looping = False
    epoch = 0
    while (epoch < n_epochs) and (not done_looping):
        epoch = epoch + 1
        for minibatch_index in range(n_train_batches):
            minibatch_avg_cost = train_model(minibatch_index)  # noqa: F841 (kept from the original)
            # Minibatches seen so far, counted from 0.
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

                    test_losses = [test_model(i) for i in range(n_test_batches)]
                    test_score = numpy.mean(test_losses)
                    run.print(
                        "     epoch %i, minibatch %i/%i, test error of best model %f %%"
                        % (epoch, minibatch_index + 1, n_train_batches, test_score * 100.0)
                    )
                    save_model(classifier)

            if patience <= iter:
                done_looping = True
                break

    end_time = timeit.default_timer()
    run.print(
        "Optimization complete with best validation score of %f %%,with test performance %f %%"
        % (best_validation_loss * 100.0, test_score * 100.0)
    )
    run.print("The code run for %d epochs, with %f epochs/sec" % (epoch, 1.0 * epoch / (end_time - start_time)))
    run.print(
        "The code for file " + os.path.split(__file__)[1] + " ran for %.1fs" % (end_time - start_time),
        file=sys.stderr,
    )


def predict(model_path="best_model.pkl", dataset="mnist.pkl.gz"):
    """Load a model saved by `sgd_optimization_mnist` and label 10 test images."""
    if not os.path.isfile(model_path):
        raise FileNotFoundError(
            f"no trained model at {os.path.abspath(model_path)!r}: run "
            "sgd_optimization_mnist() first, in this folder, to create it"
        )
    with open(model_path, "rb") as f:
        classifier = pickle.load(f)

    predict_model = pytensor.function(inputs=[classifier.input], outputs=classifier.y_pred, mode=tutorial_mode())

    datasets = load_data(dataset)
    test_set_x, test_set_y = datasets[2]
    test_set_x = test_set_x.get_value()

    predicted_values = predict_model(test_set_x[:10])
    print("Predicted values for the first 10 examples in test set:")
    print(predicted_values)
    return predicted_values


if __name__ == "__main__":
    cli.main("logistic_sgd")
