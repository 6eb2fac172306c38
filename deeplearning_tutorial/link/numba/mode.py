"""``NUMBA_BLAS``: PyTensor's Numba backend with Theano's BLAS rewrites kept.

PyTensor's ``NUMBA`` mode compiles a whole graph into one Numba function,
which removes the Python virtual machine's cost per node (the better part
of an MLP training step).  But it leaves out the BLAS rewrites,
so it computes each weight update as written, ``W - lr * (dot + c * W)``,
where Theano computed one ``gemm``, ``(1 - lr * c) * W - lr * dot``: the two
round differently.  And it compiles with fast-math flags, under which LLVM
may reorder and contract floating-point arithmetic.

This mode keeps the BLAS rewrites (their ops are compiled by `blas`,
each one BLAS call as in Theano's C code) and turns fast-math off, so the
compiled graph is the ``NUMPY`` mode's graph, computed with Theano's
arithmetic.  It also computes ``sum(W ** 2)`` in one pass, with the
``NUMPY`` mode's rewrite (`deeplearning_tutorial.link.numpy.reductions`,
compiled by `reductions`), and sigmoid and softplus with Theano's
cut-offs and C library functions (`deeplearning_tutorial.link.numpy.sigmoid`,
compiled by `sigmoid`), and the RBM's gradient and hidden-bias update as
Theano's graph and compiled code computed them (the ``NUMPY`` mode's
`deeplearning_tutorial.link.numpy.scaling` and
`deeplearning_tutorial.link.numpy.contraction`).

Defining the mode loads no Numba code: the implementations are registered
(`deeplearning_tutorial.link.numba.register`) when a graph is compiled in it.
"""

from pytensor import config
from pytensor.compile.mode import Mode
from pytensor.graph.rewriting.basic import dfs_rewriter
from pytensor.graph.rewriting.db import RewriteDatabaseQuery
from pytensor.link.numba.linker import NumbaLinker

from deeplearning_tutorial.link.numba import register
from deeplearning_tutorial.link.numpy.mode import NUMPY_REWRITES
from deeplearning_tutorial.link.numpy.reductions import local_sum_of_squares
from deeplearning_tutorial.link.numpy.sigmoid import local_theano_sigmoid

#: Where a rewrite that must see the element-wise nodes one by one goes: after
#: the rewrites that flatten sums and products (48), before element-wise fusion (49).
BEFORE_FUSION = 48.5


class NumbaBlasLinker(NumbaLinker):
    """`NumbaLinker` that accepts the BLAS rewrites and compiles without fast-math."""

    incompatible_rewrites = tuple(r for r in NumbaLinker.incompatible_rewrites if r != "BlasOpt")

    def fgraph_convert(self, fgraph, **kwargs):
        # Here, as PyTensor imports its own dispatch: only a graph compiled
        # in this mode needs Numba and the BLAS implementations.
        register()

        # The flag is read while each node is converted (it is part of the
        # cache key too) and when the graph is compiled.
        with config.change_flags(numba__fastmath=False):
            return super().fgraph_convert(fgraph, **kwargs)

    def jit_compile(self, fn_and_cache):
        with config.change_flags(numba__fastmath=False):
            return super().jit_compile(fn_and_cache)


class NumbaBlasMode(Mode):
    """A mode that keeps the BLAS rewrites when asked to exclude them (they are what it is for).

    PyTensor's Numba ``Scan`` rewrites its inner graph with the scan's mode
    less every rewrite the ``NUMBA`` mode leaves out, the BLAS ones among
    them, so a loop would compute its products and updates otherwise than
    the same graph outside a loop, and than the ``NUMPY`` mode's loop.
    """

    def excluding(self, *tags):
        return super().excluding(*(tag for tag in tags if tag != "BlasOpt"))


NUMBA_BLAS = NumbaBlasMode(NumbaBlasLinker(), RewriteDatabaseQuery(include=["fast_run", "numba"])).register(
    # the RBM's arithmetic as in the NUMPY mode, at the same places (its sums need
    # no rewrite: Numba's loops add one element after another, as Theano's did)
    NUMPY_REWRITES["scale_by_reciprocal"],
    NUMPY_REWRITES["theano_contraction"],
    (dfs_rewriter(local_sum_of_squares), 2.5),  # after the specialize phase, before element-wise fusion
    # once the specialize phase has made its softplus terms; a fused loop
    # would hide the sigmoid nodes (and TheanoSigmoid has no C code, so it is never fused)
    (dfs_rewriter(local_theano_sigmoid), BEFORE_FUSION),
)
