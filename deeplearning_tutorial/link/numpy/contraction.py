"""The RBM's hidden-bias update with the fused multiply-adds of Theano's compiled code.

Theano fused a chain of element-wise operations into one C loop and
compiled it for the machine it ran on; where the machine has a fused
multiply-add, the C compiler contracts ``x * y + z`` into one instruction,
rounded once.  The RBM's hidden bias (the same update in each RBM of the
DBN) is updated by such a loop, ``hbias - lr * (a * s1 + c * s2)``, the two
products being the positive and the negative phase (a sum of sigmoids
scaled by the batch size, `deeplearning_tutorial.link.numpy.scaling`).
Measured under Theano 1.0.5 on this machine, every element of that loop's
result is ``fma(-lr, fma(c, s2, a * s1), hbias)``: the compiler fused the
second product into the sum and the product by the learning rate into the
subtraction.  Computed with two roundings each, about a third of the hidden
biases part from Theano's by an ulp after a step, and a long Gibbs chain
amplifies the difference.

`local_theano_contraction` rewrites exactly that shape,
``x - k * (a * b + c * d)`` or ``x - (a * b + c * d) * k`` (the learning rate
a variable, as in the DBN), with each intermediate used only there (as in a
fused loop), into `deeplearning_tutorial.ops.rng_mrg.MulAdd` nodes.
"""

from pytensor.graph.rewriting.basic import node_rewriter
from pytensor.scalar import Add, Mul, Sub
from pytensor.tensor.elemwise import Elemwise

from deeplearning_tutorial.ops.rng_mrg import MulAdd


def _binary(fgraph, var, scalar_op):
    """The two inputs of ``var`` when it is a binary element-wise ``scalar_op`` used only once, else None."""
    owner = var.owner
    if (
        owner is None
        or not isinstance(owner.op, Elemwise)
        or type(owner.op.scalar_op) is not scalar_op
        or len(owner.inputs) != 2
        or len(fgraph.clients[var]) != 1
    ):
        return None
    return owner.inputs


@node_rewriter([Elemwise])
def local_theano_contraction(fgraph, node):
    """``x - k * (a * b + c * d)`` -> ``MulAdd(-k, MulAdd(c, d, a * b), x)``, float32 or float64, ``k`` either side."""
    if type(node.op.scalar_op) is not Sub:
        return None
    dtype = node.outputs[0].type.dtype
    if dtype not in ("float32", "float64") or any(v.type.dtype != dtype for v in node.inputs):
        return None
    x, scaled = node.inputs
    factors = _binary(fgraph, scaled, Mul)
    if factors is None:
        return None
    k, total = factors
    terms = _binary(fgraph, total, Add)
    if terms is None:
        # the learning rate after the sum: a variable (DBN's ``lr``) comes last
        total, k = factors
        terms = _binary(fgraph, total, Add)
        if terms is None:
            return None
    first, second = (_binary(fgraph, term, Mul) for term in terms)
    if first is None or second is None:
        return None
    a, b = first
    c, d = second
    update = MulAdd(dtype)(-k, MulAdd(dtype)(c, d, a * b), x)
    if update.type.ndim != node.outputs[0].type.ndim:
        return None
    return [update]
