"""Numba implementations of PyTensor's BLAS ops: ``Dot22``, ``Dot22Scalar``, ``Gemm``, ``Gemv``.

PyTensor's own Numba backend never meets these ops: it leaves out the
rewrites that create them (``BlasOpt``).  The linker of
`deeplearning_tutorial.link.numba_blas` keeps those rewrites, as Theano did,
so that an SGD step ``W - lr * (dot + c * W)`` becomes one ``gemm``,
``(1 - lr * c) * W - lr * dot``: rounded as Theano rounded it, and computed
in place, in one BLAS call that reads and writes ``W`` once.

The ops call BLAS's Fortran routines (``sgemm``, ``dgemm``, ``sgemv``,
``dgemv``) directly.  They call the OpenBLAS that NumPy's wheels bundle, the
one NumPy's own matrix products use, when it is found: a process then has
one BLAS and one pool of BLAS threads, not NumPy's and SciPy's each
busy-waiting for work, and this OpenBLAS is the faster of the two here on
small float32 products (0.33 ms against 0.46 ms for a 20x784 by 784x500
product).  Otherwise they call SciPy's BLAS, as Numba's ``np.dot`` does.
The routines are registered with LLVM under names of our own, so compiled
code refers to them by name, not by address, and can be cached on disk.

Each op computes what its ``perform`` computes, ``Gemm`` ``b * z + a *
dot(x, y)``, ``Gemv`` ``beta * y + alpha * dot(A, x)``, ``Dot22Scalar`` ``a *
dot(x, y)``, in one BLAS call, as Theano's C implementations did (float32
and float64; other dtypes keep PyTensor's object-mode fallback).
``Gemm.perform`` instead scales ``z`` and adds ``a * dot(x, y)`` in separate
NumPy passes, which can round differently in the last place.  ``Ger`` is
left to the fallback: the tutorials' graphs do not use it.
"""

import ctypes
import glob
import os

import llvmlite.binding
import numpy as np
from numba import types
from numba.core.extending import get_cython_function_address
from pytensor.link.numba.dispatch.basic import (
    generate_fallback_impl,
    numba_njit,
    register_funcify_default_op_cache_key,
)
from pytensor.tensor.blas import Dot22, Dot22Scalar, Gemm, Gemv

_ROUTINES = ("sgemm", "dgemm", "sgemv", "dgemv")


def _find_blas():
    """Which BLAS to call: (its number, NumPy's integer type for its arguments, address of each routine).

    The number is part of the compiled ops' cache keys: code compiled for
    one BLAS passes integers of that BLAS's width.
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
            return 1, np.int64, {name: ctypes.cast(f, ctypes.c_void_p).value for name, f in routines.items()}
    return 2, np.int32, {name: get_cython_function_address("scipy.linalg.cython_blas", name) for name in _ROUTINES}


_BLAS_VERSION, _INT, _addresses = _find_blas()
for _name, _address in _addresses.items():
    llvmlite.binding.add_symbol(f"deeplearning_tutorial_{_name}", _address)

# Fortran calling convention: every argument is a pointer (here an
# ``array.ctypes``): characters as uint8, integers as _INT, scalars in the
# matrices' dtype.
_sgemm, _dgemm = (
    types.ExternalFunction(f"deeplearning_tutorial_{name}", types.void(*[types.voidptr] * 13)) for name in _ROUTINES[:2]
)
_sgemv, _dgemv = (
    types.ExternalFunction(f"deeplearning_tutorial_{name}", types.void(*[types.voidptr] * 11)) for name in _ROUTINES[2:]
)

_N, _T, _NONE = ord("N"), ord("T"), 0
_BLAS_DTYPES = ("float32", "float64")

# The helpers below do no arithmetic of their own beyond what BLAS does;
# fastmath is off anyway so that ``beta * z`` without products rounds as
# written.


@numba_njit(fastmath=False)
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


@numba_njit(fastmath=False)
def _gemm_column_major(c, ldc, alpha, a, b, beta):
    """``c = alpha * a @ b + beta * c`` for a column-major ``c`` (leading dimension ``ldc``), in one BLAS call."""
    m, n = c.shape
    k = a.shape[1]
    ta, lda = _as_column_major(a)
    if ta == _NONE:
        a = np.asfortranarray(a)
        ta, lda = _N, max(1, m)
    tb, ldb = _as_column_major(b)
    if tb == _NONE:
        b = np.asfortranarray(b)
        tb, ldb = _N, max(1, k)
    scalars = np.empty(2, c.dtype)
    scalars[0] = alpha
    scalars[1] = beta
    flags = np.empty(2, np.uint8)
    flags[0] = ta
    flags[1] = tb
    sizes = np.empty(6, _INT)
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


@numba_njit(fastmath=False)
def gemm_into(z, alpha, x, y, beta):
    """``z = alpha * x @ y + beta * z`` in place, as BLAS ``gemm`` computes it.

    With ``beta == 0`` the values of ``z`` are not read (not even NaNs), as
    in BLAS and in ``Gemm.perform``.
    """
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


def _blas_dtypes(node):
    return all(getattr(v.type, "dtype", None) in _BLAS_DTYPES for v in node.inputs + node.outputs)


@register_funcify_default_op_cache_key(Dot22)
def numba_funcify_Dot22(op, node, **kwargs):
    if not _blas_dtypes(node):
        return generate_fallback_impl(op, node, **kwargs)

    @numba_njit(fastmath=False)
    def dot22(x, y):
        out = np.empty((x.shape[0], y.shape[1]), x.dtype)
        gemm_into(out, 1.0, x, y, 0.0)
        return out

    return dot22, _BLAS_VERSION


@register_funcify_default_op_cache_key(Dot22Scalar)
def numba_funcify_Dot22Scalar(op, node, **kwargs):
    if not _blas_dtypes(node):
        return generate_fallback_impl(op, node, **kwargs)

    @numba_njit(fastmath=False)
    def dot22scalar(x, y, a):
        out = np.empty((x.shape[0], y.shape[1]), x.dtype)
        gemm_into(out, a[()], x, y, 0.0)
        return out

    return dot22scalar, _BLAS_VERSION


@register_funcify_default_op_cache_key(Gemm)
def numba_funcify_Gemm(op, node, **kwargs):
    if not _blas_dtypes(node):
        return generate_fallback_impl(op, node, **kwargs)
    inplace = op.inplace

    @numba_njit(fastmath=False)
    def gemm(z, a, x, y, b):
        shape = (x.shape[0], y.shape[1])
        if z.shape != shape:
            # z broadcasts against the product (Gemm allows it): a new array.
            out = np.broadcast_to(z, shape).copy()
        elif inplace:
            out = z
        else:
            out = z.copy()
        gemm_into(out, a[()], x, y, b[()])
        return out

    return gemm, _BLAS_VERSION


@register_funcify_default_op_cache_key(Gemv)
def numba_funcify_Gemv(op, node, **kwargs):
    if not _blas_dtypes(node):
        return generate_fallback_impl(op, node, **kwargs)
    inplace = op.inplace

    @numba_njit(fastmath=False)
    def gemv(y, alpha, A, x, beta):
        m, n = A.shape
        if y.shape[0] != m or x.shape[0] != n:
            raise ValueError("gemv: incompatible shapes")
        out = y if inplace and y.strides[0] == y.itemsize else y.copy()
        if m == 0:
            return out
        if beta[()] == 0:
            # beta = 0 means y is not read; some BLAS builds still read it.
            out[:] = 0
        if n == 0:
            out *= beta[()]
            return out
        if x.strides[0] != x.itemsize:
            x = x.copy()
        order, ld = _as_column_major(A)
        if order == _NONE:
            A = np.asfortranarray(A)
            order, ld = _N, max(1, m)
        scalars = np.empty(2, out.dtype)
        scalars[0] = alpha[()]
        scalars[1] = beta[()]
        flag = np.empty(1, np.uint8)
        flag[0] = order
        # BLAS sees a row-major A as its transpose, an (n, m) column-major matrix.
        sizes = np.empty(4, _INT)
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

    return gemv, _BLAS_VERSION
