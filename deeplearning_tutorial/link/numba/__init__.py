"""Numba implementations, registered with PyTensor's ``numba_funcify`` when this package is imported.

``ops/`` implements the package's ops; `blas` and `reductions` implement
PyTensor's BLAS ops and a fused reduction for the ``NUMBA_BLAS`` mode
(`deeplearning_tutorial.link.numba_blas`).
"""

from deeplearning_tutorial.link.numba import blas, reductions  # noqa: F401 (registers on import)
from deeplearning_tutorial.link.numba.ops import conv, pool  # noqa: F401 (registers on import)
