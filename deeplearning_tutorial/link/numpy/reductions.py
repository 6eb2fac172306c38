"""``sum(x ** 2)`` in one pass (the L2 penalty of the MLP's cost), and sums in Theano's order.

`SumOfSquares`, the compiled loop that computes it (`sum_of_squares`), and
the rewrite that puts it in place of ``Sum(Sqr(x))``, which makes two
passes over the weights and writes their squares to memory in between.
The ``NUMPY`` and ``NUMBA_BLAS`` modes use them; the Numba backend's
implementation is `deeplearning_tutorial.link.numba.reductions`.

And float64 sums added in Theano's order (`SumInOrder`, `local_sum_in_order`),
in the ``NUMPY`` mode only: Numba's loops already add one element after
another.
"""

import numpy as np
from numba import njit
from pytensor.graph.basic import Apply
from pytensor.graph.op import Op
from pytensor.graph.rewriting.basic import node_rewriter
from pytensor.scalar import Sqr
from pytensor.tensor.basic import as_tensor_variable
from pytensor.tensor.elemwise import Elemwise
from pytensor.tensor.math import Sum
from pytensor.tensor.type import tensor


@njit(cache=True, fastmath={"reassoc"})
def sum_of_squares(x):
    """``sum(x ** 2)`` in one pass, each square rounded in ``x``'s dtype, the sum in float64.

    "reassoc" lets the compiler reorder the float64 additions (and only
    them: no contraction into fused multiply-adds, no approximate
    functions), which it needs to keep running sums in vector registers;
    written as one running sum, each addition would wait for the one before.
    """
    flat = x.ravel()
    total = 0.0
    for i in range(flat.size):
        total += np.float64(flat[i] * flat[i])
    return total


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


# -- sums in Theano's order ------------------------------------------------------------


@njit(cache=True)
def sum_rows_in_order(x, out):
    """``out[i] = (((0 + x[i, 0]) + x[i, 1]) + ...)``: each row's sum, one addition after another.

    No fastmath: the additions stay in this order, which is the order of
    Theano's C reduction loop (NumPy sums a contiguous axis pairwise, with
    eight running sums, and so rounds otherwise).
    """
    for i in range(x.shape[0]):
        acc = 0.0
        for j in range(x.shape[1]):
            acc += x[i, j]
        out[i] = acc


class SumInOrder(Op):
    """A float64 ``Sum`` over ``axis`` whose additions run in Theano's order.

    Theano's C code for a sum walks the reduced axes in memory order,
    adding each element to one running sum per output element.  NumPy's
    ``sum`` gives the same result for the non-contiguous axes but sums a
    contiguous axis pairwise, so that, for instance, the free energy of the
    RBM (a sum over the hidden units) differs from Theano's in the last bit
    for most rows, and a long PCD chain's parameters drift from Theano's.
    """

    __props__ = ("axis",)

    def __init__(self, axis):
        self.axis = tuple(axis)

    def make_node(self, x):
        x = as_tensor_variable(x)
        shape = tuple(s for d, s in enumerate(x.type.shape) if d not in self.axis)
        return Apply(self, [x], [tensor(dtype=x.dtype, shape=shape)])

    def perform(self, node, inputs, output_storage):
        (x,) = inputs
        kept = [d for d in range(x.ndim) if d not in self.axis]
        out_shape = tuple(x.shape[d] for d in kept)
        leading = self.axis == tuple(range(len(self.axis)))
        n_out = int(np.prod(out_shape))
        if x.flags.c_contiguous and leading and n_out > 1:
            # The leading axes of a row-major array: NumPy adds its rows one after
            # another, each output element in order (only a contiguous axis is
            # summed pairwise), as fast as NumPy can.
            rows = x.reshape(int(np.prod(x.shape[: len(self.axis)])), n_out)
            output_storage[0][0] = np.add.reduce(rows, axis=0).reshape(out_shape)
            return
        # the reduced axes last, each keeping its order: one row per output element
        rows = np.ascontiguousarray(np.transpose(x, kept + list(self.axis)))
        rows = rows.reshape(n_out, int(np.prod([x.shape[d] for d in self.axis])))
        out = np.empty(n_out, dtype=np.float64)
        sum_rows_in_order(rows, out)
        output_storage[0][0] = out.reshape(out_shape)

    def infer_shape(self, fgraph, node, shapes):
        return [tuple(s for d, s in enumerate(shapes[0]) if d not in self.axis)]


@node_rewriter([Sum])
def local_sum_in_order(fgraph, node):
    """A float64 ``Sum`` of a vector or matrix (float64 in, accumulator and out) -> `SumInOrder` over the same axes."""
    op = node.op
    (x,) = node.inputs
    if not (x.dtype == "float64" and op.acc_dtype == "float64" and node.outputs[0].dtype == "float64"):
        return None
    # Vectors and matrices (the sums the RBM's and the autoencoders' arithmetic
    # feels); the reductions of convolutional feature maps stay NumPy's, faster.
    if x.ndim not in (1, 2):
        return None
    axis = tuple(range(x.ndim)) if op.axis is None else tuple(sorted(op.axis))
    return [SumInOrder(axis)(x)]
