"""Numba implementations of PyTensor's BLAS ops: ``Dot22``, ``Dot22Scalar``, ``Gemm``, ``Gemv``.

PyTensor's own Numba backend never meets these ops: it leaves out the
rewrites that create them (``BlasOpt``).  The linker of
``NUMBA_BLAS`` (`deeplearning_tutorial.link.numba.mode`) keeps those rewrites, as Theano did,
so that an SGD step ``W - lr * (dot + c * W)`` becomes one ``gemm``,
``(1 - lr * c) * W - lr * dot``: rounded as Theano rounded it, and computed
in place, in one BLAS call that reads and writes ``W`` once.

Each op computes ``Gemm`` ``b * z + a * dot(x, y)``, ``Gemv`` ``beta * y +
alpha * dot(A, x)``, ``Dot22Scalar`` ``a * dot(x, y)`` in one BLAS call, as
Theano's C implementations did, through the functions of
`deeplearning_tutorial.ops.blas_kernels` that the ``NUMPY`` mode's
`deeplearning_tutorial.link.numpy.blas.BlasGemm` calls too (float32 and
float64; other dtypes keep PyTensor's object-mode fallback).  ``Ger`` is
left to the fallback: the tutorials' graphs do not use it.
"""

import numpy as np
from pytensor.link.numba.dispatch.basic import (
    generate_fallback_impl,
    numba_njit,
    register_funcify_default_op_cache_key,
)
from pytensor.tensor.blas import Dot22, Dot22Scalar, Gemm, Gemv

from deeplearning_tutorial.ops import blas_kernels
from deeplearning_tutorial.ops.blas_kernels import BLAS_DTYPES


def _blas_dtypes(node):
    return all(getattr(v.type, "dtype", None) in BLAS_DTYPES for v in node.inputs + node.outputs)


def _cache_key():
    """The cache key of code that calls BLAS, once the BLAS is loaded: the compiled code below calls its functions."""
    return blas_kernels.load().cache_key


@register_funcify_default_op_cache_key(Dot22)
def numba_funcify_Dot22(op, node, **kwargs):
    if not _blas_dtypes(node):
        return generate_fallback_impl(op, node, **kwargs)

    @numba_njit(fastmath=False)
    def dot22(x, y):
        out = np.empty((x.shape[0], y.shape[1]), x.dtype)
        blas_kernels.gemm_into(out, 1.0, x, y, 0.0)
        return out

    return dot22, _cache_key()


@register_funcify_default_op_cache_key(Dot22Scalar)
def numba_funcify_Dot22Scalar(op, node, **kwargs):
    if not _blas_dtypes(node):
        return generate_fallback_impl(op, node, **kwargs)

    @numba_njit(fastmath=False)
    def dot22scalar(x, y, a):
        out = np.empty((x.shape[0], y.shape[1]), x.dtype)
        blas_kernels.gemm_into(out, a[()], x, y, 0.0)
        return out

    return dot22scalar, _cache_key()


@register_funcify_default_op_cache_key(Gemm)
def numba_funcify_Gemm(op, node, **kwargs):
    if not _blas_dtypes(node):
        return generate_fallback_impl(op, node, **kwargs)
    inplace = op.inplace

    @numba_njit(fastmath=False)
    def gemm(z, a, x, y, b):
        return blas_kernels.gemm_op(z, a[()], x, y, b[()], inplace)

    return gemm, _cache_key()


@register_funcify_default_op_cache_key(Gemv)
def numba_funcify_Gemv(op, node, **kwargs):
    if not _blas_dtypes(node):
        return generate_fallback_impl(op, node, **kwargs)
    inplace = op.inplace

    @numba_njit(fastmath=False)
    def gemv(y, alpha, A, x, beta):
        return blas_kernels.gemv_into(y, alpha[()], A, x, beta[()], inplace)

    return gemv, _cache_key()
