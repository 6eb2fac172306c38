"""BLAS ``gemm`` and ``gemv`` called from compiled code, and the BLAS's thread count.

The convolution's kernels (`im2col`) multiply their patch matrices with
BLAS ``gemm`` calls made from Numba-compiled code, without returning to
Python between them; the ``NUMPY`` mode's one-call weight update
(`deeplearning_tutorial.link.numpy.blas`) and the Numba backend's BLAS ops
(`deeplearning_tutorial.link.numba.blas`) call the same functions.  They
call BLAS's Fortran routines (``sgemm``, ``dgemm``, ``sgemv``, ``dgemv``)
directly.

The BLAS called is the OpenBLAS that NumPy's wheels bundle, the one NumPy's
own matrix products use, when it is found: a process then has one BLAS and
one pool of BLAS threads, not NumPy's and SciPy's each busy-waiting for
work.  Otherwise it is SciPy's BLAS, as Numba's ``np.dot`` uses.

Nothing is opened or registered when this module is imported: `load`
finds the BLAS, registers its routines with LLVM under names of our own
(so that compiled code refers to them by name, not by address, and can be
cached on disk) and defines the compiled functions that call them.  It
runs once, on first use; code that calls these functions from compiled
code of its own calls `load` before that code is compiled or loaded.

``b * z + a * dot(x, y)`` in one BLAS call rounds as BLAS rounds it, which
is how Theano computed it: the float64 MLP ends its first epoch within
1e-14 of the historical parameters either way (tests/test_mlp.py).
"""

import contextlib
import contextvars
import ctypes
import dataclasses
import functools
import glob
import os

import llvmlite.binding
import numpy as np
from numba import njit, prange, types
from numba.core.extending import get_cython_function_address

_ROUTINES = ("sgemm", "dgemm", "sgemv", "dgemv")


def _find_blas():
    """Which BLAS to call: (its number, NumPy's integer type for its arguments, address of each routine).

    The number is part of the routines' names in compiled code (and of the
    Numba backend's cache keys): code compiled for one BLAS passes integers
    of that BLAS's width, and must not be loaded from the disk cache for
    another.
    """
    numpy_dir = os.path.dirname(np.__file__)
    # Where NumPy's wheels put their OpenBLAS (Linux, Windows; macOS).
    for pattern in ("../numpy.libs/*scipy_openblas64_*", ".dylibs/*scipy_openblas64_*"):
        for path in glob.glob(os.path.join(numpy_dir, pattern)):
            library = ctypes.CDLL(path)  # already loaded by NumPy: the same copy
            try:
                routines = {name: getattr(library, f"scipy_{name}_64_") for name in _ROUTINES}
            except AttributeError:
                continue
            addresses = {name: ctypes.cast(f, ctypes.c_void_p).value for name, f in routines.items()}
            return 1, np.int64, addresses, _thread_count_functions(library, "64_")
    addresses = {name: get_cython_function_address("scipy.linalg.cython_blas", name) for name in _ROUTINES}
    return 2, np.int32, addresses, _scipy_thread_count_functions()


def _thread_count_functions(library, suffix):
    """OpenBLAS's (get, set) of its number of threads in ``library``, or None."""
    try:
        get = getattr(library, f"scipy_openblas_get_num_threads{suffix}")
        set_ = getattr(library, f"scipy_openblas_set_num_threads{suffix}")
    except AttributeError:
        return None
    get.restype, set_.restype, set_.argtypes = ctypes.c_int, None, [ctypes.c_int]
    return get, set_


def _scipy_thread_count_functions():
    """The thread count functions of the OpenBLAS SciPy's wheels bundle (whose BLAS we then call), or None."""
    import scipy

    scipy_dir = os.path.dirname(scipy.__file__)
    for pattern in ("../scipy.libs/*scipy_openblas-*", ".dylibs/*scipy_openblas.*"):
        for path in glob.glob(os.path.join(scipy_dir, pattern)):
            functions = _thread_count_functions(ctypes.CDLL(path), "")
            if functions is not None:
                return functions
    return None


# The version of the calling code here, part of the Numba backend's cache
# keys for code that calls these functions (`Blas.cache_key`): change it
# when that code, or the routines' names, change.
_CALLING_CODE_VERSION = 4


@dataclasses.dataclass(frozen=True)
class Blas:
    """The BLAS that compiled code calls (`load`)."""

    #: Which BLAS: 1 for NumPy's OpenBLAS, 2 for SciPy's; part of its routines' names in compiled code.
    version: int
    #: NumPy's integer type for the routines' integer arguments.
    int_type: type
    #: Names the BLAS in the disk cache's keys of the compiled functions: its routines and integer width.
    key: str
    #: The Numba backend's cache key for code that calls these functions: which BLAS, and `_CALLING_CODE_VERSION`.
    cache_key: int
    #: OpenBLAS's (get, set) of its number of threads, or None when they cannot be found.
    thread_counts: tuple | None


@functools.cache
def load():
    """Find the BLAS, register its routines with LLVM, and define the compiled functions that call it.

    Returns the `Blas` found.  Once it has run, this module's compiled
    functions (`gemm_into`, `gemm_flat`, ...) are defined; calling it again
    returns the same `Blas` and does nothing else.
    """
    global BLAS_INT, _sgemm, _dgemm, _sgemv, _dgemv
    version, int_type, addresses, thread_counts = _find_blas()
    symbols = {name: f"deeplearning_tutorial_{name}_{version}" for name in _ROUTINES}
    for name, address in addresses.items():
        llvmlite.binding.add_symbol(symbols[name], address)
    BLAS_INT = int_type
    # Fortran calling convention: every argument is a pointer (here an
    # ``array.ctypes``): characters as uint8, integers as BLAS_INT, scalars in the
    # matrices' dtype.
    _sgemm, _dgemm = (
        types.ExternalFunction(symbols[name], types.void(*[types.voidptr] * 13)) for name in _ROUTINES[:2]
    )
    _sgemv, _dgemv = (
        types.ExternalFunction(symbols[name], types.void(*[types.voidptr] * 11)) for name in _ROUTINES[2:]
    )
    key = f"{sorted(symbols.values())} {np.dtype(int_type).name}"
    _blas_calls(key)
    return Blas(version, int_type, key, 100 * _CALLING_CODE_VERSION + version, thread_counts)


_N, _T, _NONE = ord("N"), ord("T"), 0
#: The dtypes BLAS computes in.
BLAS_DTYPES = ("float32", "float64")

# The helpers below do no arithmetic of their own beyond what BLAS does;
# fastmath is off anyway so that ``beta * z`` without products rounds as
# written.


@njit(cache=True)
def _as_column_major(a):
    """How BLAS can read matrix ``a`` in place: (``_N``, ld), or (``_T``, ld) for its transpose.

    ``_N``: ``a`` is column-major with leading dimension ld; ``_T``: ``a`` is
    row-major, i.e. ``a.T`` is column-major.  (``_NONE``, 0) when neither
    holds (broadcast, reversed or doubly strided axes): ``a`` must be copied.
    A length-1 axis may have any stride.
    """
    r, c = a.shape
    s0, s1 = a.strides
    size = a.itemsize
    if (r == 1 or s0 == size) and (c == 1 or (s1 % size == 0 and s1 >= r * size)):
        return _N, max(1, r) if c == 1 else s1 // size
    if (c == 1 or s1 == size) and (r == 1 or (s0 % size == 0 and s0 >= c * size)):
        return _T, max(1, c) if r == 1 else s0 // size
    return _NONE, 0


@njit(cache=True)
def _readable(a):
    """``a`` as BLAS reads it, with its order flag and leading dimension (`_as_column_major`); copied if need be."""
    order, ld = _as_column_major(a)
    if order == _NONE:
        return np.asfortranarray(a), _N, max(1, a.shape[0])
    return a, order, ld


@njit(cache=True)
def _alpha_beta(alpha, beta, dtype):
    """The two scalars of a BLAS call, in the matrices' dtype, where BLAS can point to them."""
    scalars = np.empty(2, dtype)
    scalars[0] = alpha
    scalars[1] = beta
    return scalars


def _blas_calls(blas_key):
    """Define the compiled functions that call BLAS as module globals, cached on disk under ``blas_key``.

    Numba's disk cache knows a function by its source and the values it
    closes over, not by the external routines its code calls: code compiled
    for one BLAS and loaded for another would call routines that are not
    there, or pass integers of the wrong width.  Each function below names
    ``blas_key`` (which BLAS: its routines' names and integer width), so
    each BLAS gets its own cached code.  They call each other through
    module globals: a compiled function closed over would be part of the
    key too, and pickles differently in every process.
    """
    global _gemm_call, _gemm_column_major, gemm_into, gemv_into, gemm_flat, gemm_rows_major, gemm_rows
    global gemm_output, gemm_op, gemm_columns, gemm_column_halves_on_cores, gemm_rows_on_cores

    @njit(cache=True, nogil=True)
    def _gemm_call(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc):
        """BLAS ``gemm`` as Fortran sees it: column-major ``c`` (m x n) = alpha * op(a) @ op(b) + beta * c.

        ``ta``, ``tb``: `_N` or `_T`; each matrix is passed by its first
        element, with its leading dimension.
        """
        blas_key  # noqa: B018 (part of the disk cache's key: see _blas_calls)
        scalars = _alpha_beta(alpha, beta, c.dtype)
        flags = np.empty(2, np.uint8)
        flags[0] = ta
        flags[1] = tb
        sizes = np.empty(6, BLAS_INT)
        sizes[0], sizes[1], sizes[2], sizes[3], sizes[4], sizes[5] = m, n, k, lda, ldb, ldc
        args = (
            flags[0:].ctypes, flags[1:].ctypes, sizes[0:].ctypes, sizes[1:].ctypes, sizes[2:].ctypes,
            scalars[0:].ctypes, a.ctypes, sizes[3:].ctypes, b.ctypes, sizes[4:].ctypes,
            scalars[1:].ctypes, c.ctypes, sizes[5:].ctypes,
        )  # fmt: skip
        if c.itemsize == 4:
            _sgemm(*args)
        else:
            _dgemm(*args)

    @njit(cache=True)
    def _gemm_column_major(c, ldc, alpha, a, b, beta):
        """``c = alpha * a @ b + beta * c`` for a column-major ``c`` (leading dimension ``ldc``), in one BLAS call."""
        blas_key  # noqa: B018 (part of the disk cache's key: see _blas_calls)
        m, n = c.shape
        a, ta, lda = _readable(a)
        b, tb, ldb = _readable(b)
        _gemm_call(ta, tb, m, n, a.shape[1], alpha, a, lda, b, ldb, beta, c, ldc)

    @njit(cache=True)
    def gemm_into(z, alpha, x, y, beta):
        """``z = alpha * x @ y + beta * z`` in place, as BLAS ``gemm`` computes it.

        With ``beta == 0`` the values of ``z`` are not read (not even NaNs), as
        in BLAS and in ``Gemm.perform``.
        """
        blas_key  # noqa: B018 (part of the disk cache's key: see _blas_calls)
        m, n = z.shape
        if x.shape[0] != m or y.shape[1] != n or x.shape[1] != y.shape[0]:
            raise ValueError("gemm: incompatible shapes")
        if m == 0 or n == 0:
            return
        if x.shape[1] == 0:
            # No products to add; BLAS would only scale z.
            if beta == 0:
                z[:] = 0
            else:
                z *= beta
            return
        order, ld = _as_column_major(z)
        if order == _N:
            _gemm_column_major(z, ld, alpha, x, y, beta)
        elif order == _T:
            # z row-major: compute its transpose, z.T = alpha * y.T @ x.T + beta * z.T.
            _gemm_column_major(z.T, ld, alpha, y.T, x.T, beta)
        else:
            work = np.ascontiguousarray(z)
            _gemm_column_major(work.T, n, alpha, y.T, x.T, beta)
            z[:] = work

    @njit(cache=True)
    def gemv_into(y, alpha, A, x, beta, inplace):
        """``beta * y + alpha * A @ x`` in one BLAS call.

        Into ``y`` when ``inplace`` and ``y`` is contiguous, else into a copy.
        """
        blas_key  # noqa: B018 (part of the disk cache's key: see _blas_calls)
        m, n = A.shape
        if y.shape[0] != m or x.shape[0] != n:
            raise ValueError("gemv: incompatible shapes")
        out = y if inplace and y.strides[0] == y.itemsize else y.copy()
        if m == 0:
            return out
        if beta == 0:
            # beta = 0 means y is not read; some BLAS builds still read it.
            out[:] = 0
        if n == 0:
            out *= beta
            return out
        if x.strides[0] != x.itemsize:
            x = x.copy()
        A, order, ld = _readable(A)
        scalars = _alpha_beta(alpha, beta, out.dtype)
        flag = np.empty(1, np.uint8)
        flag[0] = order
        # BLAS sees a row-major A as its transpose, an (n, m) column-major matrix.
        sizes = np.empty(4, BLAS_INT)
        sizes[0], sizes[1], sizes[2], sizes[3] = (m, n, ld, 1) if order == _N else (n, m, ld, 1)
        args = (
            flag.ctypes, sizes[0:].ctypes, sizes[1:].ctypes, scalars[0:].ctypes, A.ctypes, sizes[2:].ctypes,
            x.ctypes, sizes[3:].ctypes, scalars[1:].ctypes, out.ctypes, sizes[3:].ctypes,
        )  # fmt: skip
        if out.itemsize == 4:
            _sgemv(*args)
        else:
            _dgemv(*args)
        return out

    @njit(cache=True, nogil=True)
    def gemm_flat(m, n, k, alpha, x, ldx, transpose_x, y, ldy, transpose_y, beta, z, ldz):
        """``z = alpha * op(x) @ op(y) + beta * z`` in one BLAS call, each matrix row-major from a flat array's start.

        ``z`` is m x n with rows ``ldz`` apart; ``x`` is m x k, or k x m
        transposed (``transpose_x``), with rows ``ldx`` apart; ``y`` likewise.
        Flat arrays and flags, not views, so that it is compiled once per
        dtype: every new combination of array layouts would be compiled anew.
        """
        blas_key  # noqa: B018 (part of the disk cache's key: see _blas_calls)
        if m == 0 or n == 0:
            return
        # Row-major z is column-major z.T = op(y).T @ op(x).T: y comes first.
        ty, tx = _T if transpose_y else _N, _T if transpose_x else _N
        _gemm_call(ty, tx, n, m, k, alpha, y, max(1, ldy), x, max(1, ldx), beta, z, max(1, ldz))

    @njit(cache=True, nogil=True)
    def gemm_rows_major(z, alpha, x, transpose_x, y, transpose_y, beta):
        """``z = alpha * op(x) @ op(y) + beta * z`` for C-contiguous ``z``, ``x`` and ``y``, in one BLAS call.

        op transposes its operand when asked (see `gemm_flat`).
        """
        blas_key  # noqa: B018 (part of the disk cache's key: see _blas_calls)
        m, n = z.shape
        k = x.shape[0] if transpose_x else x.shape[1]
        x_flat, y_flat, z_flat = x.ravel(), y.ravel(), z.ravel()
        gemm_flat(m, n, k, alpha, x_flat, x.shape[1], transpose_x, y_flat, y.shape[1], transpose_y, beta, z_flat, n)

    @njit(cache=True, nogil=True)
    def gemm_rows(z, alpha, x, transpose_x, y, transpose_y, beta, first, stop):
        """`gemm_rows_major` for blocks first:stop of `ROW_BLOCK` rows of ``z``, a BLAS call each (`threads.split`)."""
        blas_key  # noqa: B018 (part of the disk cache's key: see _blas_calls)
        m, n = z.shape
        k = x.shape[0] if transpose_x else x.shape[1]
        x_flat, y_flat, z_flat = x.ravel(), y.ravel(), z.ravel()
        for block in range(first, stop):
            top = block * ROW_BLOCK
            rows = min(ROW_BLOCK, m - top)
            # Row `top` of op(x): row `top` of x, or its column `top`.
            x_start = top if transpose_x else top * x.shape[1]
            gemm_flat(
                rows, n, k, alpha, x_flat[x_start:], x.shape[1], transpose_x,
                y_flat, y.shape[1], transpose_y, beta, z_flat[top * n :], n,
            )  # fmt: skip

    @njit(cache=True, nogil=True)
    def gemm_columns(z, alpha, x, transpose_x, y, transpose_y, beta, first, stop):
        """`gemm_rows_major` for columns first:stop of ``z`` only, in one BLAS call."""
        blas_key  # noqa: B018 (part of the disk cache's key: see _blas_calls)
        m, n = z.shape
        k = x.shape[0] if transpose_x else x.shape[1]
        x_flat, y_flat, z_flat = x.ravel(), y.ravel(), z.ravel()
        # Column `first` of op(y): column `first` of y, or its row `first`.
        y_start = first * y.shape[1] if transpose_y else first
        gemm_flat(
            m, stop - first, k, alpha, x_flat, x.shape[1], transpose_x,
            y_flat[y_start:], y.shape[1], transpose_y, beta, z_flat[first:], n,
        )  # fmt: skip

    @njit(cache=True, nogil=True, parallel=True)
    def gemm_column_halves_on_cores(z, alpha, x, transpose_x, y, transpose_y, beta, cut):
        """`gemm_columns` for columns :cut and cut: of ``z``, on two of Numba's threads."""
        blas_key  # noqa: B018 (part of the disk cache's key: see _blas_calls)
        for half in prange(2):
            first, stop = (0, cut) if half == 0 else (cut, z.shape[1])
            gemm_columns(z, alpha, x, transpose_x, y, transpose_y, beta, first, stop)

    @njit(cache=True, nogil=True, parallel=True)
    def gemm_rows_on_cores(z, alpha, x, transpose_x, y, transpose_y, beta, n_blocks):
        """`gemm_rows` for all ``n_blocks`` blocks of rows, shared out among Numba's threads."""
        blas_key  # noqa: B018 (part of the disk cache's key: see _blas_calls)
        for block in prange(n_blocks):
            gemm_rows(z, alpha, x, transpose_x, y, transpose_y, beta, block, block + 1)

    @njit(cache=True)
    def gemm_output(z, shape, inplace):
        """Where ``Gemm`` writes: ``z`` when ``inplace`` and ``z`` has the product's ``shape``, else a new array.

        A copy of ``z`` broadcast to the product's shape (``Gemm`` allows it),
        or of ``z`` itself for an op that is not in place.
        """
        if z.shape != shape:
            return np.broadcast_to(z, shape).copy()
        return z if inplace else z.copy()

    @njit(cache=True)
    def gemm_op(z, alpha, x, y, beta, inplace):
        """What ``Gemm`` computes, ``beta * z + alpha * x @ y``, in one BLAS call (see `gemm_output`)."""
        blas_key  # noqa: B018 (part of the disk cache's key: see _blas_calls)
        out = gemm_output(z, (x.shape[0], y.shape[1]), inplace)
        gemm_into(out, alpha, x, y, beta)
        return out


# Whether the running code is inside `one_thread`, in this thread.
_inside_one_thread = contextvars.ContextVar("deeplearning_tutorial_inside_one_thread", default=False)


def inside_one_thread():
    """Whether the caller runs inside `one_thread`: code that splits its work across the cores may then do so."""
    return _inside_one_thread.get()


@contextlib.contextmanager
def one_thread():
    """Run the BLAS that compiled code calls on one thread inside the block.

    For code that splits its work across the cores itself (`im2col`): each
    of its threads makes its own BLAS calls, and a BLAS running threads of
    its own beside them would oversubscribe the cores.  Its idle threads
    also busy-wait for a while after each call: BLAS must not have run on
    several threads just before either, which is why the ``NUMPY`` mode's
    virtual machine keeps a whole call on one BLAS thread when it holds
    such code (`deeplearning_tutorial.link.numpy.vm`).  The thread count is
    left alone when it cannot be set; `inside_one_thread` is true in the
    block either way.
    """
    token = _inside_one_thread.set(True)
    try:
        thread_counts = load().thread_counts
        if thread_counts is None:
            yield
            return
        get, set_ = thread_counts
        before = get()
        if before == 1:
            yield
            return
        set_(1)
        try:
            yield
        finally:
            set_(before)
    finally:
        _inside_one_thread.reset(token)


# Rows of a product per BLAS call in `gemm_rows`: fixed, so that the calls,
# and the results, do not depend on how many cores share the rows.
ROW_BLOCK = 128

# Where `gemm_columns` may cut a product's columns: at a multiple of this
# many.  BLAS computes the last few columns of a call (those past its
# kernel's width) with other code; cut there, float64 blocks would part
# from the single call in a value or two.
COLUMN_ALIGN = 32
