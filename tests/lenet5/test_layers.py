"""LeNet-5's layers: initial weights in the paper's range, and the gradients of the new pieces."""

import numpy
import pytensor
import pytensor.tensor as T
from pytensor.gradient import verify_grad

from deeplearning_tutorial.lenet5 import LeNet5, compile_mode
from deeplearning_tutorial.lenet5.layers import SubsamplingLayer, squash
from deeplearning_tutorial.lenet5.prototypes import c3_connections
from deeplearning_tutorial.ops import conv2d, pool_2d

# Compile as the training does (PyTensor's default, Numba, takes a minute a graph).
MODE = compile_mode()


def test_init_in_paper_range():
    model = LeNet5(numpy.random.RandomState(23455), T.matrix("x"))
    c1, s2, c3 = model.layers[:3]
    assert numpy.abs(c1.W.get_value()).max() <= 2.4 / 25
    assert numpy.abs(s2.coeff.get_value()).max() <= 2.4 / 4
    w = c3.W.get_value()
    fan_in = c3.mask.sum(axis=1) * 25
    assert (numpy.abs(w).max(axis=(1, 2, 3)) <= 2.4 / fan_in).all()
    # Unconnected kernels start (and, see below, stay) at zero.
    assert (w[c3.mask == 0] == 0).all()


def test_masked_convolution_gradient():
    rng = numpy.random.RandomState(0)
    mask = c3_connections().T[:4, :3].astype(float)  # 4 maps of 3 inputs
    mask4 = mask[:, :, None, None] * numpy.ones((1, 1, 3, 3))

    def masked(x, W):
        return conv2d(x, W * mask4)

    x = rng.uniform(-1, 1, (2, 3, 6, 6))
    W = rng.uniform(-1, 1, (4, 3, 3, 3))
    verify_grad(masked, [x, W], rng=rng, mode=MODE)

    xv, Wv = T.tensor4(), T.tensor4()
    g = pytensor.function([xv, Wv], pytensor.grad(masked(xv, Wv).sum(), Wv), mode=MODE)(x, W)
    assert (g[mask == 0] == 0).all() and (g[mask == 1] != 0).all()


def test_trainable_subsampling_gradient():
    rng = numpy.random.RandomState(1)

    def subsample(x, coeff, b):
        sums = pool_2d(x, ws=(2, 2), ignore_border=True, mode="sum")
        return squash(sums * coeff.dimshuffle("x", 0, "x", "x") + b.dimshuffle("x", 0, "x", "x"))

    verify_grad(
        subsample, [rng.uniform(-1, 1, (2, 3, 4, 4)), rng.uniform(-1, 1, 3), rng.uniform(-1, 1, 3)], rng=rng, mode=MODE
    )


def test_subsampling_layer_computes_the_paper_formula():
    rng = numpy.random.RandomState(2)
    x = T.tensor4()
    layer = SubsamplingLayer(rng, x, (3, 4, 4), "S")
    xv = rng.uniform(-1, 1, (2, 3, 4, 4))
    got = pytensor.function([x], layer.output, mode=MODE)(xv)
    c, b = layer.coeff.get_value(), layer.b.get_value()
    sums = xv.reshape(2, 3, 2, 2, 2, 2).sum(axis=(3, 5))
    want = 1.7159 * numpy.tanh(2.0 / 3.0 * (sums * c[None, :, None, None] + b[None, :, None, None]))
    numpy.testing.assert_allclose(got, want, rtol=1e-12)
