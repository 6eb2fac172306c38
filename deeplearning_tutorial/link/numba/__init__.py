"""The Numba backend: the package's ops, and the ``NUMBA_BLAS`` mode.

`ops`
    The ops of `deeplearning_tutorial.ops`, one module per op module.
`blas`, `reductions`, `sigmoid`
    The ops that the ``NUMPY`` mode's rewrites of the same names
    (`deeplearning_tutorial.link.numpy`) leave in a graph, which
    ``NUMBA_BLAS`` keeps: PyTensor's BLAS ops, ``sum(W ** 2)``, and
    Theano's sigmoid and softplus.
`mode`
    ``NUMBA_BLAS``: PyTensor's Numba backend with Theano's BLAS rewrites kept.

Importing this package loads nothing of Numba; `register` registers the
implementations with PyTensor's ``numba_funcify``.
"""


def register():
    """Register this backend's implementations with PyTensor's Numba dispatch; calling it again does nothing.

    Each module registers its implementations when it is imported, which
    Python does once.
    """
    from deeplearning_tutorial.link.numba import blas, reductions, sigmoid  # noqa: F401
    from deeplearning_tutorial.link.numba.ops import conv, pool, rng_mrg  # noqa: F401
