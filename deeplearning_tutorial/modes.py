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
in one BLAS call in place as Theano's C code did.  The Numba backend cannot
use BLAS rewrites and evaluates the update as written, which rounds
differently (docs/parity.md).  The mode, its virtual machine and its
rewrites are `deeplearning_tutorial.link.numpy`.

``NUMBA_BLAS`` (`deeplearning_tutorial.link.numba.mode`) compiles the
whole graph with Numba like ``NUMBA`` but keeps the BLAS rewrites, so it
computes what ``NUMPY`` computes at a fraction of the cost per call; it
needs Numba's compilation on a fresh machine (tens of seconds), which is
why it is not the default.

Another mode is chosen with ``PYTENSOR_FLAGS=mode=NUMBA`` (or ``CVM``,
``FAST_COMPILE``...) or with the ``--mode`` flag of each tutorial script
(`deeplearning_tutorial.cli`).  The benchmarks in ``benchmarks/`` compare them.

``JAX`` runs the tutorials through PyTensor's JAX backend, on whatever
device JAX uses (`deeplearning_tutorial.link.jax`; README, "JAX and GPUs").

PyTensor's ``get_mode``, and with it ``--mode``, knows the names ``NUMPY``
and ``NUMBA_BLAS`` once `register` has run: `tutorial_mode` and the
command line call it.
"""

import re

import pytensor
from pytensor.compile.mode import get_mode, predefined_modes
from pytensor.link.jax.linker import JAXLinker

from deeplearning_tutorial.link import load_backend, x64_disabled_by_user
from deeplearning_tutorial.link.numba.mode import NUMBA_BLAS
from deeplearning_tutorial.link.numpy.mode import NUMPY_REWRITES, numpy_mode

__all__ = [
    "NUMPY",
    "NUMBA_BLAS",
    "NUMPY_REWRITES",
    "ModeError",
    "check_mode",
    "numpy_mode",
    "register",
    "tutorial_mode",
]

NUMPY = numpy_mode()

#: The tutorials' own modes, by the name PyTensor knows them by once `register` has run.
MODES = {"NUMPY": NUMPY, "NUMBA_BLAS": NUMBA_BLAS}


def register():
    """Name the tutorials' modes (`MODES`) in PyTensor's table of modes; calling it again does nothing.

    A name the user has already given to a mode of their own keeps it.
    """
    for name, mode in MODES.items():
        predefined_modes.setdefault(name, mode)


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
    register()
    mode = NUMPY if pytensor.config.mode == PYTENSOR_DEFAULT else get_mode(pytensor.config.mode)
    check_mode(mode)
    return load_backend(mode)
