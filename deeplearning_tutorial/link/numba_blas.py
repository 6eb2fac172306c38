"""``NUMBA_BLAS``: PyTensor's Numba backend with Theano's BLAS rewrites kept.

PyTensor's ``NUMBA`` mode compiles a whole graph into one Numba function,
which removes the Python virtual machine's cost per node (about 12 us, the
better part of an MLP training step).  But it leaves out the BLAS rewrites,
so it computes each weight update as written, ``W - lr * (dot + c * W)``,
where Theano computed one ``gemm``, ``(1 - lr * c) * W - lr * dot``: the two
round differently.  And it compiles with fast-math flags, under which LLVM
may reorder and contract floating-point arithmetic.

This mode keeps the BLAS rewrites (their ops are compiled by
`deeplearning_tutorial.link.numba.blas`, each one BLAS call as in Theano's
C code) and turns fast-math off, so the compiled graph is the ``NUMPY``
mode's graph, computed with Theano's arithmetic.
It also computes ``sum(W ** 2)`` in one pass (`SumOfSquares`).
"""

import numpy as np
from pytensor import config
from pytensor.compile.mode import Mode
from pytensor.graph.basic import Apply
from pytensor.graph.op import Op
from pytensor.graph.rewriting.basic import dfs_rewriter, node_rewriter
from pytensor.graph.rewriting.db import RewriteDatabaseQuery
from pytensor.link.numba.linker import NumbaLinker
from pytensor.scalar import Sqr
from pytensor.tensor.basic import as_tensor_variable
from pytensor.tensor.elemwise import Elemwise
from pytensor.tensor.math import Sum
from pytensor.tensor.type import tensor


class NumbaBlasLinker(NumbaLinker):
    """`NumbaLinker` that accepts the BLAS rewrites and compiles without fast-math."""

    incompatible_rewrites = tuple(r for r in NumbaLinker.incompatible_rewrites if r != "BlasOpt")

    def fgraph_convert(self, fgraph, **kwargs):
        # Imported here, as PyTensor imports its own dispatch: only a graph
        # compiled in this mode needs Numba and the BLAS implementations.
        import deeplearning_tutorial.link.numba  # noqa: F401

        # The flag is read while each node is converted (it is part of the
        # cache key too) and when the graph is compiled.
        with config.change_flags(numba__fastmath=False):
            return super().fgraph_convert(fgraph, **kwargs)

    def jit_compile(self, fn_and_cache):
        with config.change_flags(numba__fastmath=False):
            return super().jit_compile(fn_and_cache)


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
        output_storage[0][0] = np.asarray(np.sum(np.square(x), dtype="float64"), dtype=x.dtype)


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


NUMBA_BLAS = Mode(NumbaBlasLinker(), RewriteDatabaseQuery(include=["fast_run", "numba"])).register(
    (dfs_rewriter(local_sum_of_squares), 2.5)  # after the specialize phase, before element-wise fusion
)
