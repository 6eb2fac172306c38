"""JAX implementation of `deeplearning_tutorial.link.numpy.minibatch.StaticLengthSlice`."""

from jax import lax
from jax.experimental import checkify
from pytensor.link.jax.dispatch import jax_funcify

from deeplearning_tutorial.link.numpy.minibatch import OUT_OF_RANGE, StaticLengthSlice


@jax_funcify.register(StaticLengthSlice)
def jax_funcify_StaticLengthSlice(op, node, host_checked=(), **kwargs):
    length = op.length
    # The range check, unless it is made on the host before the call (link/jax/checks.py).
    check_in_call = node not in host_checked

    def static_length_slice(x, start):
        if check_in_call:
            rows = x.shape[0]
            # dynamic_slice would move an out-of-range start back into range.
            message = OUT_OF_RANGE.format(length=length, start="{start}", rows=rows)
            checkify.check((start >= 0) & (start <= rows - length), message, start=start)
        return lax.dynamic_slice_in_dim(x, start, length, axis=0)

    return static_length_slice
