"""Numba implementations of PyTensor ops, registered with PyTensor's Numba dispatch.

Importing this package registers them.  `deeplearning_tutorial.link.numba_blas`
imports it when its linker first converts a graph, so modes that do not use
Numba never pay for it.
"""

from deeplearning_tutorial.link.numba import blas, reductions  # noqa: F401 (registers their ops)
