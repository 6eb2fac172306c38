"""Multi-class logistic regression on MNIST, trained by nonlinear conjugate gradient.

The model is that of ``logistic_sgd``: class probabilities

    P(Y = i | x, W, b) = softmax_i(x W + b)

and the most probable class as the prediction.  What changes is how it is
trained.  Instead of a small step after each minibatch, every iteration
looks at the whole training set: the mean cost and its gradient are summed
over all minibatches, and ``scipy.optimize.fmin_cg`` picks a search
direction (conjugate to the previous ones) and a step length along it by a
line search.  One iteration costs a few passes over the data but moves much
further than an SGD epoch; the method suits problems whose data fits in
memory and whose parameters can be laid out as one vector.

That is why the parameters live in a single shared vector ``theta``: SciPy
hands the optimizer's current point to our functions as one flat array,
and ``W`` and ``b`` are views of slices of it in the graph.

Ported from the historical Theano "Deep Learning Tutorials" with its names,
defaults and printed lines, so that a run can be compared with the
historical one line by line.  Run it as
``python -m deeplearning_tutorial.logistic_cg``; reference: C. M. Bishop,
"Pattern Recognition and Machine Learning", section 4.3.2.
"""

import os
import sys
import timeit
import warnings

if __name__ == "__main__" and not __package__:
    # Started as a script by path: make the package importable.
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy
import pytensor
import pytensor.tensor as T

from deeplearning_tutorial import checks, cli, logistic_sgd, runs
from deeplearning_tutorial.logistic_sgd import load_data
from deeplearning_tutorial.modes import tutorial_mode

#: The training function's parameter that has no flag in `cli.PARAMETERS`.
FLAGS = {
    "mnist_pkl_gz": (
        "--dataset",
        {"metavar": "PATH"},
        "the pickled dataset; 'mnist.pkl.gz' is the copy in data/, fetched there when missing",
    ),
}


class LogisticRegression(logistic_sgd.LogisticRegression):
    """Softmax regression whose ``W`` and ``b`` are two slices of one parameter vector ``theta``.

    The cost and the error rate are those of `logistic_sgd.LogisticRegression`;
    only the storage of the parameters differs, so that an optimizer working
    on flat vectors can set them all at once.
    """

    def __init__(self, input, n_in, n_out):
        """
        :param input: symbolic minibatch, one example per row (a matrix)
        :param n_in: number of input units (size of one example)
        :param n_out: number of classes
        """
        # theta = (W flattened row by row, then b), all zero at the start:
        # n_in * n_out + n_out numbers.
        self.theta = pytensor.shared(
            value=numpy.zeros(n_in * n_out + n_out, dtype=pytensor.config.floatX),
            name="theta",
            borrow=True,
        )
        # The first n_in * n_out entries, seen as an (n_in, n_out) matrix ...
        self.W = self.theta[0 : n_in * n_out].reshape((n_in, n_out))
        # ... and the last n_out entries.
        self.b = self.theta[n_in * n_out : n_in * n_out + n_out]

        self.p_y_given_x = T.special.softmax(T.dot(input, self.W) + self.b, axis=-1)
        self.y_pred = T.argmax(self.p_y_given_x, axis=1)
        self.input = input


def cg_optimization_mnist(n_epochs=50, mnist_pkl_gz="mnist.pkl.gz"):
    """Train `LogisticRegression` on MNIST with SciPy's conjugate gradient method.

    After each iteration the validation error is printed; when it is the
    best so far the test error is computed too (but printed only at the end).

    :param n_epochs: largest number of conjugate gradient iterations
        (``maxiter`` of ``fmin_cg``); each one is a few passes over the
        training set
    :param mnist_pkl_gz: the MNIST file (see `logistic_sgd.load_data`),
        originally from http://www.iro.umontreal.ca/~lisa/deep/data/mnist/mnist.pkl.gz
    """
    # Compile and print through the run (runs.py): the same as pytensor.function
    # and print, except under the command line, which watches both.
    run = runs.current()
    checks.positive_int("n_epochs", n_epochs)
    datasets = load_data(mnist_pkl_gz)

    train_set_x, train_set_y = datasets[0]
    valid_set_x, valid_set_y = datasets[1]
    test_set_x, test_set_y = datasets[2]

    # The minibatches only bound the memory of one compiled call: the
    # optimizer always sees sums over whole splits.
    batch_size = 600

    n_train_batches = train_set_x.get_value(borrow=True).shape[0] // batch_size
    n_valid_batches = valid_set_x.get_value(borrow=True).shape[0] // batch_size
    n_test_batches = test_set_x.get_value(borrow=True).shape[0] // batch_size

    n_in = 28 * 28  # pixels of an image
    n_out = 10  # classes

    run.print("... building the model")

    # Here the functions take the offset of the first example of a
    # minibatch, not the minibatch's number.
    minibatch_offset = T.lscalar()
    x = T.matrix()  # images, one flattened image per row
    y = T.ivector()  # their labels

    classifier = LogisticRegression(input=x, n_in=28 * 28, n_out=10)

    # The cost is already a mean; the outer mean of a scalar is kept from
    # the historical code and changes nothing.
    cost = classifier.negative_log_likelihood(y).mean()

    test_model = run.function(
        [minibatch_offset],
        classifier.errors(y),
        givens={
            x: test_set_x[minibatch_offset : minibatch_offset + batch_size],
            y: test_set_y[minibatch_offset : minibatch_offset + batch_size],
        },
        name="test",
        mode=tutorial_mode(),
    )

    validate_model = run.function(
        [minibatch_offset],
        classifier.errors(y),
        givens={
            x: valid_set_x[minibatch_offset : minibatch_offset + batch_size],
            y: valid_set_y[minibatch_offset : minibatch_offset + batch_size],
        },
        name="validate",
        mode=tutorial_mode(),
    )

    # The cost of one training minibatch at the current theta.
    batch_cost = run.function(
        [minibatch_offset],
        cost,
        givens={
            x: train_set_x[minibatch_offset : minibatch_offset + batch_size],
            y: train_set_y[minibatch_offset : minibatch_offset + batch_size],
        },
        name="batch_cost",
        mode=tutorial_mode(),
    )

    # Its gradient with respect to the whole vector theta.
    batch_grad = run.function(
        [minibatch_offset],
        T.grad(cost, classifier.theta),
        givens={
            x: train_set_x[minibatch_offset : minibatch_offset + batch_size],
            y: train_set_y[minibatch_offset : minibatch_offset + batch_size],
        },
        name="batch_grad",
        mode=tutorial_mode(),
    )

    # The three functions SciPy calls.  Each first makes the optimizer's
    # point the model's parameters; none of the compiled functions changes
    # theta itself, so the optimizer alone moves it.

    def train_fn(theta_value):
        """Mean training cost at ``theta_value``: the objective."""
        classifier.theta.set_value(theta_value, borrow=True)
        train_losses = [batch_cost(i * batch_size) for i in range(n_train_batches)]
        return numpy.mean(train_losses)

    def train_fn_grad(theta_value):
        """Mean of the minibatch gradients at ``theta_value``: the objective's gradient."""
        classifier.theta.set_value(theta_value, borrow=True)
        grad = batch_grad(0)
        for i in range(1, n_train_batches):
            grad += batch_grad(i * batch_size)
        return grad / n_train_batches

    # [best validation error, test error at that point]
    validation_scores = [numpy.inf, 0]

    def callback(theta_value):
        """After each iteration: print the validation error, and test a new best model."""
        classifier.theta.set_value(theta_value, borrow=True)
        validation_losses = [validate_model(i * batch_size) for i in range(n_valid_batches)]
        this_validation_loss = numpy.mean(validation_losses)
        run.print("validation error %f %%" % (this_validation_loss * 100.0,))

        if this_validation_loss < validation_scores[0]:
            validation_scores[0] = this_validation_loss
            test_losses = [test_model(i * batch_size) for i in range(n_test_batches)]
            validation_scores[1] = numpy.mean(test_losses)

    import scipy.optimize

    run.print("Optimizing using scipy.optimize.fmin_cg...")
    start_time = timeit.default_timer()
    with warnings.catch_warnings():
        # In float32 the line search compares its float32 step with an upper
        # bound of 1e100, which NumPy 2 casts to float32 (infinity) with a
        # warning.  Every comparison comes out as with 1e100 itself, so the
        # warning says nothing about the run; it is kept out of the log.
        warnings.filterwarnings("ignore", "overflow encountered in cast", RuntimeWarning)
        best_w_b = scipy.optimize.fmin_cg(  # noqa: F841 (kept from the original)
            f=train_fn,
            x0=numpy.zeros((n_in + 1) * n_out, dtype=x.dtype),
            fprime=train_fn_grad,
            callback=callback,
            disp=0,
            maxiter=n_epochs,
        )
    end_time = timeit.default_timer()
    run.print(
        "Optimization complete with best validation score of %f %%, with test performance %f %%"
        % (validation_scores[0] * 100.0, validation_scores[1] * 100.0)
    )

    run.print(
        "The code for file " + os.path.split(__file__)[1] + " ran for %.1fs" % (end_time - start_time),
        file=sys.stderr,
    )


def write_plots(folder, rows, params):
    """``--plots``: the validation error after each iteration; returns the written paths.

    The command line knows a model by the shared variables its training
    steps update; ``fmin_cg`` moves ``theta`` itself, so there are no
    weights to draw here (``params`` is empty), only the learning curve.
    """
    from deeplearning_tutorial import plots

    # One row per iteration, drawn at whole epochs.
    rows = [dict(row, minibatch=1) for row in rows]
    return [plots.learning_curves(os.path.join(folder, "learning_curves.png"), "logistic_cg", rows)] if rows else []


if __name__ == "__main__":
    cli.main("logistic_cg")
