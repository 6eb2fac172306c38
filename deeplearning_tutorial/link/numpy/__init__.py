"""The ``NUMPY`` mode: PyTensor's Python virtual machine, with rewrites that keep Theano's arithmetic.

`mode`
    `mode.numpy_mode` and the rewrites it adds to PyTensor's ``fast_run``
    (`mode.NUMPY_REWRITES`).
`vm`
    Its virtual machine: each node's ``perform`` called directly.
`blas`
    Each weight update (``Gemm``) in one BLAS call, in place, as in Theano.
`elemwise`
    Element-wise nodes with one NumPy call each.
`minibatch`
    ``givens`` minibatch slices of a static length (the ``JAX`` mode uses
    them too).
`reductions`
    The L2 penalty ``sum(W ** 2)`` in one pass (the ``NUMBA_BLAS`` mode
    uses it too).

The ops these rewrites put in the graph compute with NumPy and the
compiled kernels of `deeplearning_tutorial.ops`; the Numba and JAX
implementations of those that other modes use are in
`deeplearning_tutorial.link.numba` and `deeplearning_tutorial.link.jax`,
under the same module names.
"""
