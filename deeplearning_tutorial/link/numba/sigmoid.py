"""Numba implementations of `deeplearning_tutorial.link.numpy.sigmoid`: Theano's sigmoid and softplus.

`TheanoSigmoid` and `TheanoSoftplus` subclass PyTensor's ``Sigmoid`` and
``Softplus``, so without these registrations PyTensor's Numba dispatch
would compile them as PyTensor's own formulas.  Each scalar function
below is the body of the ``NUMPY`` mode's compiled loop for one element:
the same cut-offs (`SIGMOID_CUTOFFS`, `SOFTPLUS_CUTOFFS`), the same
operations in the input's dtype, and Numba's ``math.exp`` and
``math.log1p``, which call the C library's ``exp``/``expf`` and
``log1p``/``log1pf`` as the loops there do.  So an element-wise node
compiled here gives the ``NUMPY`` mode's bits (tests/link/numba/test_sigmoid.py).
"""

import math

import numpy as np
from pytensor.link.numba.dispatch.basic import numba_njit, register_funcify_and_cache_key
from pytensor.link.numba.dispatch.scalar import scalar_op_cache_key

from deeplearning_tutorial.link.numpy.sigmoid import (
    SIGMOID_CUTOFFS,
    SOFTPLUS_CUTOFFS,
    TheanoSigmoid,
    TheanoSoftplus,
)

#: Change it when the scalar functions below change, for the disk cache.
VERSION = 1


def _dtype_and_cutoffs(node, cutoffs):
    dtype = node.inputs[0].type.dtype
    if dtype not in cutoffs or node.outputs[0].type.dtype != dtype:
        # local_theano_sigmoid only makes nodes whose input and output are both float32 or both float64
        raise TypeError("Theano's sigmoid and softplus are compiled for float32 or float64, not %s" % (dtype,))
    low, high = (np.dtype(dtype).type(c) for c in cutoffs[dtype])
    return np.dtype(dtype).type, low, high


@register_funcify_and_cache_key(TheanoSigmoid)
def numba_funcify_TheanoSigmoid(op, node, **kwargs):
    scalar, low, high = _dtype_and_cutoffs(node, SIGMOID_CUTOFFS)
    zero, one = scalar(0.0), scalar(1.0)

    @numba_njit(fastmath=False)
    def theano_sigmoid(v):
        if v < low:
            return zero
        elif v > high:
            return one
        return one / (one + math.exp(-v))

    return theano_sigmoid, scalar_op_cache_key(op, dtype=scalar.__name__, cache_version=VERSION)


@register_funcify_and_cache_key(TheanoSoftplus)
def numba_funcify_TheanoSoftplus(op, node, **kwargs):
    scalar, low, high = _dtype_and_cutoffs(node, SOFTPLUS_CUTOFFS)
    zero = scalar(0.0)

    @numba_njit(fastmath=False)
    def theano_softplus(v):
        if v < low:
            return zero
        elif v > high:
            return v
        return math.log1p(math.exp(v))

    return theano_softplus, scalar_op_cache_key(op, dtype=scalar.__name__, cache_version=VERSION)
