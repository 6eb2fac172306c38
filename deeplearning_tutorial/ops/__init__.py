"""Theano's ``conv2d`` and ``pool_2d`` for PyTensor.

The LeNet tutorial is built from ``theano.tensor.nnet.conv2d`` and
``theano.tensor.signal.pool.pool_2d``.  PyTensor 3, Theano's successor, has
neither: its remaining convolutions take single N-d signals, not a batch of
multi-channel images against a bank of filters, and it has no pooling.  This
package supplies both, with the semantics of Theano 1.0:

`conv`
    `conv2d` and its gradient ops.
`im2col`
    Their arithmetic: image patches copied into matrices and multiplied by
    BLAS, compiled, split by image across the cores.
`pool`
    `pool_2d` and its gradient ops.
`shapes`
    The output-shape arithmetic both share.
`validation`
    Their argument checks and dtype rules.
`loops`
    The few loops NumPy does badly, compiled with Numba.

Three more modules make the tutorials' other graphs cheaper to run, with
the arithmetic unchanged; the ``NUMPY`` mode puts them in place with
rewrites (`deeplearning_tutorial.modes`):

`minibatch`
    ``givens`` minibatch slices of a static length.
`reductions`
    The L2 penalty ``sum(W ** 2)`` in one pass.
`blas`
    Each weight update (``Gemm``) in one BLAS call, in place, as in Theano;
    BLAS kept on one thread while the ops above run their own threads.

The ops compute with NumPy in ``perform``, and so do their gradients, so
they run under every PyTensor backend.  Nothing here imports a backend: the
Numba and JAX implementations live in `deeplearning_tutorial.link`, loaded
by `deeplearning_tutorial.modes.tutorial_mode` when such a mode is used
(call `deeplearning_tutorial.link.load_backend` to compile these ops under
such a mode yourself).  Bad arguments are reported while the graph is
built; shape errors that depend on the data, when it runs.
"""

from deeplearning_tutorial.ops.conv import Conv2d, Conv2dGradInputs, Conv2dGradWeights, conv2d
from deeplearning_tutorial.ops.pool import POOL_MODES, AveragePoolGrad, MaxPoolGrad, Pool, pool_2d

__all__ = [
    "conv2d",
    "pool_2d",
    "Conv2d",
    "Conv2dGradInputs",
    "Conv2dGradWeights",
    "Pool",
    "MaxPoolGrad",
    "AveragePoolGrad",
    "POOL_MODES",
]
