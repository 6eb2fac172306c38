"""LeNet-5's layers and their initial weights.

Each layer keeps its symbolic input, its trainable parameters, its
pre-activation ``a`` and its output ``f(a)``.  The pre-activation is an
affine function of the input, written as ``linear(input, params)`` so that
`model.LeNet5.hessian_diagonal` can call it again with squared inputs and
squared weights.  Besides the paper's layers (a convolution with an optional
connection mask, trainable subsampling, full connections, the RBF output),
the articles' variants use max-pooling and a softmax output.
"""

import numpy
import pytensor
import pytensor.tensor as T

from deeplearning_tutorial.lenet5.prototypes import prototype_bitmaps
from deeplearning_tutorial.ops import conv2d, pool_2d

# The squashing function's constants (paper, appendix A).
A = 1.7159
S = 2.0 / 3.0


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


def shared(value, name):
    """A shared variable holding ``value`` itself (no copy)."""
    return pytensor.shared(value, name=name, borrow=True)


class Layer:
    """What every layer has: a name, its trainable parameters and their count."""

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
        self.W = shared(w * self.mask4, name + ".W")
        self.b = shared(b, name + ".b")
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
        self.coeff = shared(coeff, name + ".coeff")
        self.b = shared(bias, name + ".b")
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
        self.W = shared(w, name + ".W")
        self.b = shared(b, name + ".b")
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
