"""Theano's ``conv2d`` and ``pool_2d`` for PyTensor.

The LeNet tutorial is built from ``theano.tensor.nnet.conv2d`` and
``theano.tensor.signal.pool.pool_2d``.  PyTensor 3, Theano's successor, has
neither: its remaining convolutions take single N-d signals, not a batch of
multi-channel images against a bank of filters, and it has no pooling.  This
package supplies both, with the semantics of Theano 1.0:

`conv`
    `conv2d` and its gradient ops.
`pool`
    `pool_2d` and its gradient ops.
`shapes`
    The output-shape arithmetic both share.
`validation`
    Their argument checks and dtype rules.
`im2col`
    The convolution's kernels: image patches copied into matrices and
    multiplied by BLAS, compiled.
`loops`
    The pooling's kernels: compiled loops.
`blas_kernels`
    BLAS ``gemm`` called from compiled code, and the BLAS's thread count.
`threads`
    A kernel's work split by blocks across the cores.

The ops compute with NumPy and these kernels in ``perform``, and so do
their gradients, so they run under every PyTensor backend.  Nothing here
imports a backend, nor opens BLAS at import: the Numba and JAX
implementations live in `deeplearning_tutorial.link` (``link/numba/ops/``,
``link/jax/ops/``, one module per module here), loaded by
`deeplearning_tutorial.modes.tutorial_mode` when such a mode is used (call
`deeplearning_tutorial.link.load_backend` to compile these ops under such
a mode yourself).  The default mode's rewrites of other graphs
(`deeplearning_tutorial.link.numpy`) are not part of this package.  Bad
arguments are reported while the graph is built; shape errors that depend
on the data, when it runs.
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
