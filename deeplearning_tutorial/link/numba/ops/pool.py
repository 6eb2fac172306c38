"""Numba implementations of `deeplearning_tutorial.ops.pool`: the NumPy code, in object mode."""

from pytensor.link.numba.dispatch.basic import numba_funcify

from deeplearning_tutorial.link.numba.ops.basic import object_mode_impl
from deeplearning_tutorial.ops.pool import AveragePoolGrad, MaxPoolGrad, Pool


@numba_funcify.register(Pool)
@numba_funcify.register(MaxPoolGrad)
@numba_funcify.register(AveragePoolGrad)
def numba_funcify_Pool(op, node, **kwargs):
    return object_mode_impl(op, node)
