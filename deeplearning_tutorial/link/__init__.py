"""Backend implementations of the package's ops, one tree per PyTensor backend.

The tree of a backend mirrors the package (``link/numba/ops/conv.py``
implements ``ops/conv.py`` for Numba) and registers its implementations
when it is imported.  `load_backend` imports it only for a mode whose
linker needs it, so that a run in the default ``NUMPY`` mode never loads
PyTensor's Numba dispatch.
"""

from pytensor.link.numba.linker import NumbaLinker


def load_backend(mode):
    """Register this package's implementations for the linker of ``mode`` (a PyTensor ``Mode``)."""
    if isinstance(mode.linker, NumbaLinker):
        import deeplearning_tutorial.link.numba  # noqa: F401 (registers on import)
