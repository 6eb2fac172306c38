"""Numba implementation of `deeplearning_tutorial.link.numpy.reductions`: its compiled loop, called from the graph."""

import numpy as np
from pytensor.link.numba.dispatch.basic import numba_njit, register_funcify_default_op_cache_key

from deeplearning_tutorial.link.numpy.reductions import SumOfSquares, sum_of_squares


@register_funcify_default_op_cache_key(SumOfSquares)
def numba_funcify_SumOfSquares(op, node, **kwargs):
    out_dtype = np.dtype(node.outputs[0].type.dtype)

    @numba_njit
    def sum_of_squares_op(x):
        out = np.empty((), out_dtype)
        out[()] = sum_of_squares(x)
        return out

    return sum_of_squares_op, 2  # version: change it when the loop changes, for the disk cache
