"""Which PyTensor compilation mode the tutorials use.

PyTensor's own default mode compiles every graph to machine code with Numba.
That runs fast once compiled, but compiling the LeNet graphs on an empty
cache takes minutes, and the C backend (``CVM``) needs a minute of C
compilation: both keep a newcomer waiting before the first minibatch.

The tutorials therefore default to ``NUMPY``: PyTensor's Python virtual
machine calling each op's NumPy implementation, after the usual
``fast_run`` graph rewrites.  It compiles in well under a second, and the
heavy work (matrix products, the convolutions of
`deeplearning_tutorial.ops`) runs in NumPy's BLAS either way.  Element-wise
fusion is left out: fused element-wise loops are only fast when compiled,
and in Python they are slow.

``NUMPY`` also keeps the arithmetic of the historical code.  Its rewrites
turn each weight update ``W - lr * (dot + 2 * L2_reg * W)`` into one BLAS
``gemm``, ``(1 - 2 * lr * L2_reg) * W - lr * dot``, as Theano did.  The
Numba backend cannot use BLAS rewrites and evaluates the update as
written, which rounds differently (docs/parity.md).

``NUMBA_BLAS`` (`deeplearning_tutorial.link.numba_blas`) compiles the
whole graph with Numba like ``NUMBA`` but keeps the BLAS rewrites, so it
computes what ``NUMPY`` computes at a fraction of the cost per call; it
needs Numba's compilation on a fresh machine (tens of seconds), which is
why it is not the default.

Another mode is chosen with ``PYTENSOR_FLAGS=mode=NUMBA`` (or ``CVM``,
``FAST_COMPILE``...) or with the ``--mode`` flag of each tutorial script
(`deeplearning_tutorial.cli`).  The benchmarks in ``benchmarks/`` compare them.
"""

import pytensor
from pytensor.compile.mode import Mode, get_mode, predefined_modes
from pytensor.graph.rewriting.basic import dfs_rewriter, node_rewriter
from pytensor.graph.rewriting.db import RewriteDatabaseQuery
from pytensor.link.vm import VMLinker
from pytensor.tensor.rewriting.ofg import inline_ofg_node
from pytensor.tensor.special import LogSoftmax, Softmax

from deeplearning_tutorial.link import load_backend
from deeplearning_tutorial.link.numba_blas import NUMBA_BLAS


@node_rewriter([Softmax, LogSoftmax])
def inline_softmax(fgraph, node):
    """Replace a (log-)softmax node by the element-wise graph it wraps.

    PyTensor keeps softmax as one node that evaluates its inner graph as a
    separately compiled function: in Python that costs milliseconds a call,
    while the same few NumPy operations in the outer graph take microseconds.
    """
    return inline_ofg_node(node)


NUMPY = Mode(
    VMLinker(use_cloop=False, c_thunks=False),
    RewriteDatabaseQuery(include=["fast_run"], exclude=["fusion", "cxx_only"]),
).register((dfs_rewriter(inline_softmax), 2.5))  # after the specialize phase
predefined_modes.setdefault("NUMPY", NUMPY)
# Numba-compiled graphs with Theano's BLAS arithmetic (see link/numba_blas.py).
predefined_modes.setdefault("NUMBA_BLAS", NUMBA_BLAS)

#: Value of ``pytensor.config.mode`` when the user has not chosen one.
PYTENSOR_DEFAULT = "Mode"


def tutorial_mode():
    """The mode to compile the tutorial functions with.

    The user's choice (``PYTENSOR_FLAGS=mode=...`` or ``--mode``) when there
    is one, else ``NUMPY``.  The implementations of the package's ops for
    that mode's backend are loaded here, and only here.
    """
    mode = NUMPY if pytensor.config.mode == PYTENSOR_DEFAULT else get_mode(pytensor.config.mode)
    load_backend(mode)
    return mode
