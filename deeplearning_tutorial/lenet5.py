"""LeNet-5 as published: the network of LeCun, Bottou, Bengio and Haffner (1998).

`convolutional_mlp` trains the Theano tutorial's simplified LeNet.  This
module builds the network of the paper itself, layer by layer:

    32x32 image -> C1: 6 maps of 28x28, 5x5 convolutions
                -> S2: 6 maps of 14x14, trainable 2x2 subsampling
                -> C3: 16 maps of 10x10, 5x5 convolutions of chosen S2 maps
                -> S4: 16 maps of 5x5, trainable 2x2 subsampling
                -> C5: 120 maps of 1x1, 5x5 convolutions of all S4 maps
                -> F6: 84 units, fully connected
                -> 10 RBF units: squared distance to a fixed +-1 bitmap per digit

Every hidden unit squashes its weighted sum with the paper's scaled tanh,
``f(a) = A tanh(S a)`` with A = 1.7159 and S = 2/3, so that f(1) = 1 and
f(-1) = -1.  A subsampling unit adds the four inputs of its 2x2 window,
multiplies the sum by a trainable coefficient, adds a trainable bias (one of
each per map) and squashes.  C3 is a convolution whose kernels are
multiplied by a 0/1 mask: the weights of an unconnected (C3 map, S2 map)
pair are zero and, since their gradient is multiplied by the same mask,
stay zero.  The output layer computes, for each digit, the squared
Euclidean distance between F6's 84 outputs and that digit's prototype, a
7x12 bitmap of +-1 drawn by hand (`PROTOTYPES`); the smallest distance wins.

The loss is the paper's: the penalty of the correct class plus a
competitive term that pushes the other penalties up,

    y_D + log(exp(-j) + sum_i exp(-y_i)),

and training is the paper's stochastic diagonal Levenberg-Marquardt
method: each parameter k takes steps of ``eps / (mu + h_kk)``, where h_kk
is an estimate of the loss's second derivative with respect to it,
re-estimated on 500 training images before each pass (see
`LeNet5.hessian_diagonal`), and eps follows a fixed schedule over the passes.

``--variant keras|pytorch|tensorflow`` trains instead the small LeNets of
three widely read articles, with their optimisers, for comparison.

Run it as ``python -m deeplearning_tutorial.lenet5`` (``--help`` for the
options; ``--summary`` prints the layer table without training).
"""

import argparse
import os
import sys
import timeit

if __name__ == "__main__" and not __package__:
    # Started as a script by path: make the package importable.
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy
import pytensor
import pytensor.tensor as T
from pytensor.compile.mode import get_mode, predefined_modes
from pytensor.graph.rewriting.basic import dfs_rewriter, node_rewriter
from pytensor.link.vm import VMLinker
from pytensor.scalar import Add, Mul
from pytensor.tensor.elemwise import Elemwise

from deeplearning_tutorial import checks
from deeplearning_tutorial.data import DataError, atomic_write
from deeplearning_tutorial.logistic_sgd import load_data
from deeplearning_tutorial.modes import tutorial_mode
from deeplearning_tutorial.ops import conv2d, pool_2d

# The squashing function's constants (paper, appendix A).
A = 1.7159
S = 2.0 / 3.0

# Pixel values of the paper's input: white background -0.1, black ink
# 1.175, which gives the inputs a mean near 0 and a variance near 1.
BACKGROUND = -0.1
INK = 1.175

# The paper's learning-rate schedule for its 20 passes: (eps, passes), the
# last value kept for all remaining passes.
PAPER_SCHEDULE = "0.0005:2,0.0002:3,0.0001:3,0.00005:4,0.00001"

# The schedule we train with.  With the paper's own values the first few
# dozen updates multiply the weights of the lower layers a hundredfold and
# the network saturates: at the initial weights the estimated second
# derivatives of those layers are far below mu, so every step there is
# eps / mu times the gradient.  0.00001 (the paper's first rate divided by
# 50) is the largest of the rates tried that trains smoothly (3 times more
# recovers only slowly from a bad start; twice as much ends at 1.79 %).
# The paper's schedule divided by 50 then falls so low that learning stalls
# (1.66 % test error after 4 of its 20 passes), so we keep 0.00001 for 8
# passes and decay more slowly: with updates every 5 images, 0.98 % after
# the 20 passes (1.01 % with 0.00001:5,0.000005:5,0.000002:5,0.000001;
# README, "LeNet-5 as published").
DEFAULT_SCHEDULE = "0.00001:8,0.000005:6,0.000002"

# The hand-drawn prototypes of the RBF units: 12 rows of 7 cells per digit,
# '#' ink (+1) and '.' background (-1).  Drawn for this port on the 7x12
# grid the paper describes; they are not the paper's own bitmaps.
PROTOTYPES = {
    0: """
.......
..###..
.#...#.
#.....#
#.....#
#.....#
#.....#
#.....#
#.....#
.#...#.
..###..
.......""",
    1: """
.......
...#...
..##...
.#.#...
...#...
...#...
...#...
...#...
...#...
...#...
.#####.
.......""",
    2: """
.......
..###..
.#...#.
#.....#
......#
.....#.
....#..
...#...
..#....
.#.....
#######
.......""",
    3: """
.......
.####..
#....#.
......#
.....#.
..###..
.....#.
......#
......#
#....#.
.####..
.......""",
    4: """
.......
....#..
...##..
..#.#..
.#..#..
#...#..
#######
....#..
....#..
....#..
....#..
.......""",
    5: """
.......
#######
#......
#......
#.###..
##...#.
......#
......#
......#
#....#.
.####..
.......""",
    6: """
.......
...##..
..#....
.#.....
#......
#.###..
##...#.
#.....#
#.....#
.#...#.
..###..
.......""",
    7: """
.......
#######
......#
.....#.
.....#.
....#..
....#..
...#...
...#...
..#....
..#....
.......""",
    8: """
.......
..###..
.#...#.
#.....#
.#...#.
..###..
.#...#.
#.....#
#.....#
.#...#.
..###..
.......""",
    9: """
.......
..###..
.#...#.
#.....#
#.....#
.#...##
..###.#
......#
.....#.
....#..
..##...
.......""",
}


def prototype_bitmaps():
    """The ten RBF prototypes as a (10, 84) array of +-1, rows of 7 cells."""
    rows = []
    for digit in range(10):
        lines = PROTOTYPES[digit].strip().splitlines()
        assert len(lines) == 12 and all(len(line) == 7 for line in lines), digit
        rows.append([1.0 if c == "#" else -1.0 for c in "".join(lines)])
    return numpy.array(rows)


def c3_connections():
    """The paper's table of which S2 maps (rows) each C3 map (columns) sees.

    Maps 0-5 see three contiguous S2 maps, 6-11 four contiguous ones (S2
    maps wrap around: 5 is next to 0), 12-14 four maps that are not all
    contiguous, and map 15 all six.  Mixing subsets breaks the symmetry
    between C3 maps, so that they learn different features.
    """
    table = numpy.zeros((6, 16), dtype=bool)
    for m in range(6):
        table[[(m + i) % 6 for i in range(3)], m] = True
        table[[(m + i) % 6 for i in range(4)], 6 + m] = True
    for col, rows in zip((12, 13, 14), ((0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5))):
        table[list(rows), col] = True
    table[:, 15] = True
    return table


# --------------------------------------------------------------------------
# Compilation.


@node_rewriter([Elemwise])
def binary_products(fgraph, node):
    """Write a sum or product of three or more arrays as a chain of binary ones.

    PyTensor's Python VM evaluates an element-wise op with NumPy's ufunc
    only when it has the ufunc's number of inputs; a product of three
    arrays, which the graph rewrites make out of LeNet-5's gradients, is
    otherwise evaluated one element at a time in Python, a hundred times
    slower.
    """
    if not isinstance(node.op.scalar_op, (Add, Mul)) or len(node.inputs) <= 2:
        return False
    combine = T.add if isinstance(node.op.scalar_op, Add) else T.mul
    out = node.inputs[0]
    for term in node.inputs[1:]:
        out = combine(out, term)
    return [T.cast(out, node.outputs[0].dtype)]


def compile_mode():
    """`tutorial_mode()`, with `binary_products` when it runs ops in Python."""
    mode = tutorial_mode()
    linker = mode.linker
    if isinstance(linker, VMLinker) and not linker.c_thunks:
        # After the canonicalising rewrites that build the n-ary products,
        # and after fusion (which compiled backends use instead).
        return mode.register((dfs_rewriter(binary_products), 49.2))
    return mode


# --------------------------------------------------------------------------
# Activations and initialisations.


def squash(a):
    """The paper's scaled tanh."""
    return A * T.tanh(S * a)


def squash_slope(a):
    """Derivative of `squash`, for the second-derivative estimate."""
    return A * S * (1.0 - T.tanh(S * a) ** 2)


def identity(a):
    return a


ACTIVATIONS = {
    "squash": (squash, squash_slope),
    "tanh": (T.tanh, None),
    "sigmoid": (T.sigmoid, None),
    None: (identity, None),
}


def _truncated_normal(rng, size):
    """Standard normal draws, those beyond two standard deviations drawn again."""
    out = rng.standard_normal(size)
    bad = numpy.abs(out) > 2.0
    while bad.any():
        out[bad] = rng.standard_normal(bad.sum())
        bad = numpy.abs(out) > 2.0
    return out


def init_values(rng, kind, shape, fan_in, fan_out, bias_shape):
    """Initial (weights, biases) of one layer.

    ``fan_in`` may be an array broadcasting against ``shape`` (C3's maps
    have different fan-ins).  The kinds follow each source:
    ``lecun``: uniform in +-2.4 / fan-in, biases too (the paper);
    ``glorot``: Keras's default, Glorot-uniform weights and zero biases;
    ``torch``: PyTorch's default, uniform in +-1/sqrt(fan-in), biases too;
    ``normal``: the TensorFlow article's truncated normal of deviation 1.
    """
    # A per-map fan-in of shape (maps, 1, 1, 1) is (maps,) for the biases.
    bias_fan_in = numpy.reshape(fan_in, (-1,)) if numpy.ndim(fan_in) else fan_in
    if kind == "lecun":
        w = rng.uniform(-1.0, 1.0, size=shape) * (2.4 / fan_in)
        b = rng.uniform(-1.0, 1.0, size=bias_shape) * (2.4 / bias_fan_in)
    elif kind == "glorot":
        bound = numpy.sqrt(6.0 / (fan_in + fan_out))
        w = rng.uniform(-bound, bound, size=shape)
        b = numpy.zeros(bias_shape)
    elif kind == "torch":
        w = rng.uniform(-1.0, 1.0, size=shape) / numpy.sqrt(fan_in)
        b = rng.uniform(-1.0, 1.0, size=bias_shape) / numpy.sqrt(bias_fan_in)
    elif kind == "normal":
        w = _truncated_normal(rng, shape)
        b = _truncated_normal(rng, bias_shape)
    else:
        raise ValueError(f"unknown initialisation {kind!r}")
    dtype = pytensor.config.floatX
    return numpy.asarray(w, dtype=dtype), numpy.asarray(b, dtype=dtype)


def _shared(value, name):
    return pytensor.shared(value, name=name, borrow=True)


# --------------------------------------------------------------------------
# Layers.  Each keeps its input, its trainable parameters, its
# pre-activation ``a`` (an affine function of the input, written as
# ``linear(input, params)``) and its output ``activation(a)``.  Writing the
# affine part as a function lets `LeNet5.hessian_diagonal` call it again
# with squared inputs and squared weights.


class Layer:
    name = "?"
    params = []

    def _finish(self, activation):
        self.f, self.f_slope = ACTIVATIONS[activation]
        self.a = self.linear(self.input, self.params)
        self.output = self.f(self.a)

    def n_params(self):
        return sum(p.get_value(borrow=True).size for p in self.params)


class ConvLayer(Layer):
    """Feature maps computed by 5x5 (or k x k) convolutions plus a bias per map.

    ``mask``, of shape (maps, input maps), says which input maps each map
    sees (all when None): the kernels are multiplied by it, so the
    unconnected ones are zero in the output and in the gradient.
    """

    def __init__(
        self,
        rng,
        input,
        input_shape,
        n_maps,
        k,
        name,
        activation="squash",
        mask=None,
        init="lecun",
        border_mode="valid",
    ):
        in_maps, rows, cols = input_shape
        self.name, self.input, self.border_mode = name, input, border_mode
        self.filter_shape = (n_maps, in_maps, k, k)
        self.mask = numpy.ones((n_maps, in_maps)) if mask is None else numpy.asarray(mask, dtype=float)
        pad = k // 2 if border_mode == "half" else 0
        self.output_shape = (n_maps, rows + 2 * pad - k + 1, cols + 2 * pad - k + 1)

        # Each map's fan-in counts only the input maps it sees.
        fan_in = (self.mask.sum(axis=1) * k * k).reshape(n_maps, 1, 1, 1)
        fan_out = n_maps * k * k
        w, b = init_values(rng, init, self.filter_shape, fan_in, fan_out, (n_maps,))
        self.mask4 = numpy.asarray(self.mask[:, :, None, None] * numpy.ones((1, 1, k, k)), dtype=pytensor.config.floatX)
        self.W = _shared(w * self.mask4, name + ".W")
        self.b = _shared(b, name + ".b")
        self.params = [self.W, self.b]
        self._finish(activation)

    def linear(self, x, params):
        W, b = params
        if self.mask.all():
            kernels = W
        else:
            kernels = W * self.mask4
        out = conv2d(x, kernels, filter_shape=self.filter_shape, border_mode=self.border_mode)
        return out + b.dimshuffle("x", 0, "x", "x")

    def n_params(self):
        # Masked-out kernels are not parameters of the network.
        return int(self.mask.sum()) * numpy.prod(self.filter_shape[2:]) + self.filter_shape[0]

    def n_connections(self):
        # Each output unit: one connection per kernel cell it uses, plus its bias.
        per_unit = self.mask.sum(axis=1) * numpy.prod(self.filter_shape[2:]) + 1
        return int(per_unit.sum()) * self.output_shape[1] * self.output_shape[2]


class SubsamplingLayer(Layer):
    """The paper's subsampling: window sum x trainable coefficient + trainable bias, per map."""

    def __init__(self, rng, input, input_shape, name, activation="squash", init="lecun"):
        maps, rows, cols = input_shape
        self.name, self.input = name, input
        self.output_shape = (maps, rows // 2, cols // 2)
        coeff, bias = init_values(rng, init, (maps,), 4, 1, (maps,))
        self.coeff = _shared(coeff, name + ".coeff")
        self.b = _shared(bias, name + ".b")
        self.params = [self.coeff, self.b]
        self._finish(activation)

    def linear(self, x, params):
        coeff, b = params
        sums = pool_2d(x, ws=(2, 2), ignore_border=True, mode="sum")
        return sums * coeff.dimshuffle("x", 0, "x", "x") + b.dimshuffle("x", 0, "x", "x")

    def n_connections(self):
        maps, rows, cols = self.output_shape
        return (4 + 1) * maps * rows * cols  # four inputs and the bias per unit


class MaxPoolLayer(Layer):
    """2x2 max-pooling, without parameters (the articles' variants)."""

    def __init__(self, input, input_shape, name):
        maps, rows, cols = input_shape
        self.name, self.input, self.params = name, input, []
        self.output_shape = (maps, rows // 2, cols // 2)
        self.a = self.output = pool_2d(input, ws=(2, 2), ignore_border=True)

    def n_connections(self):
        return 4 * int(numpy.prod(self.output_shape))


class FullLayer(Layer):
    """Fully connected units: dot(input, W) + b, then the activation."""

    def __init__(self, rng, input, n_in, n_out, name, activation="squash", init="lecun"):
        self.name, self.input = name, input
        self.output_shape = (n_out,)
        w, b = init_values(rng, init, (n_in, n_out), n_in, n_out, (n_out,))
        self.W = _shared(w, name + ".W")
        self.b = _shared(b, name + ".b")
        self.params = [self.W, self.b]
        self._finish(activation)

    def linear(self, x, params):
        W, b = params
        return T.dot(x, W) + b

    def n_connections(self):
        return self.n_params()


class RBFOutput(Layer):
    """Ten units, each the squared distance from F6's output to a fixed prototype.

    The prototypes are not trained (the paper fixes them by hand), so the
    layer has connections but no trainable parameters.
    """

    def __init__(self, input, name="OUTPUT"):
        self.name, self.input, self.params = name, input, []
        self.prototypes = pytensor.shared(
            numpy.asarray(prototype_bitmaps(), dtype=pytensor.config.floatX), name="prototypes"
        )
        self.output_shape = (10,)
        # |x - w|^2 = |x|^2 - 2 x.w + |w|^2, one matrix product for all units.
        w = self.prototypes
        self.output = self.a = (
            T.sum(input**2, axis=1, keepdims=True) - 2.0 * T.dot(input, w.T) + T.sum(w**2, axis=1).dimshuffle("x", 0)
        )

    def n_connections(self):
        return int(numpy.prod(self.prototypes.get_value(borrow=True).shape))


class SoftmaxOutput(FullLayer):
    """The articles' output: ten softmax units."""

    def __init__(self, rng, input, n_in, init, name="OUTPUT"):
        super().__init__(rng, input, n_in, 10, name, activation=None, init=init)
        self.output = T.special.softmax(self.a, axis=1)


# --------------------------------------------------------------------------
# Networks.


def _input_images(x, pad):
    """Rows of 784 pixels in [0, 1) -> (n, 1, 28 + 2 pad, 28 + 2 pad) images.

    LeNet-5 takes the paper's 32x32 input: the 28x28 digit in the middle,
    pixels scaled to [-0.1, 1.175] and the border filled with background.
    """
    n = x.shape[0]
    images = x.reshape((n, 1, 28, 28))
    if not pad:
        return images
    dtype = pytensor.config.floatX
    scaled = numpy.asarray(BACKGROUND, dtype=dtype) + numpy.asarray(INK - BACKGROUND, dtype=dtype) * images
    frame = T.alloc(numpy.asarray(BACKGROUND, dtype=dtype), n, 1, 28 + 2 * pad, 28 + 2 * pad)
    return T.set_subtensor(frame[:, :, pad : pad + 28, pad : pad + 28], scaled)


class LeNet5:
    """The paper's network on a symbolic batch ``x`` of flattened 28x28 images."""

    def __init__(self, rng, x, j=1.0):
        self.j = j
        images = _input_images(x, pad=2)
        c1 = ConvLayer(rng, images, (1, 32, 32), 6, 5, "C1")
        s2 = SubsamplingLayer(rng, c1.output, c1.output_shape, "S2")
        c3 = ConvLayer(rng, s2.output, s2.output_shape, 16, 5, "C3", mask=c3_connections().T)
        s4 = SubsamplingLayer(rng, c3.output, c3.output_shape, "S4")
        c5 = ConvLayer(rng, s4.output, s4.output_shape, 120, 5, "C5")
        f6 = FullLayer(rng, c5.output.flatten(2), 120, 84, "F6")
        out = RBFOutput(f6.output)
        self.layers = [c1, s2, c3, s4, c5, f6, out]
        self.hidden = self.layers[:-1]
        self.params = [p for layer in self.layers for p in layer.params]
        self.penalties = out.output
        self.y_pred = T.argmin(self.penalties, axis=1)

    def losses(self, y):
        """The paper's loss per example: y_D + log(exp(-j) + sum_i exp(-y_i))."""
        yd = self.penalties[T.arange(y.shape[0]), y]
        # log-sum-exp over (-j, -y_0 ... -y_9), shifted by its maximum so
        # that large penalties underflow harmlessly.
        neg = -self.penalties
        m = T.maximum(T.max(neg, axis=1), -self.j)
        competitive = m + T.log(T.exp(-self.j - m) + T.sum(T.exp(neg - m.dimshuffle(0, "x")), axis=1))
        return yd + competitive

    def cost(self, y):
        return T.mean(self.losses(y))

    def errors(self, y):
        return T.mean(T.neq(self.y_pred, y))

    def hessian_diagonal(self, n_examples):
        """Symbolic estimate of d2E/dw2 for every parameter, averaged over the batch.

        The paper's Gauss-Newton approximation: second derivatives are
        propagated backwards like gradients, but through squared weights,
        squared inputs and squared slopes of the squashing function, and
        the loss's own second derivative is that of its first term, 2 per
        F6 output.  Each layer's affine part is linear in its inputs and in
        its weights, so calling it with squared inputs and squared weights
        and asking PyTensor for the gradient with respect to those (given
        the second derivatives of its outputs) is exactly that backward
        step, convolutions and masks included.
        """
        f6 = self.hidden[-1]
        h2_out = T.ones_like(f6.output) * (2.0 / n_examples)
        result = {}
        for i in range(len(self.hidden) - 1, -1, -1):
            layer = self.hidden[i]
            h2_a = layer.f_slope(layer.a) ** 2 * h2_out
            squares = [p**2 for p in layer.params]
            x_sq = layer.input**2
            a_sq = layer.linear(x_sq, squares)
            wrt = squares + ([x_sq] if i > 0 else [])
            grads = pytensor.grad(None, wrt=wrt, known_grads={a_sq: h2_a})
            for p, g in zip(layer.params, grads):
                result[p] = g
            if i > 0:
                h2_out = grads[-1].reshape(self.hidden[i - 1].output.shape)
        return [result[p] for p in self.params]


class ArticleNet:
    """The small LeNets of the seed articles, with a softmax output."""

    VARIANTS = ("keras", "pytorch", "tensorflow")

    def __init__(self, rng, x, variant):
        images = _input_images(x, pad=0)
        if variant == "keras":
            act, init, border, c3_maps, fc = "tanh", "glorot", "valid", 16, (120, 84)
        elif variant == "pytorch":
            act, init, border, c3_maps, fc = "sigmoid", "torch", "valid", 16, (120, 84)
        elif variant == "tensorflow":
            act, init, border, c3_maps, fc = "sigmoid", "normal", "half", 16, (80,)
        else:
            raise ValueError(f"unknown variant {variant!r}; choose one of {', '.join(self.VARIANTS)}")
        layers = []
        c1 = ConvLayer(rng, images, (1, 28, 28), 6, 5, "C1", activation=act, init=init, border_mode=border)
        s2 = MaxPoolLayer(c1.output, c1.output_shape, "S2")
        c3 = ConvLayer(rng, s2.output, s2.output_shape, c3_maps, 5, "C3", activation=act, init=init, border_mode=border)
        s4 = MaxPoolLayer(c3.output, c3.output_shape, "S4")
        layers = [c1, s2, c3, s4]
        if variant == "tensorflow":
            # A third 5x5 convolution, 'SAME'-padded, on the 7x7 maps.
            c5 = ConvLayer(rng, s4.output, s4.output_shape, 120, 5, "C5", activation=act, init=init, border_mode=border)
            layers.append(c5)
        last = layers[-1]
        h = last.output.flatten(2)
        n_in = int(numpy.prod(last.output_shape))
        for k, n_out in enumerate(fc):
            layer = FullLayer(rng, h, n_in, n_out, f"F{5 + k + (variant == 'tensorflow')}", activation=act, init=init)
            layers.append(layer)
            h, n_in = layer.output, n_out
        out = SoftmaxOutput(rng, h, n_in, init)
        layers.append(out)
        self.layers = layers
        self.params = [p for layer in layers for p in layer.params]
        self.p_y_given_x = out.output
        self.y_pred = T.argmax(out.output, axis=1)
        # Keras and PyTorch average the cross-entropy over the batch; the
        # TensorFlow article sums it.
        self.reduce = T.sum if variant == "tensorflow" else T.mean

    def cost(self, y):
        return self.reduce(-T.log(self.p_y_given_x[T.arange(y.shape[0]), y]))

    def errors(self, y):
        return T.mean(T.neq(self.y_pred, y))


# The articles' training settings: optimiser, learning rate, batch size,
# passes.  The PyTorch article shows no training code; its network is the
# one of "Dive into Deep Learning", trained there with Adam at 0.001, in
# batches of 256, for 5 passes.  The TensorFlow article's loop asks for
# 20 000 passes; we stop at 5.
VARIANT_SETTINGS = {
    "keras": dict(optimizer="sgd", learning_rate="0.01", batch_size=128, n_epochs=30),
    "pytorch": dict(optimizer="adam", learning_rate="0.001", batch_size=256, n_epochs=5),
    "tensorflow": dict(optimizer="sgd", learning_rate="0.001", batch_size=200, n_epochs=5),
}


def summary_rows(model):
    """(name, output shape, trainable parameters, connections) per layer, then the total."""
    rows = []
    for layer in model.layers:
        rows.append((layer.name, layer.output_shape, int(layer.n_params()), int(layer.n_connections())))
    rows.append(("total", None, sum(r[2] for r in rows), sum(r[3] for r in rows)))
    return rows


def _thousands(n):
    return f"{n:,}".replace(",", " ")


def format_summary(rows):
    lines = [f"{'layer':<8}{'output':>14}{'parameters':>14}{'connections':>14}"]
    for name, shape, params, conns in rows:
        shape_text = "" if shape is None else "x".join(str(s) for s in shape)
        lines.append(f"{name:<8}{shape_text:>14}{_thousands(params):>14}{_thousands(conns):>14}")
    return "\n".join(lines)


# --------------------------------------------------------------------------
# The learning-rate schedule.


def parse_schedule(text):
    """``"0.0005:2,0.0002:3,0.00001"`` -> [(0.0005, 2), (0.0002, 3), (0.00001, None)].

    Each item is a rate and the number of passes it lasts; the last one has
    no count and lasts for the remaining passes.  A single number is a
    constant rate.
    """
    items = [item.strip() for item in str(text).split(",")]
    schedule = []
    for pos, item in enumerate(items):
        rate_text, sep, count_text = item.partition(":")
        last = pos == len(items) - 1
        try:
            rate = float(rate_text)
            count = int(count_text) if sep else None
        except ValueError:
            raise ValueError(
                f"cannot read learning-rate schedule {text!r}: write RATE:PASSES,...,RATE, e.g. {PAPER_SCHEDULE!r}"
            ) from None
        if not numpy.isfinite(rate) or rate <= 0:
            raise ValueError(f"learning rates must be positive numbers, got {rate_text!r} in {text!r}")
        if (count is None) != last or (count is not None and count < 1):
            raise ValueError(
                f"cannot read learning-rate schedule {text!r}: every rate but the last needs ':PASSES' "
                f"(a positive count), e.g. {PAPER_SCHEDULE!r}"
            )
        schedule.append((rate, count))
    return schedule


def rate_for_epoch(schedule, epoch):
    """The learning rate of pass ``epoch`` (counted from 1)."""
    done = 0
    for rate, count in schedule:
        if count is None or epoch <= done + count:
            return rate
        done += count
    raise AssertionError("unreachable: the last item has no count")


# --------------------------------------------------------------------------
# Training.


def _updates(optimizer, params, grads, rate, hessians=None, mu=0.02):
    """Update pairs for one minibatch step; ``rate`` is a shared scalar."""
    if optimizer == "sgd":
        return [(p, p - rate * g) for p, g in zip(params, grads)]
    if optimizer == "sdlm":
        # Each parameter's own step size: large where the loss is flat,
        # small where it curves; mu keeps it bounded where h is tiny.
        return [(p, p - (rate / (mu + h)) * g) for p, g, h in zip(params, grads, hessians)]
    if optimizer == "adam":
        b1, b2, tiny = 0.9, 0.999, 1e-8
        dtype = pytensor.config.floatX
        t = pytensor.shared(numpy.asarray(0.0, dtype=dtype), name="adam.t")
        t_new = t + 1
        updates = [(t, t_new)]
        for p, g in zip(params, grads):
            zeros = numpy.zeros_like(p.get_value(borrow=True))
            m = pytensor.shared(zeros.copy(), name=f"{p.name}.m")
            v = pytensor.shared(zeros.copy(), name=f"{p.name}.v")
            m_new = b1 * m + (1 - b1) * g
            v_new = b2 * v + (1 - b2) * g**2
            step = rate * T.sqrt(1 - b2**t_new) / (1 - b1**t_new)
            updates += [(m, m_new), (v, v_new), (p, p - step * m_new / (T.sqrt(v_new) + tiny))]
        return updates
    raise ValueError(f"unknown optimizer {optimizer!r}; choose sdlm, sgd or adam")


def _join(a, b):
    """One shared split from two (train + validation, for --train-on-all)."""
    (ax, ay), (bx, by) = a, b
    x = numpy.concatenate([ax.get_value(borrow=True), bx.get_value(borrow=True)])
    # The labels are int32 casts of shared float vectors (see load_data);
    # join the stored values, so that a minibatch does not join them again.
    y = numpy.concatenate([ay.owner.inputs[0].get_value(borrow=True), by.owner.inputs[0].get_value(borrow=True)])
    return pytensor.shared(x, borrow=True), T.cast(pytensor.shared(y, borrow=True), "int32")


def check_images(datasets):
    """Raise ValueError unless every split holds flattened 28x28 images."""
    for split, (x, _) in zip(("training", "validation", "test"), datasets):
        shape = x.get_value(borrow=True).shape
        if len(shape) != 2 or shape[1] != 28 * 28:
            raise ValueError(
                f"the {split} set holds rows of {shape[1:] if len(shape) != 2 else shape[1]} values, "
                "not 28x28 = 784 pixel images; give an MNIST-format dataset"
            )


# Plain SGD on LeNet-5's mean loss: 0.01 is the step SDLM's first rate
# gives (1e-5 / mu, times 20 summed gradients) to the many parameters
# whose second derivative is far below mu.
DEFAULT_RATES = {"sdlm": DEFAULT_SCHEDULE, "sgd": "0.01", "adam": "0.001"}


def train_lenet5(
    learning_rate=None,
    n_epochs=20,
    dataset="mnist.pkl.gz",
    batch_size=5,
    seed=23455,
    optimizer="sdlm",
    variant=None,
    train_on_all=False,
    mu=0.02,
    hessian_examples=500,
    j=1.0,
    max_minibatches=None,
    plots=None,
):
    """Train LeNet-5 (or an article's variant) on MNIST and print the tutorial's log.

    :param learning_rate: a rate, or a schedule ``"RATE:PASSES,...,RATE"``;
        None for the optimizer's default (`DEFAULT_RATES`)
    :param n_epochs: number of passes over the training set
    :param batch_size: examples per minibatch.  The paper updates after
        every example; we update after a few, with the *sum* of their
        gradients under SDLM, which is the first-order equivalent of the
        paper's updates at a fraction of the calls
    :param optimizer: ``sdlm`` (the paper's), ``sgd`` or ``adam``
    :param variant: None for LeNet-5, or ``keras``, ``pytorch``, ``tensorflow``
    :param train_on_all: train on training + validation images (60 000), as
        the paper did, and report the test error after every pass instead
        of early stopping on the validation set
    :param mu: SDLM's safety term added to each second derivative
    :param hessian_examples: images for each second-derivative estimate
    :param j: the constant of the loss's competitive term
    :param max_minibatches: stop after this many minibatches (for quick checks)
    :param plots: folder for PNG plots (needs matplotlib), or None
    :returns: dict with the best validation error, test error, the training
        costs of each minibatch, the per-epoch errors and the seconds taken
    """
    checks.positive_int("n_epochs", n_epochs)
    checks.positive_int("batch_size", batch_size)
    if optimizer not in DEFAULT_RATES:
        raise ValueError(f"unknown optimizer {optimizer!r}; choose one of {', '.join(DEFAULT_RATES)}")
    schedule = parse_schedule(DEFAULT_RATES[optimizer] if learning_rate is None else learning_rate)
    if variant is not None and variant not in ArticleNet.VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; choose one of {', '.join(ArticleNet.VARIANTS)}")
    if optimizer == "sdlm" and variant is not None:
        raise ValueError("SDLM needs LeNet-5's second-derivative estimate; the variants train with sgd or adam")
    if plots is not None:
        _pyplot()  # fail now, not after training, when matplotlib is missing

    rng = numpy.random.RandomState(seed)

    datasets = load_data(dataset)
    check_images(datasets)
    if train_on_all:
        datasets = [_join(datasets[0], datasets[1]), datasets[1], datasets[2]]
    checks.batch_fits(batch_size, datasets)

    train_set_x, train_set_y = datasets[0]
    valid_set_x, valid_set_y = datasets[1]
    test_set_x, test_set_y = datasets[2]

    n_train = train_set_x.get_value(borrow=True).shape[0]
    n_train_batches = n_train // batch_size
    # Evaluation has no updates, so it can take larger batches.
    eval_size = 1000
    n_valid_batches = -(-valid_set_x.get_value(borrow=True).shape[0] // eval_size)
    n_test_batches = -(-test_set_x.get_value(borrow=True).shape[0] // eval_size)

    index = T.lscalar()
    x = T.matrix("x")
    y = T.ivector("y")

    print("... building the model")
    model = LeNet5(rng, x, j=j) if variant is None else ArticleNet(rng, x, variant)
    print(format_summary(summary_rows(model)))

    dtype = pytensor.config.floatX
    rate = pytensor.shared(numpy.asarray(schedule[0][0], dtype=dtype), name="learning_rate")
    cost = model.cost(y)
    hessians = None
    if optimizer == "sdlm":
        # The paper's step for one example, summed over the minibatch.
        grads = pytensor.grad(T.sum(model.losses(y)), model.params)
        hessians = [_shared(numpy.zeros_like(p.get_value(borrow=True)), p.name + ".h") for p in model.params]
    else:
        grads = pytensor.grad(cost, model.params)
    updates = _updates(optimizer, model.params, grads, rate, hessians, mu)

    def split_model(set_x, set_y):
        return pytensor.function(
            [index],
            model.errors(y),
            givens={
                x: set_x[index * eval_size : (index + 1) * eval_size],
                y: set_y[index * eval_size : (index + 1) * eval_size],
            },
            mode=compile_mode(),
        )

    test_model = split_model(test_set_x, test_set_y)
    validate_model = split_model(valid_set_x, valid_set_y)

    def mean_error(fn, n_batches, set_x):
        # Weighted by batch length: the last batch may be short.
        n = set_x.get_value(borrow=True).shape[0]
        return sum(fn(i) * min(eval_size, n - i * eval_size) for i in range(n_batches)) / n

    train_model = pytensor.function(
        [index],
        cost,
        updates=updates,
        givens={
            x: train_set_x[index * batch_size : (index + 1) * batch_size],
            y: train_set_y[index * batch_size : (index + 1) * batch_size],
        },
        mode=compile_mode(),
    )

    if optimizer == "sdlm":
        start = T.lscalar()
        estimate = model.hessian_diagonal(hessian_examples)
        estimate_hessian = pytensor.function(
            [start],
            [],
            # (C1's estimate knows that its kernels have one input map, the
            # shared variable does not: reshaping forgets the static size.)
            updates=[(h, e.reshape(h.shape)) for h, e in zip(hessians, estimate)],
            givens={x: train_set_x[start : start + hessian_examples]},
            mode=compile_mode(),
        )
        h_rng = numpy.random.RandomState(seed + 1)

    print("... training")
    # Early stopping, as in the other tutorials; with --train-on-all there
    # is no validation set, so every pass runs and is tested.
    patience = 10000
    patience_increase = 2
    improvement_threshold = 0.995
    validation_frequency = min(n_train_batches, patience // 2)

    best_validation_loss = numpy.inf
    best_iter = 0
    test_score = 0.0
    costs, history = [], []
    start_time = timeit.default_timer()

    epoch = 0
    done_looping = False

    while (epoch < n_epochs) and (not done_looping):
        epoch = epoch + 1
        rate.set_value(numpy.asarray(rate_for_epoch(schedule, epoch), dtype=dtype))
        if optimizer == "sdlm":
            # Fresh second derivatives from a random window of examples.
            estimate_hessian(h_rng.randint(0, n_train - hessian_examples + 1))
        for minibatch_index in range(n_train_batches):
            iter = (epoch - 1) * n_train_batches + minibatch_index

            cost_ij = train_model(minibatch_index)
            if iter % 1000 == 0:
                # The tutorial's progress line, with the minibatch's mean loss.
                print("training @ iter = ", iter, ", cost %f" % cost_ij)
            costs.append(float(cost_ij))
            if not numpy.isfinite(cost_ij):
                raise FloatingPointError(
                    f"the training cost became {cost_ij} at iteration {iter}; lower the learning rate"
                )

            if max_minibatches is not None and iter + 1 >= max_minibatches:
                done_looping = True
                break

            if train_on_all:
                continue
            if (iter + 1) % validation_frequency == 0:
                this_validation_loss = mean_error(validate_model, n_valid_batches, valid_set_x)
                print(
                    "epoch %i, minibatch %i/%i, validation error %f %%"
                    % (epoch, minibatch_index + 1, n_train_batches, this_validation_loss * 100.0)
                )
                history.append((epoch, this_validation_loss, None))

                if this_validation_loss < best_validation_loss:
                    if this_validation_loss < best_validation_loss * improvement_threshold:
                        patience = max(patience, iter * patience_increase)
                    best_validation_loss = this_validation_loss
                    best_iter = iter

                    test_score = mean_error(test_model, n_test_batches, test_set_x)
                    history[-1] = (epoch, this_validation_loss, test_score)
                    print(
                        "     epoch %i, minibatch %i/%i, test error of best model %f %%"
                        % (epoch, minibatch_index + 1, n_train_batches, test_score * 100.0)
                    )

            if patience <= iter:
                done_looping = True
                break

        if train_on_all:
            test_score = mean_error(test_model, n_test_batches, test_set_x)
            history.append((epoch, None, test_score))
            print("epoch %i, learning rate %g, test error %f %%" % (epoch, rate.get_value(), test_score * 100.0))

    end_time = timeit.default_timer()
    print("Optimization complete.")
    if train_on_all:
        print("Test error after %i passes over %i examples: %f %%" % (epoch, n_train, test_score * 100.0))
    else:
        print(
            "Best validation score of %f %% obtained at iteration %i, with test performance %f %%"
            % (best_validation_loss * 100.0, best_iter + 1, test_score * 100.0)
        )
    seconds = end_time - start_time
    print(
        "The code for file " + os.path.split(__file__)[1] + " ran for %.2fm" % (seconds / 60.0),
        file=sys.stderr,
    )
    result = dict(
        best_validation_loss=best_validation_loss,
        test_score=test_score,
        costs=costs,
        history=history,
        seconds=seconds,
        epochs=epoch,
        model=model,
    )
    if plots is not None:
        write_plots(plots, result, variant)
    return result


# --------------------------------------------------------------------------
# Plots.


def _pyplot():
    """matplotlib's pyplot with a file-only backend, or a clear error."""
    try:
        import matplotlib
    except ImportError:
        raise ValueError(
            "--plots needs matplotlib, which is not installed: pip install 'deeplearning-tutorial[plots]'"
        ) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _integer_locator():
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator


def _save(fig, path):
    with atomic_write(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100, bbox_inches="tight")


def write_plots(folder, result, variant):
    """Error curves, C1's kernels and (LeNet-5) the RBF prototypes, as PNG files."""
    plt = _pyplot()
    MaxNLocator = _integer_locator()
    os.makedirs(folder, exist_ok=True)
    written = []

    fig, ax = plt.subplots(figsize=(6, 4))
    hist = result["history"]
    for col, label in ((1, "validation"), (2, "test")):
        pts = [(h[0], h[col] * 100) for h in hist if h[col] is not None]
        if pts:
            ax.plot(*zip(*pts), marker="o", label=label)
    ax.set_xlabel("pass over the training set")
    ax.set_ylabel("error (%)")
    ax.set_title("LeNet-5 as published" if variant is None else f"LeNet of the {variant} article")
    # Passes are whole numbers: tick each of a few, or whole numbers only.
    n_passes = max([h[0] for h in hist], default=1)
    if n_passes <= 15:
        ax.set_xticks(range(1, n_passes + 1))
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend()
    ax.grid(alpha=0.3)
    path = os.path.join(folder, "errors.png")
    _save(fig, path)
    written.append(path)
    plt.close(fig)

    c1 = result["model"].layers[0]
    kernels = c1.W.get_value()[:, 0]
    fig, axes = plt.subplots(1, len(kernels), figsize=(1.5 * len(kernels), 1.8))
    for k, ax in enumerate(axes):
        ax.imshow(kernels[k], cmap="gray")
        ax.set_title(f"C1 map {k}", fontsize=8)
        ax.axis("off")
    path = os.path.join(folder, "c1_kernels.png")
    _save(fig, path)
    written.append(path)
    plt.close(fig)

    if variant is None:
        path = os.path.join(folder, "prototypes.png")
        write_prototypes(path)
        written.append(path)
    for p in written:
        print("wrote", p)
    return written


def write_prototypes(path):
    """The ten RBF prototypes as black-on-white 7x12 bitmaps."""
    plt = _pyplot()
    bitmaps = prototype_bitmaps().reshape(10, 12, 7)
    fig, axes = plt.subplots(1, 10, figsize=(10, 2))
    for digit, ax in enumerate(axes):
        ax.imshow(-bitmaps[digit], cmap="gray", vmin=-1, vmax=1)
        ax.set_title(str(digit))
        ax.set_xticks([])
        ax.set_yticks([])
    _save(fig, path)
    plt.close(fig)


# --------------------------------------------------------------------------
# Command line.


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line and exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _schedule_arg(text):
    try:
        parse_schedule(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


def main(argv=None):
    parser = _Parser(prog="python -m deeplearning_tutorial.lenet5", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--n-epochs", type=int, default=None, help="passes over the training set (default 20; a variant's own)"
    )
    parser.add_argument(
        "--learning-rate",
        type=_schedule_arg,
        default=None,
        help=f"a rate or a schedule RATE:PASSES,...,RATE (default: SDLM {DEFAULT_SCHEDULE}; "
        f"the paper's is {PAPER_SCHEDULE}; SGD 0.01; Adam 0.001)",
    )
    parser.add_argument(
        "--optimizer", choices=["sdlm", "sgd", "adam"], default=None, help="default sdlm (variants: their own)"
    )
    parser.add_argument("--batch-size", type=int, default=None, help="examples per minibatch (default 5)")
    parser.add_argument("--seed", type=int, default=23455, help="seed of the initial weights (default 23455)")
    parser.add_argument("--summary", action="store_true", help="print the layer table and exit")
    parser.add_argument("--variant", choices=ArticleNet.VARIANTS, help="train an article's LeNet instead")
    parser.add_argument("--train-on-all", action="store_true", help="train on the 60 000 training + validation images")
    parser.add_argument("--dataset", default="mnist.pkl.gz", help="MNIST pickle (default: data/mnist.pkl.gz)")
    parser.add_argument("--plots", metavar="DIR", help="write PNG plots into DIR (needs matplotlib)")
    parser.add_argument(
        "--mode",
        type=str.upper,
        choices=sorted(predefined_modes) + ["FAST_RUN"],
        help="PyTensor compilation mode (default: NUMPY, or PYTENSOR_FLAGS=mode=...)",
    )
    args = parser.parse_args(argv)
    if args.mode is not None:
        pytensor.config.mode = get_mode(args.mode)

    if args.summary:
        x = T.matrix("x")
        rng = numpy.random.RandomState(args.seed)
        model = LeNet5(rng, x) if args.variant is None else ArticleNet(rng, x, args.variant)
        print(format_summary(summary_rows(model)))
        return 0

    settings = dict(VARIANT_SETTINGS.get(args.variant, {}))
    for key in ("n_epochs", "learning_rate", "optimizer", "batch_size"):
        if getattr(args, key) is not None:
            settings[key] = getattr(args, key)
    try:
        train_lenet5(
            dataset=args.dataset,
            seed=args.seed,
            variant=args.variant,
            train_on_all=args.train_on_all,
            plots=args.plots,
            **settings,
        )
    except (ValueError, DataError, OSError, FloatingPointError) as e:
        print(f"{parser.prog}: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
