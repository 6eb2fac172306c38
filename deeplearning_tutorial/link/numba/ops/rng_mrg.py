"""Numba implementations of `deeplearning_tutorial.ops.rng_mrg`: the MRG draw, Box-Muller and the fused multiply-add.

Each compiles to nopython code that gives the bits of the op's NumPy
``perform`` (the reference; tests/link/numba/ops/test_rng_mrg.py):

- `MRGUniform` runs the MRG31k3p recurrence one substream at a time (the
  reference advances all substreams together, one round at a time: value
  ``i`` is the ``i // n_streams``-th output of substream ``i mod n_streams``
  either way), in int64, and scales each output as the reference does:
  float32 ``k`` times `NORM32` in float32, float64 ``k * 2**-31``.
- `BoxMuller` and `MulAdd` call the same C library functions the reference
  calls through ``ctypes``: ``log``, ``cos``, ``sin`` (``logf``, ``cosf``,
  ``sinf`` in float32) and ``fma``/``fmaf``, both of which round
  ``a * b + c`` once, as C99 requires.  The functions are bound by name to
  the addresses ``ctypes`` finds (`libm`), so the compiled code calls
  exactly those, and can be cached on disk.
"""

import ctypes

import llvmlite.binding
import numba
import numpy as np
from numba import types
from numba.np.unsafe.ndarray import to_fixed_tuple
from pytensor.link.numba.dispatch.basic import numba_njit, register_funcify_default_op_cache_key

from deeplearning_tutorial.ops.mrg_kernels import draw_into
from deeplearning_tutorial.ops.rng_mrg import M1, NORM32, NORM64, BoxMuller, MRGUniform, MulAdd, c_math_library

#: Change it when the compiled code below changes, for the disk cache.
VERSION = 2

#: The C library's functions the compiled code calls, with their Numba signatures.
_LIBM_SIGNATURES = {
    "log": types.float64(types.float64),
    "cos": types.float64(types.float64),
    "sin": types.float64(types.float64),
    "fma": types.float64(types.float64, types.float64, types.float64),
    "logf": types.float32(types.float32),
    "cosf": types.float32(types.float32),
    "sinf": types.float32(types.float32),
    "fmaf": types.float32(types.float32, types.float32, types.float32),
}


def libm():
    """The C library's functions of `_LIBM_SIGNATURES` as Numba external functions, by name.

    Each name is bound to the address of the function ``ctypes`` loads, the
    one the NumPy reference calls, so the JIT links that function.
    """
    library = c_math_library()
    functions = {}
    for name, signature in _LIBM_SIGNATURES.items():
        llvmlite.binding.add_symbol(name, ctypes.cast(getattr(library, name), ctypes.c_void_p).value)
        functions[name] = types.ExternalFunction(name, signature)
    return functions


_LIBM = libm()
_log, _cos, _sin, _fma = (_LIBM[name] for name in ("log", "cos", "sin", "fma"))
_logf, _cosf, _sinf, _fmaf = (_LIBM[name] for name in ("logf", "cosf", "sinf", "fmaf"))


# -- MRG31k3p ------------------------------------------------------------------------


@register_funcify_default_op_cache_key(MRGUniform)
def numba_funcify_MRGUniform(op, node, **kwargs):
    ndim = op.ndim
    dtype = np.dtype(op.dtype)
    norm = NORM32 if op.dtype == "float32" else np.float64(NORM64)

    @numba_njit
    def mrg_uniform(rstate, size):
        shape = to_fixed_tuple(size, ndim)
        n_elements = 1
        for s in shape:
            if s < 0:
                raise ValueError("a random draw cannot have a negative size")
            n_elements *= s
        if n_elements > M1:
            raise ValueError("an MRG draw has at most 2**31 - 1 values")
        values = np.empty(n_elements, dtype=dtype)
        new_state = np.empty((rstate.shape[0], 6), dtype=np.int32)
        # the compiled loop the op's perform runs (ops/mrg_kernels.py), called from this compiled graph
        draw_into(rstate, new_state, values, norm)
        return new_state, values.reshape(shape)

    return mrg_uniform, VERSION


# -- Box-Muller ----------------------------------------------------------------------


@numba.njit(cache=True, nogil=True)
def box_muller64(u):
    """The reference's float64 Box-Muller: radii from the first half of ``u``, angles from the second."""
    half = u.shape[0] // 2
    out = np.empty_like(u)
    for i in range(half):
        radius = np.sqrt(-2.0 * _log(u[i]))
        angle = 2.0 * np.pi * u[half + i]
        out[i] = radius * _cos(angle)
        out[half + i] = radius * _sin(angle)
    return out


@numba.njit(cache=True, nogil=True)
def box_muller32(u):
    """The reference's float32 Box-Muller: float32 operations and ``logf``, ``cosf``, ``sinf``."""
    half = u.shape[0] // 2
    out = np.empty_like(u)
    minus_two, two_pi = np.float32(-2.0), np.float32(2.0 * np.pi)
    for i in range(half):
        radius = np.sqrt(minus_two * _logf(u[i]))
        angle = two_pi * u[half + i]
        out[i] = radius * _cosf(angle)
        out[half + i] = radius * _sinf(angle)
    return out


@register_funcify_default_op_cache_key(BoxMuller)
def numba_funcify_BoxMuller(op, node, **kwargs):
    kernel = box_muller32 if op.dtype == "float32" else box_muller64

    @numba_njit
    def box_muller(u):
        if u.shape[0] % 2:
            raise ValueError("Box-Muller needs an even number of uniforms")
        return kernel(u)

    return box_muller, VERSION


# -- fused multiply-add --------------------------------------------------------------


@numba.njit(cache=True, nogil=True)
def fma64(a, b, c):
    return _fma(a, b, c)


@numba.njit(cache=True, nogil=True)
def fma32(a, b, c):
    return _fmaf(a, b, c)


@register_funcify_default_op_cache_key(MulAdd)
def numba_funcify_MulAdd(op, node, **kwargs):
    dtype = np.dtype(op.dtype)
    fma = fma32 if op.dtype == "float32" else fma64

    if node.outputs[0].type.ndim == 0:
        # Numba's broadcast_arrays takes no 0-d arrays

        @numba_njit
        def mul_add(a, b, c):
            out = np.empty((), dtype=dtype)
            out[()] = fma(a[()], b[()], c[()])
            return out

    else:

        @numba_njit
        def mul_add(a, b, c):
            a, b, c = np.broadcast_arrays(a, b, c)
            out = np.empty(a.shape, dtype=dtype)
            for index in np.ndindex(a.shape):
                out[index] = fma(a[index], b[index], c[index])
            return out

    return mul_add, VERSION
