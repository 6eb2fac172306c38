"""Numba implementations of the package's ops, registered with PyTensor's ``numba_funcify``."""

from deeplearning_tutorial.link.numba.ops import conv, pool  # noqa: F401 (registers on import)
