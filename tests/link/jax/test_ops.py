"""The ops under the tutorials' JAX mode, against the tutorials' own mode (NUMPY).

Random cases of every argument (padding, strides, flipped or not, partial
pooling windows...), each checked for its output and both gradients in one
compiled graph.
"""

import numpy
import pytensor
import pytensor.tensor as pt
import pytest

pytest.importorskip("jax")

from deeplearning_tutorial.link import load_backend  # noqa: E402
from deeplearning_tutorial.ops import POOL_MODES, conv2d, pool_2d  # noqa: E402
from tests.helpers import assert_same_as_reference_mode  # noqa: E402

JAX = load_backend(pytensor.compile.mode.get_mode("JAX"))
BORDER_MODES = ["valid", "full", "half", "pad"]


def random_conv_case(seed):
    rng = numpy.random.RandomState(seed)
    batch, channels, filters = rng.randint(1, 4, size=3)
    kernel = tuple(rng.randint(1, 5, size=2))
    border_mode = BORDER_MODES[rng.randint(len(BORDER_MODES))]
    if border_mode == "pad":
        border_mode = tuple(int(rng.randint(0, k + 1)) for k in kernel)
    image = tuple(k + int(rng.randint(0, 6)) for k in kernel)
    args = dict(border_mode=border_mode, subsample=tuple(rng.randint(1, 4, size=2)), filter_flip=bool(rng.randint(2)))
    return rng, (batch, channels, *image), (filters, channels, *kernel), args


@pytest.mark.parametrize("seed", range(12))
def test_conv2d_and_its_gradients(seed):
    rng, x_shape, w_shape, args = random_conv_case(seed)
    X, W = pt.tensor4(), pt.tensor4()
    out = conv2d(X, W, **args)
    outputs = [out, *pytensor.grad((out**2).sum(), [X, W])]
    assert_same_as_reference_mode([X, W], outputs, [rng.randn(*x_shape), rng.randn(*w_shape)], JAX)


def test_conv2d_with_static_shapes_in_float32():
    """LeNet's first layer as the tutorial builds it: shapes given, float32."""
    rng = numpy.random.RandomState(0)
    X, W = pt.tensor4(dtype="float32"), pt.tensor4(dtype="float32")
    out = pt.tanh(pool_2d(conv2d(X, W, input_shape=(4, 1, 28, 28), filter_shape=(5, 1, 5, 5)), (2, 2)))
    outputs = [out, *pytensor.grad(out.sum(), [X, W])]
    values = [rng.rand(4, 1, 28, 28).astype("float32"), rng.uniform(-0.2, 0.2, (5, 1, 5, 5)).astype("float32")]
    assert_same_as_reference_mode([X, W], outputs, values, JAX)


def random_pool_case(seed):
    rng = numpy.random.RandomState(100 + seed)
    ws = tuple(int(n) for n in rng.randint(1, 5, size=2))
    stride = None if rng.randint(3) == 0 else tuple(int(n) for n in rng.randint(1, 5, size=2))
    ignore_border = bool(rng.randint(2))
    pad = tuple(int(rng.randint(0, w)) for w in ws) if ignore_border else (0, 0)
    size = tuple(w + int(rng.randint(0, 7)) for w in ws)
    lead = tuple(rng.randint(1, 4, size=rng.randint(0, 3)))
    args = dict(ignore_border=ignore_border, stride=stride, pad=pad, mode=POOL_MODES[seed % len(POOL_MODES)])
    return rng, (*lead, *size), ws, args


@pytest.mark.parametrize("seed", range(16))
def test_pool_2d_and_its_gradient(seed):
    rng, shape, ws, args = random_pool_case(seed)
    X = pt.tensor(shape=(None,) * len(shape))
    out = pool_2d(X, ws, **args)
    assert_same_as_reference_mode([X], [out, pytensor.grad((out**2).sum(), X)], [rng.randn(*shape)], JAX)


@pytest.mark.parametrize("stride", [None, (1, 1)])
def test_max_pool_gradient_goes_to_every_tied_maximum(stride):
    x = numpy.random.RandomState(7).randint(0, 3, size=(2, 3, 6, 7)).astype("float64")
    X = pt.tensor4()
    out = pool_2d(X, (2, 3), ignore_border=False, stride=stride)
    gradient = pytensor.grad((out**3).sum(), X)
    assert_same_as_reference_mode([X], [out, gradient], [x], JAX)
    # (A static shape: JAX cannot allocate the gradient of a sum from a shape it computes at run time.)
    Y = pt.tensor4(shape=(1, 1, 2, 2))
    tied = pytensor.function([Y], pytensor.grad(pool_2d(Y, (2, 2)).sum(), Y), mode=JAX)(numpy.ones((1, 1, 2, 2)))
    numpy.testing.assert_array_equal(tied, numpy.ones((1, 1, 2, 2)))
