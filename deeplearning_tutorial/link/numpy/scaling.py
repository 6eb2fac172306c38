"""The RBM's gradient scaled by the batch size as Theano's graph scaled it.

The mean over a minibatch, ``T.mean(...)``, sends ``1 / n`` back to every
unit.  Through a softplus (the free energy of an RBM) that factor meets the
softplus's derivative, ``exp(z) / (1 + exp(z))``, which both Theano and
PyTensor turn into ``sigmoid(z)``.  Theano's graph kept the factor as a
multiplication, ``sigmoid(z) * (1 / n)``, because the ``1 / n`` it
multiplied feeds several gradients at once and its canonicalizer does not
look through a shared node.  PyTensor's graph of the same gradient folds the
factor into the denominator first and divides, ``sigmoid(z) / n``.  The two
round differently whenever ``1 / n`` is not exact (a batch of 20, 100 or 300),
in about half of the hidden biases after one PCD step, and a long chain
amplifies the difference.

`local_scale_by_reciprocal` puts Theano's form back: ``X / n`` becomes
``X * reciprocal(n)`` where ``X`` is such a sigmoid (or a sum of one, the
hidden bias's gradient) and ``n`` a number of rows (a cast of a shape), so
that nothing else in the tutorials' graphs changes.
"""

from pytensor.graph.rewriting.basic import node_rewriter
from pytensor.scalar import Cast, Sigmoid, TrueDiv
from pytensor.tensor.basic import MakeVector
from pytensor.tensor.elemwise import DimShuffle, Elemwise
from pytensor.tensor.math import Sum, reciprocal
from pytensor.tensor.shape import Shape, Shape_i


def _is_count(var):
    """Whether ``var`` is a number of rows: a shape, cast and broadcast, and nothing else."""
    while var.owner is not None:
        op = var.owner.op
        if isinstance(op, (Shape, Shape_i)):
            return True
        if isinstance(op, DimShuffle) or isinstance(op, MakeVector) and len(var.owner.inputs) == 1:
            var = var.owner.inputs[0]
        elif isinstance(op, Elemwise) and isinstance(op.scalar_op, Cast):
            var = var.owner.inputs[0]
        else:
            return False
    return False


def _is_sigmoid(var):
    owner = var.owner
    return owner is not None and isinstance(owner.op, Elemwise) and isinstance(owner.op.scalar_op, Sigmoid)


@node_rewriter([Elemwise])
def local_scale_by_reciprocal(fgraph, node):
    """``sigmoid(z) / n`` -> ``sigmoid(z) * reciprocal(n)``, and so for ``sum(sigmoid(z), axis) / n``, ``n`` a count."""
    if not isinstance(node.op.scalar_op, TrueDiv):
        return None
    numerator, denominator = node.inputs
    if not _is_count(denominator):
        return None
    summed = numerator.owner is not None and isinstance(numerator.owner.op, Sum)
    if not _is_sigmoid(numerator.owner.inputs[0] if summed else numerator):
        return None
    scaled = numerator * reciprocal(denominator)
    if scaled.type != node.outputs[0].type:
        return None
    return [scaled]
