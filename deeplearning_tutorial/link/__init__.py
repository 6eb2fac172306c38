"""The modes the tutorials run in, one tree per PyTensor backend, each mirroring the package.

The map, after PyTensor's split of ``tensor/`` (what is computed) from
``link/<backend>/`` (how a backend runs it):

``deeplearning_tutorial/ops/``
    What the tutorials compute: ``conv2d`` and ``pool_2d``, their shapes,
    checks and compiled kernels.  They run under every backend.
``link/numpy/``
    The ``NUMPY`` mode, the default: PyTensor's Python virtual machine
    (``vm.py``) and the rewrites that make its graphs cheaper and keep
    Theano's arithmetic (``blas.py``, ``elemwise.py``, ``minibatch.py``,
    ``reductions.py``), put together in ``mode.py``.
``link/numba/``, ``link/jax/``
    A backend each: ``ops/`` implements ``deeplearning_tutorial/ops/``,
    one module per op module (``link/numba/ops/conv.py`` implements
    ``ops/conv.py``); a module named like one of ``link/numpy/`` implements
    the ops of that rewrite for this backend (``link/numba/blas.py``,
    ``link/numba/reductions.py``, ``link/jax/minibatch.py``); ``mode.py``
    is the backend's tutorial mode (``NUMBA_BLAS``, the JAX mode).

Importing a tree registers nothing: its ``register()`` registers its
implementations with PyTensor's dispatch, and `load_backend` calls it only
for a mode whose linker needs it, so that a run in the default ``NUMPY``
mode never loads PyTensor's Numba dispatch nor JAX.
"""

import os

from pytensor.link.jax.linker import JAXLinker
from pytensor.link.numba.linker import NumbaLinker


def load_backend(mode):
    """Register this package's implementations for the linker of ``mode`` (a PyTensor ``Mode``).

    Returns the mode to compile with: ``mode`` itself, except for JAX, which
    needs the tutorials' own JAX mode (`deeplearning_tutorial.link.jax.mode`).
    """
    if isinstance(mode.linker, NumbaLinker):
        from deeplearning_tutorial.link import numba

        numba.register()
    if isinstance(mode.linker, JAXLinker):
        from deeplearning_tutorial.link.jax import mode as jax_mode

        return jax_mode.tutorial_mode(mode)
    return mode


def x64_disabled_by_user():
    """Whether the environment turns JAX's 64-bit mode off (``JAX_ENABLE_X64=0`` or ``false``)."""
    return os.environ.get("JAX_ENABLE_X64", "").lower() in ("0", "false")
