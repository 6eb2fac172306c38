"""Write mlp.params_epoch1.float64.npz from the historical code.

Not a test, and not run by pytest: it needs Theano 1.0.5 and the historical
tutorial's code/ folder (with its data/mnist.pkl.gz beside it), e.g.

    THEANO_FLAGS=floatX=float64,blas.ldflags="-L<dir> -l<openblas>" \\
        python historical_mlp_params.py /path/to/DeepLearningTutorials/code

It trains the historical MLP exactly as ``test_mlp()`` does for one epoch
(same seed, cost, updates and minibatch order; validation does not touch
the parameters) and keeps a sample of the parameters: all of both biases and
of the output layer's weights, and every 97th hidden-layer weight (the
stride is saved with them).
"""

import os
import sys

import numpy

HIDDEN_STRIDE = 97


OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mlp.params_epoch1.float64.npz")


def main(code_dir, out=OUT):
    sys.path.insert(0, code_dir)
    import theano
    import theano.tensor as T
    from logistic_sgd import load_data
    from mlp import MLP

    assert theano.config.floatX == "float64", "run with THEANO_FLAGS=floatX=float64"
    train_x, train_y = load_data("mnist.pkl.gz")[0]
    batch_size, learning_rate, L1_reg, L2_reg = 20, 0.01, 0.00, 0.0001
    index, x, y = T.lscalar(), T.matrix("x"), T.ivector("y")
    classifier = MLP(rng=numpy.random.RandomState(1234), input=x, n_in=28 * 28, n_hidden=500, n_out=10)
    cost = classifier.negative_log_likelihood(y) + L1_reg * classifier.L1 + L2_reg * classifier.L2_sqr
    updates = [(p, p - learning_rate * T.grad(cost, p)) for p in classifier.params]
    batch = slice(index * batch_size, (index + 1) * batch_size)
    train_model = theano.function([index], cost, updates=updates, givens={x: train_x[batch], y: train_y[batch]})
    for minibatch_index in range(train_x.get_value(borrow=True).shape[0] // batch_size):
        train_model(minibatch_index)
    W_hidden, b_hidden, W_logreg, b_logreg = (p.get_value() for p in classifier.params)
    numpy.savez(
        out,
        hidden_stride=HIDDEN_STRIDE,
        W_hidden_sample=W_hidden.ravel()[::HIDDEN_STRIDE],
        b_hidden=b_hidden,
        W_logreg=W_logreg,
        b_logreg=b_logreg,
    )


if __name__ == "__main__":
    main(sys.argv[1])
