"""The networks: LeNet-5 as published, the articles' small LeNets, and their layer table."""

import numpy
import pytensor
import pytensor.tensor as T

from deeplearning_tutorial.lenet5.layers import (
    ConvLayer,
    FullLayer,
    MaxPoolLayer,
    RBFOutput,
    SoftmaxOutput,
    SubsamplingLayer,
)
from deeplearning_tutorial.lenet5.prototypes import c3_connections

# Pixel values of the paper's input: white background -0.1, black ink
# 1.175, which gives the inputs a mean near 0 and a variance near 1.
BACKGROUND = -0.1
INK = 1.175


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
