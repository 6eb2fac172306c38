"""Numba implementations of `deeplearning_tutorial.ops.conv`: the NumPy code, in object mode."""

from pytensor.link.numba.dispatch.basic import numba_funcify

from deeplearning_tutorial.link.numba.ops.basic import object_mode_impl
from deeplearning_tutorial.ops.conv import Conv2d, Conv2dGradInputs, Conv2dGradWeights


@numba_funcify.register(Conv2d)
@numba_funcify.register(Conv2dGradInputs)
@numba_funcify.register(Conv2dGradWeights)
def numba_funcify_Conv2d(op, node, **kwargs):
    return object_mode_impl(op, node)
