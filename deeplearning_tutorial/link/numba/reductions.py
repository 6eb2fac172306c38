"""Numba implementation of `deeplearning_tutorial.ops.reductions`."""

import numpy as np
from pytensor.link.numba.dispatch.basic import numba_njit, register_funcify_default_op_cache_key

from deeplearning_tutorial.ops.reductions import SumOfSquares


@register_funcify_default_op_cache_key(SumOfSquares)
def numba_funcify_SumOfSquares(op, node, **kwargs):
    out_dtype = np.dtype(node.outputs[0].type.dtype)

    # "reassoc" lets the compiler reorder the float64 additions (and only
    # them: no contraction into fused multiply-adds, no approximate
    # functions), which it needs to keep running sums in vector registers;
    # written as one running sum the loop is five times slower.  Each square
    # is rounded in the input's dtype, as the Sqr node it replaces did.
    @numba_njit(fastmath={"reassoc"})
    def sum_of_squares(x):
        flat = x.ravel()
        total = 0.0
        for i in range(flat.size):
            total += np.float64(flat[i] * flat[i])
        out = np.empty((), out_dtype)
        out[()] = total
        return out

    return sum_of_squares, 1  # version: change it when the loop changes, for the disk cache
