"""The ops under PyTensor's Numba backend, against the tutorials' own mode.

Our ops run their NumPy code in object mode, deliberately and without
PyTensor's fallback warning; any other op falling back to object mode is a
missing implementation, so that warning is an error here.
"""

import numpy
import pytensor
import pytensor.tensor as pt
import pytest

from deeplearning_tutorial.link import load_backend
from deeplearning_tutorial.ops import conv2d, pool_2d
from tests.helpers import assert_same_as_reference_mode
from tests.ops.references import reference_conv2d, reference_pool

pytestmark = pytest.mark.filterwarnings("error:Numba will use object mode")

NUMBA = pytensor.compile.mode.get_mode("NUMBA")
load_backend(NUMBA)


def test_lenet_layer_and_its_gradients():
    """A LeNet layer (conv, max-pool, tanh) and both gradients, in one compiled graph."""
    rng = numpy.random.RandomState(4)
    x, w = rng.randn(2, 1, 8, 8), rng.randn(3, 1, 3, 3)
    X, W = pt.tensor4(), pt.tensor4()
    layer = pt.tanh(pool_2d(conv2d(X, W), (2, 2)))
    outputs = [layer, *pytensor.grad(layer.sum(), [X, W])]
    assert_same_as_reference_mode([X, W], outputs, [x, w], NUMBA)
    layer_value = pytensor.function([X, W], layer, mode=NUMBA)(x, w)
    numpy.testing.assert_allclose(layer_value, numpy.tanh(reference_pool(reference_conv2d(x, w), (2, 2))), rtol=1e-12)


def test_strided_padded_convolution_and_average_pooling_gradients():
    rng = numpy.random.RandomState(9)
    x, w = rng.randn(2, 2, 7, 6), rng.randn(3, 2, 3, 2)
    X, W = pt.tensor4(), pt.tensor4()
    conv = conv2d(X, W, border_mode=(1, 2), subsample=(2, 1), filter_flip=False)
    pooled = pool_2d(conv, (2, 3), ignore_border=False, stride=(1, 2), mode="average_exc_pad")
    outputs = [pooled, *pytensor.grad((pooled**2).sum(), [X, W])]
    assert_same_as_reference_mode([X, W], outputs, [x, w], NUMBA)
