"""Backend implementations of the package's ops, one tree per PyTensor backend.

The tree of a backend mirrors the package (``link/numba/ops/conv.py``
implements ``ops/conv.py`` for Numba) and registers its implementations
when it is imported.  `load_backend` imports it only for a mode whose
linker needs it, so that a run in the default ``NUMPY`` mode never loads
PyTensor's Numba dispatch.
"""

import os

from pytensor.link.jax.linker import JAXLinker
from pytensor.link.numba.linker import NumbaLinker


def load_backend(mode):
    """Register this package's implementations for the linker of ``mode`` (a PyTensor ``Mode``).

    Returns the mode to compile with: ``mode`` itself, except for JAX, which
    needs the tutorials' own JAX mode (`deeplearning_tutorial.link.jax`).
    """
    if isinstance(mode.linker, NumbaLinker):
        import deeplearning_tutorial.link.numba  # noqa: F401 (registers on import)
    if isinstance(mode.linker, JAXLinker):
        from deeplearning_tutorial.link import jax

        return jax.tutorial_mode(mode)
    return mode


def x64_disabled_by_user():
    """Whether the environment turns JAX's 64-bit mode off (``JAX_ENABLE_X64=0`` or ``false``)."""
    return os.environ.get("JAX_ENABLE_X64", "").lower() in ("0", "false")
