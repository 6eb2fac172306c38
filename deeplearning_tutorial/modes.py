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
``gemm``, ``(1 - 2 * lr * L2_reg) * W - lr * dot``, as Theano did, computed
in one BLAS call in place as Theano's C code did (`deeplearning_tutorial.ops.blas`).
The Numba backend cannot use BLAS rewrites and evaluates the update as
written, which rounds differently (docs/parity.md).

Evaluated node by node, a small graph costs mostly the nodes themselves,
so ``NUMPY`` adds rewrites that make fewer and cheaper nodes
(`NUMPY_REWRITES`): minibatch slices without the chain of ``Switch``
nodes that clips their bounds (`deeplearning_tutorial.ops.minibatch`), the
L2 penalty in one compiled pass (`deeplearning_tutorial.ops.reductions`),
the one-call ``gemm``, and element-wise nodes that call NumPy once, in
place where they can (`deeplearning_tutorial.ops.elemwise`).  Its virtual
machine (`deeplearning_tutorial.link.vm`) calls each node's ``perform``
directly, and keeps BLAS on one thread for the calls whose convolution and
pooling run on every core themselves.

``NUMBA_BLAS`` (`deeplearning_tutorial.link.numba_blas`) compiles the
whole graph with Numba like ``NUMBA`` but keeps the BLAS rewrites, so it
computes what ``NUMPY`` computes at a fraction of the cost per call; it
needs Numba's compilation on a fresh machine (tens of seconds), which is
why it is not the default.

Another mode is chosen with ``PYTENSOR_FLAGS=mode=NUMBA`` (or ``CVM``,
``FAST_COMPILE``...) or with the ``--mode`` flag of each tutorial script
(`deeplearning_tutorial.cli`).  The benchmarks in ``benchmarks/`` compare them.

``JAX`` runs the tutorials through PyTensor's JAX backend, on whatever
device JAX uses (`deeplearning_tutorial.link.jax`; README, "JAX and GPUs").
"""

import re

import pytensor
from pytensor.compile.mode import Mode, get_mode, predefined_modes
from pytensor.graph.rewriting.basic import dfs_rewriter, node_rewriter
from pytensor.graph.rewriting.db import RewriteDatabaseQuery
from pytensor.link.jax.linker import JAXLinker
from pytensor.tensor.rewriting.ofg import inline_ofg_node
from pytensor.tensor.special import LogSoftmax, Softmax

from deeplearning_tutorial.link import load_backend, x64_disabled_by_user
from deeplearning_tutorial.link.numba_blas import NUMBA_BLAS
from deeplearning_tutorial.link.vm import NumpyVMLinker
from deeplearning_tutorial.ops.blas import local_blas_gemm
from deeplearning_tutorial.ops.elemwise import local_ufunc_elemwise
from deeplearning_tutorial.ops.minibatch import STATIC_SLICES_POSITION, static_length_slices
from deeplearning_tutorial.ops.reductions import local_sum_of_squares


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
    # Minibatch slices without their chain of bound computations (ops/minibatch.py).
    "static_length_slices": (dfs_rewriter(static_length_slices), STATIC_SLICES_POSITION),
    # After the specialize phase:
    "inline_softmax": (dfs_rewriter(inline_softmax), 2.5),
    # The L2 penalty in one compiled pass (ops/reductions.py).
    "sum_of_squares": (dfs_rewriter(local_sum_of_squares), 2.5),
    # Each weight update one BLAS call (ops/blas.py), once the in-place BLAS
    # rewrites (50.2) have made the Gemm nodes in place; Gemm and Dot22 split
    # across the cores when the call keeps BLAS on one thread.
    "blas_gemm": (dfs_rewriter(local_blas_gemm), 70.5),
    # Element-wise nodes with one NumPy call each (ops/elemwise.py), once
    # the in-place rewrites (50.5) have chosen which write into an input.
    "ufunc_elemwise": (dfs_rewriter(local_ufunc_elemwise), 70.5),
}


def numpy_mode(without=()):
    """The ``NUMPY`` mode, less the rewrites of `NUMPY_REWRITES` named in ``without`` (for comparisons)."""
    return Mode(
        NumpyVMLinker(use_cloop=False, c_thunks=False),
        RewriteDatabaseQuery(include=["fast_run"], exclude=["fusion", "cxx_only"]),
    ).register(*(rewrite for name, rewrite in NUMPY_REWRITES.items() if name not in without))


NUMPY = numpy_mode()
predefined_modes.setdefault("NUMPY", NUMPY)
# Numba-compiled graphs with Theano's BLAS arithmetic (see link/numba_blas.py).
predefined_modes.setdefault("NUMBA_BLAS", NUMBA_BLAS)

#: Value of ``pytensor.config.mode`` when the user has not chosen one.
PYTENSOR_DEFAULT = "Mode"


#: The oldest JAX the JAX mode is written for.
MIN_JAX = (0, 4, 35)


class ModeError(RuntimeError):
    """The chosen mode cannot run here; the message is one line saying what to do."""


def check_mode(mode):
    """Raise `ModeError` if ``mode`` (a PyTensor ``Mode``) cannot run the tutorials here.

    A JAX mode needs JAX, recent enough, and in float64 JAX's 64-bit mode,
    which the tutorials' JAX mode switches on unless the user switched it
    off (`deeplearning_tutorial.link.jax.tutorial_mode`).
    """
    if not isinstance(mode.linker, JAXLinker):
        return
    try:
        import jax
    except ImportError:
        raise ModeError("--mode JAX needs JAX: pip install -e '.[jax]'") from None
    version = tuple(int(part) for part in re.match(r"(\d+)\.(\d+)\.(\d+)", jax.__version__).groups())
    if version < MIN_JAX:
        minimum = ".".join(map(str, MIN_JAX))
        raise ModeError(f"--mode JAX needs JAX {minimum} or newer, found {jax.__version__}: pip install -U -e '.[jax]'")
    if pytensor.config.floatX == "float64" and x64_disabled_by_user():
        raise ModeError(
            "--mode JAX in float64 needs JAX's 64-bit mode, which JAX_ENABLE_X64 turns off: "
            "unset it, or use PYTENSOR_FLAGS=floatX=float32"
        )


def tutorial_mode():
    """The mode to compile the tutorial functions with.

    The user's choice (``PYTENSOR_FLAGS=mode=...`` or ``--mode``) when there
    is one, else ``NUMPY``; `ModeError` if it cannot run here.  The
    implementations of the package's ops for that mode's backend are loaded
    here, and only here.
    """
    mode = NUMPY if pytensor.config.mode == PYTENSOR_DEFAULT else get_mode(pytensor.config.mode)
    check_mode(mode)
    return load_backend(mode)
