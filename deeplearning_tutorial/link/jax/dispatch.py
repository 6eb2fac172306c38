"""The tutorials' JAX conversions of PyTensor's own ops, where PyTensor's do not serve.

Each is used only under `TutorialJAXLinker` (its ``tutorial_linker``
argument); any other JAX linker gets PyTensor's conversion.

- `CheckAndRaise`: checked (`deeplearning_tutorial.link.jax.checks`), where
  PyTensor's conversion drops it with a warning.
- `ARange`: constant bounds as Python ints.
- `CAReduce`: sums accumulate in the op's ``acc_dtype`` and return its
  output dtype.
- `Dot`: on the CPU, a product whose left operand is a large transposed
  matrix is computed the other way round.
"""

import jax
import jax.numpy as jnp
from jax import lax
from jax.experimental import checkify
from pytensor.graph.basic import Constant
from pytensor.link.jax.dispatch import jax_funcify
from pytensor.raise_op import CheckAndRaise
from pytensor.tensor.basic import ARange
from pytensor.tensor.elemwise import CAReduce, DimShuffle
from pytensor.tensor.math import Dot

# PyTensor's conversions, for the other JAX linkers.
_pytensor_check_and_raise = jax_funcify.dispatch(CheckAndRaise)
_pytensor_arange = jax_funcify.dispatch(ARange)
_pytensor_careduce = jax_funcify.dispatch(CAReduce)
_pytensor_dot = jax_funcify.dispatch(Dot)


@jax_funcify.register(CheckAndRaise)
def jax_funcify_CheckAndRaise(op, node, tutorial_linker=False, host_checked=(), **kwargs):
    """An assertion: nothing in the call when it is checked on the host, else a `checkify` check."""
    if not tutorial_linker:
        return _pytensor_check_and_raise(op, node=node, **kwargs)
    if node in host_checked:
        return lambda x, *conditions: x
    message = op.msg.replace("{", "{{").replace("}", "}}")

    def check_and_raise(x, *conditions):
        for condition in conditions:
            checkify.check(jnp.all(condition), message)
        return x

    return check_and_raise


@jax_funcify.register(ARange)
def jax_funcify_ARange(op, node, tutorial_linker=False, **kwargs):
    """``arange`` with constant bounds passed to JAX as Python ints.

    PyTensor's conversion passes them as NumPy scalars of their own dtype,
    often int8 (``arange(n)`` starts at an int8 0), and JAX then computes
    the whole range in that dtype: ``arange(0, 600)`` overflows.
    """
    if not tutorial_linker:
        return _pytensor_arange(op, node=node, **kwargs)
    constants = [inp.data.item() if isinstance(inp, Constant) else None for inp in node.inputs]

    def arange(*args):
        start, stop, step = (arg if constant is None else constant for arg, constant in zip(args, constants))
        return jnp.arange(start, stop, step, dtype=op.dtype)

    return arange


@jax_funcify.register(CAReduce)
def jax_funcify_CAReduce(op, node, tutorial_linker=False, **kwargs):
    """A reduction computed in ``acc_dtype`` and returned in the node's output dtype.

    PyTensor's conversion reduces in the input's dtype and returns
    ``acc_dtype``: a float32 ``Sum{acc=float64}`` (every mean and L1/L2
    term) added up in float32 and came out as float64, so that everything
    after it, the updated parameters included, turned float64, and a
    float32 run computed in float64 from its second step on.
    """
    reduce = _pytensor_careduce(op, node=node, **kwargs)
    if not tutorial_linker:
        return reduce
    acc_dtype = op.acc_dtype
    out_dtype = node.outputs[0].type.dtype

    def careduce(x):
        if acc_dtype is not None:
            x = x.astype(acc_dtype)
        return reduce(x).astype(out_dtype)

    return careduce


@jax_funcify.register(Dot)
def jax_funcify_Dot(op, node, tutorial_linker=False, **kwargs):
    """A matrix product; on the CPU, ``a.T @ b`` as ``(b.T @ a).T`` when that moves less data.

    XLA's CPU product copies a left operand that is stored transposed into
    the layout it multiplies: for logistic regression's weight gradient
    ``x.T @ d`` that is the whole 600x784 minibatch, and the product takes
    about twice as long as ``d.T @ x``.  The other order copies ``d`` and
    the small result instead; it is chosen when those are smaller than the
    left operand.  `lax.optimization_barrier` keeps XLA from folding the
    outer transpose back into the product.  Each element is a sum of the
    same products either way, though XLA may add them in another order.
    """
    if not tutorial_linker:
        return _pytensor_dot(op, node=node, **kwargs)
    a, b = node.inputs
    a_is_transposed = a.owner is not None and isinstance(a.owner.op, DimShuffle) and a.owner.op.is_matrix_transpose
    turn = jax.default_backend() == "cpu" and a.type.ndim == 2 and b.type.ndim == 2 and a_is_transposed

    def dot(x, y):
        if turn:
            (m, k), n = x.shape, y.shape[1]
            # Elements copied: the left operand as it is; the other way, y and the result.
            if m * k > k * n + m * n:
                return lax.optimization_barrier(jnp.dot(y.T, x.T)).T
        return jnp.dot(x, y)

    return dot
