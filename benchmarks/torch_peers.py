"""The historical tutorials' models in PyTorch, trained for a few epochs, in a process of its own.

Same architecture, same initial weights (drawn from the tutorials' NumPy
RandomState in the tutorials' order), same minibatch order, same plain SGD
and the same per-epoch work (all training minibatches, then the whole
validation and test sets), so that only the framework differs.  Started by
`benchmarks.run`; the last line printed is the JSON of `benchmarks.timing`::

    python -m benchmarks.torch_peers TUTORIAL N_EPOCHS STARTED
"""

import argparse

import numpy
import torch
import torch.nn.functional as F

from benchmarks.timing import EpochClock
from deeplearning_tutorial import data


def uniform(rng, fan_in, fan_out, shape):
    bound = numpy.sqrt(6.0 / (fan_in + fan_out))
    return torch.tensor(rng.uniform(-bound, bound, size=shape).astype("float32"), requires_grad=True)


def zeros(*shape):
    return torch.zeros(shape, requires_grad=True)


def logistic_sgd():
    W, b = zeros(784, 10), zeros(10)
    return [W, b], lambda x: x @ W + b, 0.13, 600, 0.0


def mlp():
    rng = numpy.random.RandomState(1234)
    W1, b1 = uniform(rng, 784, 500, (784, 500)), zeros(500)
    W2, b2 = zeros(500, 10), zeros(10)
    return [W1, b1, W2, b2], lambda x: torch.tanh(x @ W1 + b1) @ W2 + b2, 0.01, 20, 0.0001


def convolutional_mlp(nkerns=(20, 50), batch_size=500):
    rng = numpy.random.RandomState(23455)
    # Theano's conv2d flips the kernel; torch's conv2d does not, so the
    # drawn filters are flipped once here to compute the same function.
    f0 = (nkerns[0], 1, 5, 5)
    f1 = (nkerns[1], nkerns[0], 5, 5)
    W0 = uniform(rng, 25, nkerns[0] * 25 // 4, f0)
    W1 = uniform(rng, nkerns[0] * 25, nkerns[1] * 25 // 4, f1)
    with torch.no_grad():
        W0.copy_(W0.flip(2, 3))
        W1.copy_(W1.flip(2, 3))
    b0, b1 = zeros(nkerns[0]), zeros(nkerns[1])
    W2, b2 = uniform(rng, nkerns[1] * 16, 500, (nkerns[1] * 16, 500)), zeros(500)
    W3, b3 = zeros(500, 10), zeros(10)

    def forward(x):
        h = x.view(-1, 1, 28, 28)
        h = torch.tanh(F.max_pool2d(F.conv2d(h, W0), 2) + b0.view(1, -1, 1, 1))
        h = torch.tanh(F.max_pool2d(F.conv2d(h, W1), 2) + b1.view(1, -1, 1, 1))
        h = torch.tanh(h.flatten(1) @ W2 + b2)
        return h @ W3 + b3

    return [W3, b3, W2, b2, W1, b1, W0, b0], forward, 0.1, batch_size, 0.0


#: Chapter -> the function that builds its peer: (parameters, forward, learning rate, batch size, L2 weight).
PEERS = {"logistic_sgd": logistic_sgd, "mlp": mlp, "convolutional_mlp": convolutional_mlp}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.torch_peers", description=__doc__.splitlines()[0])
    parser.add_argument("tutorial", choices=sorted(PEERS))
    parser.add_argument("n_epochs", type=int)
    parser.add_argument("started", type=float)
    args = parser.parse_args(argv)
    clock = EpochClock(args.started)
    params, forward, learning_rate, batch_size, l2 = PEERS[args.tutorial]()
    splits = [
        (torch.from_numpy(x), torch.from_numpy(y)) for x, y in data.read_dataset(data.resolve_path(data.MNIST_NAME))
    ]
    (train_x, train_y), valid, test = splits
    n_batches = train_x.shape[0] // batch_size

    def errors(x, y):
        with torch.no_grad():
            return [
                (forward(x[i : i + batch_size]).argmax(1) != y[i : i + batch_size]).float().mean().item()
                for i in range(0, x.shape[0] - batch_size + 1, batch_size)
            ]

    for _ in range(args.n_epochs):
        for i in range(n_batches):
            x, y = train_x[i * batch_size : (i + 1) * batch_size], train_y[i * batch_size : (i + 1) * batch_size]
            cost = F.cross_entropy(forward(x), y)
            if l2:
                cost = cost + l2 * sum((p**2).sum() for p in params if p.dim() == 2)
            grads = torch.autograd.grad(cost, params)
            with torch.no_grad():
                for p, g in zip(params, grads):
                    p -= learning_rate * g
            if i == 0:
                clock.mark()
        errors(*valid)
        errors(*test)
    clock.print_report()


if __name__ == "__main__":
    main()
