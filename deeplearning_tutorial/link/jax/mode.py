"""The tutorials' JAX mode: a JAX mode with static minibatch slices, the tutorials' linker, and 64-bit JAX."""

import functools
import sys

import jax
from pytensor.compile.mode import Mode
from pytensor.graph.rewriting.basic import dfs_rewriter

from deeplearning_tutorial.link import x64_disabled_by_user
from deeplearning_tutorial.link.jax import register
from deeplearning_tutorial.link.jax.linker import TutorialJAXLinker
from deeplearning_tutorial.link.jax.ops.conv import sizes_as_tuples
from deeplearning_tutorial.link.jax.rounding import opaque_sizes
from deeplearning_tutorial.link.numpy.minibatch import STATIC_SLICES_POSITION, static_length_slices

# Before elemwise fusion (49) would hide the divisions inside fused loops.
OPAQUE_SIZES_POSITION = 48
# With PyTensor's own JAX rewrites, once the shapes are in their final form.
SIZES_AS_TUPLES_POSITION = 100


def enable_x64():
    """Switch JAX's 64-bit mode on, unless the user switched it off, and say so once on stderr.

    Without it JAX computes float64 and int64 in 32 bits.  PyTensor's
    graphs hold some of both even for floatX=float32 (the error rates are
    float64 means), so it is on in float32 too, where the other modes
    compute those in 64 bits as well.  (PyTensor's JAX dispatch sets it
    from floatX when first imported, off for float32.)
    """
    if not x64_disabled_by_user():
        jax.config.update("jax_enable_x64", True)
        _say_x64_is_on()


@functools.cache
def _say_x64_is_on():
    print("JAX: 64-bit mode enabled (jax_enable_x64), so that float64 and int64 stay 64-bit", file=sys.stderr)


def tutorial_mode(mode):
    """``mode`` (a JAX mode) with static minibatch slices and the tutorials' linker; enables 64-bit mode.

    Registers this backend's implementations first (`register`).
    """
    register()
    enable_x64()
    return Mode(TutorialJAXLinker(), mode.provided_optimizer).register(
        (dfs_rewriter(static_length_slices), STATIC_SLICES_POSITION),
        (dfs_rewriter(opaque_sizes), OPAQUE_SIZES_POSITION),
        (dfs_rewriter(sizes_as_tuples), SIZES_AS_TUPLES_POSITION),
    )
