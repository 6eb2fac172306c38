"""Divisions by a size stay divisions in XLA, as in the historical code.

A mean is a sum divided by a size: ``sum / 600`` for a minibatch mean.  In
the other modes the size is a number known when the function runs.  Under
JAX every shape is known when XLA compiles, so the size is a constant to
XLA, and XLA's algebraic simplifier turns a division by a constant into a
multiplication by its reciprocal.  That rounds differently: ``k / 600`` and
``k * (1 / 600)`` differ in the last bit for 249 of the 601 possible
minibatch error counts, enough to break a tie between two validation
scores 62 epochs into logistic_sgd.

So a floating-point value computed from shapes only is passed through
`lax.optimization_barrier`, which XLA does not look through.  (PyTensor
itself would do the same rewrite if it saw the size as a constant, which is
why `deeplearning_tutorial.link.numpy.minibatch.StaticLengthSlice` gives its output no static length.)
"""

from jax import lax
from pytensor.graph.basic import Apply, Constant
from pytensor.graph.op import Op
from pytensor.graph.rewriting.basic import node_rewriter
from pytensor.link.jax.dispatch import jax_funcify
from pytensor.tensor.elemwise import Elemwise
from pytensor.tensor.shape import Shape, Shape_i
from pytensor.tensor.type import float_dtypes


class OpaqueToXLA(Op):
    """The identity, which XLA cannot see through."""

    __props__ = ()
    view_map = {0: [0]}

    def make_node(self, x):
        return Apply(self, [x], [x.type()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = inputs[0]

    def infer_shape(self, fgraph, node, shapes):
        return shapes


@jax_funcify.register(OpaqueToXLA)
def jax_funcify_OpaqueToXLA(op, node, **kwargs):
    return lax.optimization_barrier


def _from_shapes(var):
    """Whether ``var`` is computed from shapes and constants only (through casts, checks...)."""
    if isinstance(var, Constant):
        return True
    node = var.owner
    if node is None or not node.inputs:
        return False
    return isinstance(node.op, Shape | Shape_i) or all(_from_shapes(inp) for inp in node.inputs)


def _size_float(var):
    """Whether ``var`` is a floating-point scalar computed from shapes, not yet opaque to XLA."""
    return (
        var.type.ndim == 0
        and var.type.dtype in float_dtypes
        and not isinstance(var, Constant)
        and not (var.owner is not None and isinstance(var.owner.op, OpaqueToXLA))
        and _from_shapes(var)
    )


@node_rewriter([Elemwise])
def opaque_sizes(fgraph, node):
    """Pass the floats computed from shapes that an element-wise op takes through `OpaqueToXLA`."""
    if not any(_size_float(inp) for inp in node.inputs):
        return None
    inputs = [OpaqueToXLA()(inp) if _size_float(inp) else inp for inp in node.inputs]
    return node.op.make_node(*inputs).outputs
