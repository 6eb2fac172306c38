"""The ``NUMPY`` mode: the virtual machine of `vm` and the rewrites of this package.

Evaluated node by node, a small graph costs mostly the nodes themselves,
so the mode adds rewrites that make fewer and cheaper nodes
(`NUMPY_REWRITES`), none of which changes what is computed: each weight
update one BLAS call (`blas`), as Theano computed it; minibatch slices
without the chain of ``Switch`` nodes that clips their bounds
(`minibatch`); the L2 penalty in one compiled pass (`reductions`);
softmax without its inner compiled function (`inline_softmax`); sigmoid
and softplus with Theano's cut-offs and C library functions (`sigmoid`);
and element-wise nodes that call NumPy once, in place where they can
(`elemwise`).  Others make the float64 arithmetic Theano's where PyTensor's
graph or NumPy rounds otherwise: sums added in Theano's order
(`reductions`), the RBM's gradient scaled by the batch size's reciprocal
(`scaling`) and its hidden-bias update with the fused multiply-adds of
Theano's compiled loop (`contraction`).  Element-wise fusion is left out:
fused element-wise loops are only fast when compiled, and in Python they
are slow.
"""

from pytensor.compile.mode import Mode
from pytensor.graph.rewriting.basic import dfs_rewriter, node_rewriter
from pytensor.graph.rewriting.db import RewriteDatabaseQuery
from pytensor.tensor.rewriting.ofg import inline_ofg_node
from pytensor.tensor.special import LogSoftmax, Softmax

from deeplearning_tutorial.link.numpy.blas import local_blas_gemm
from deeplearning_tutorial.link.numpy.contraction import local_theano_contraction
from deeplearning_tutorial.link.numpy.elemwise import local_ufunc_elemwise
from deeplearning_tutorial.link.numpy.minibatch import STATIC_SLICES_POSITION, static_length_slices
from deeplearning_tutorial.link.numpy.reductions import local_sum_in_order, local_sum_of_squares
from deeplearning_tutorial.link.numpy.scaling import local_scale_by_reciprocal
from deeplearning_tutorial.link.numpy.sigmoid import local_theano_sigmoid
from deeplearning_tutorial.link.numpy.vm import NumpyVMLinker


@node_rewriter([Softmax, LogSoftmax])
def inline_softmax(fgraph, node):
    """Replace a (log-)softmax node by the element-wise graph it wraps.

    PyTensor keeps softmax as one node that evaluates its inner graph as a
    separately compiled function: in Python that costs milliseconds a call,
    while the same few NumPy operations in the outer graph take microseconds.
    """
    return inline_ofg_node(node)


#: What the ``NUMPY`` mode adds to PyTensor's ``fast_run`` rewrites: name -> (rewriter, position).
NUMPY_REWRITES = {
    # Minibatch slices without their chain of bound computations (minibatch.py).
    "static_length_slices": (dfs_rewriter(static_length_slices), STATIC_SLICES_POSITION),
    # After the specialize phase: the RBM's gradient scaled by the batch size
    # as Theano scaled it (scaling.py), its hidden-bias update with Theano's
    # fused multiply-adds (contraction.py), then float64 sums added in
    # Theano's order (reductions.py), before the softmax's inner graph joins
    # the outer one: Theano's softmax was one op with its own loop, whose sum
    # is left as is.
    "scale_by_reciprocal": (dfs_rewriter(local_scale_by_reciprocal), 2.3),
    "theano_contraction": (dfs_rewriter(local_theano_contraction), 2.35),
    # The L2 penalty in one compiled pass (reductions.py), before the other sums.
    "sum_of_squares": (dfs_rewriter(local_sum_of_squares), 2.4),
    "sum_in_order": (dfs_rewriter(local_sum_in_order), 2.45),
    "inline_softmax": (dfs_rewriter(inline_softmax), 2.5),
    # Each weight update one BLAS call (blas.py), once the in-place BLAS
    # rewrites (50.2) have made the Gemm nodes in place; Gemm and Dot22 split
    # across the cores when the call keeps BLAS on one thread.
    "blas_gemm": (dfs_rewriter(local_blas_gemm), 70.5),
    # Sigmoid and softplus as Theano computed them (sigmoid.py), before the
    # element-wise nodes become UfuncElemwise.
    "theano_sigmoid": (dfs_rewriter(local_theano_sigmoid), 70.4),
    # Element-wise nodes with one NumPy call each (elemwise.py), once
    # the in-place rewrites (50.5) have chosen which write into an input.
    "ufunc_elemwise": (dfs_rewriter(local_ufunc_elemwise), 70.5),
}


def numpy_mode(without=()):
    """The ``NUMPY`` mode, less the rewrites of `NUMPY_REWRITES` named in ``without`` (for comparisons)."""
    return Mode(
        NumpyVMLinker(use_cloop=False, c_thunks=False),
        RewriteDatabaseQuery(include=["fast_run"], exclude=["fusion", "cxx_only"]),
    ).register(*(rewrite for name, rewrite in NUMPY_REWRITES.items() if name not in without))
