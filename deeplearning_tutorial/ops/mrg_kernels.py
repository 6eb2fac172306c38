"""Compiled loops of `deeplearning_tutorial.ops.rng_mrg`: the MRG31k3p draw, and the float32 fused multiply-add.

`rng_mrg.mrg_draw`, the NumPy reference, advances all substreams
together, each round several whole-array passes (products, remainders, a
``where``) over int64 temporaries.  Here each substream is advanced in
registers, one value after another, and each value converted as it is
made: the same integer recurrence and the same conversion to float, so
the same bits (tests/ops/test_rng_mrg.py holds them to the reference and
to Theano's draws).  The substreams are independent: a large draw may
give each half of them to one of two threads.

`rng_mrg._fused_float32` (``MulAdd`` in float32, which HMC's leap-frog
steps use on arrays of a few values) takes about ten NumPy calls;
`fused_float32` makes the same float64 operations on each element in one
loop.  In float64 (``MulAdd`` in float64, and Theano's contracted updates of
`deeplearning_tutorial.link.numpy.contraction`), `fused_float64` rounds each
``a * b + c`` once with LLVM's ``fma``, which the compiler emits as the
machine's instruction or, without one, as the C library's ``fma``.

Compiled by Numba and cached on disk (``cache=True``): only the first run
on a machine compiles them, once per dtype.
"""

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic

from deeplearning_tutorial.ops import threads

# The moduli of `rng_mrg` (M1 = 2**31 - 1, M2 = 2**31 - 21069), repeated so that
# this module needs nothing from the op's; a test checks that they agree.
_M1 = 2147483647
_M2 = 2147462579

# Values from which a draw may go to two threads (`threads.on_team_if_faster`):
# a minibatch of 10 samples of 1 000 units takes some 0.1 ms on one.
_ON_CORES_MIN_SIZE = 4096


@njit(cache=True, inline="always")
def _mod_m1(v):
    """``v % M1`` for ``0 <= v < 2**62``, without a division: 2**31 is 1 modulo M1."""
    r = (v & 0x7FFFFFFF) + (v >> 31)  # below 2**31 + 2**31
    r = (r & 0x7FFFFFFF) + (r >> 31)  # below 2**31 + 1
    return r - _M1 if r >= _M1 else r


@njit(cache=True, inline="always")
def _mod_m2(v):
    """``v % M2`` for ``0 <= v < 2**54``, without a division: 2**31 is 21069 modulo M2."""
    r = (v & 0x7FFFFFFF) + (v >> 31) * 21069  # below 2**31 + 2**37.4
    r = (r & 0x7FFFFFFF) + (r >> 31) * 21069  # below 2**31 + 2**21.4, less than 2 * M2
    return r - _M2 if r >= _M2 else r


@njit(cache=True, nogil=True)
def draw_into(state, new_state, values, scale):
    """Fill ``values`` (flat) from the (n_streams, 6) int32 ``state``, writing the states reached to ``new_state``.

    Value ``i`` comes from substream ``i mod n_streams``; a substream that
    gives no value keeps its state.  Each integer ``k`` in [1, M1] becomes
    the float ``k`` (in the values' dtype) times ``scale`` (in that dtype
    too): one rounding each, as the reference's ``astype`` and product.
    """
    _draw_streams(state, new_state, values, scale, 0, state.shape[0])


@njit(cache=True, nogil=True, parallel=True)
def _draw_into_on_cores(state, new_state, values, scale):
    """`draw_into` on two of Numba's threads: half of the values from each (and the states of their substreams)."""
    half = min(state.shape[0], values.shape[0]) // 2
    for part in prange(2):
        first, stop = (0, half) if part == 0 else (half, state.shape[0])
        _draw_streams(state, new_state, values, scale, first, stop)


@njit(cache=True, nogil=True)
def _draw_streams(state, new_state, values, scale, first, stop):
    """`draw_into` for substreams first:stop only: their values and their new states."""
    n_streams = state.shape[0]
    n = values.shape[0]
    for j in range(first, stop):
        x11, x12, x13 = np.int64(state[j, 0]), np.int64(state[j, 1]), np.int64(state[j, 2])
        x21, x22, x23 = np.int64(state[j, 3]), np.int64(state[j, 4]), np.int64(state[j, 5])
        i = j
        while i < n:  # (a range with a step would divide once per substream)
            # in int64, each sum is below 2**54: no overflow
            y1 = _mod_m1(x12 * 4194304 + x13 * 129)
            y2 = _mod_m2(x21 * 32768 + x23 * 32769)
            x13, x12, x11 = x12, x11, y1
            x23, x22, x21 = x22, x21, y2
            d = y1 - y2
            if d <= 0:
                d += _M1
            values[i] = d
            values[i] *= scale
            i += n_streams
        # every state value is below 2**31: it fits the int32 it came from
        new_state[j, 0], new_state[j, 1], new_state[j, 2] = x11, x12, x13
        new_state[j, 3], new_state[j, 4], new_state[j, 5] = x21, x22, x23


def mrg_draw(rstate, n_elements, dtype, scale):
    """What `rng_mrg.mrg_draw` returns, (new int32 state, ``n_elements`` values), computed by one compiled loop.

    ``dtype`` is float32 or float64 and ``scale`` the factor from an
    integer to (0, 1) in that dtype (`rng_mrg.NORM32`, `rng_mrg.NORM64`).
    """
    dtype = np.dtype(dtype)
    state = np.ascontiguousarray(rstate, dtype=np.int32)
    if state.ndim != 2 or state.shape[1] != 6 or state.shape[0] == 0:
        raise ValueError("an MRG state is an (n_streams, 6) array, got shape %s" % (state.shape,))
    new_state = np.empty_like(state)
    values = np.empty(n_elements, dtype=dtype)
    scale = dtype.type(scale)
    if n_elements >= _ON_CORES_MIN_SIZE and len(state) > 1:
        threads.on_team_if_faster(
            ("mrg draw", dtype.char, n_elements, len(state)),
            lambda: _draw_into_on_cores(state, new_state, values, scale),
            lambda: draw_into(state, new_state, values, scale),
        )
    else:
        draw_into(state, new_state, values, scale)
    return new_state, values


@njit(cache=True, nogil=True)
def _fused_float32_loop(a, step_a, b, step_b, c, step_c, out):
    """`rng_mrg._fused_float32` element by element over flat float32 arrays, into ``out``.

    Element ``i`` of ``out`` takes ``a[i * step_a]`` and so on: a step of 0
    repeats a single value.  The same float64 operations in the same order
    as the reference, so the same bits, the odd cases (infinities, NaNs)
    included.
    """
    word = np.empty(1, np.float64)
    bits = word.view(np.int64)
    for i in range(out.size):
        p = np.float64(a[i * step_a]) * np.float64(b[i * step_b])
        addend = np.float64(c[i * step_c])
        s = p + addend
        bv = s - p
        err = (p - (s - bv)) + (addend - bv)
        word[0] = s
        if err != 0 and (bits[0] & 1) == 0:
            # an inexact even sum: one ulp toward the exact value, which makes it odd
            bits[0] += 1 if (err > 0) == (s > 0) else -1
        out[i] = np.float32(word[0])


def _flat(x, shape, dtype=np.float32):
    """``x`` broadcast to ``shape`` as (a flat array of ``dtype``, its step): step 0 for a single value."""
    if x.size == 1:
        return np.ascontiguousarray(x, dtype=dtype).reshape(1), 0
    if x.shape != shape:
        x = np.broadcast_to(x, shape)
    return np.ascontiguousarray(x, dtype=dtype).reshape(-1), 1


def _fused(loop, dtype, a, b, c):
    """``loop`` over ``a``, ``b`` and ``c`` broadcast together, each flat in ``dtype``, into a new array."""
    a, b, c = (np.asarray(v) for v in (a, b, c))
    shape = np.broadcast_shapes(a.shape, b.shape, c.shape)
    out = np.empty(shape, dtype)
    if out.size:
        loop(*_flat(a, shape, dtype), *_flat(b, shape, dtype), *_flat(c, shape, dtype), out.reshape(-1))
    return out


def fused_float32(a, b, c):
    """float32 ``a * b + c`` (broadcast) rounded once, as `rng_mrg._fused_float32` computes it, in one loop."""
    return _fused(_fused_float32_loop, np.float32, a, b, c)


@intrinsic
def _fma64(typingctx, a, b, c):
    """float64 ``a * b + c`` rounded once (LLVM's ``llvm.fma.f64``; never split into two roundings)."""
    signature = types.float64(types.float64, types.float64, types.float64)

    def codegen(context, builder, sig, args):
        double = ir.DoubleType()
        fma = builder.module.declare_intrinsic("llvm.fma", [double], ir.FunctionType(double, [double] * 3))
        return builder.call(fma, args)

    return signature, codegen


@njit(cache=True, nogil=True)
def _fused_float64_loop(a, step_a, b, step_b, c, step_c, out):
    """float64 ``out[i] = a[i * step_a] * b[i * step_b] + c[i * step_c]``, each rounded once."""
    for i in range(out.size):
        out[i] = _fma64(a[i * step_a], b[i * step_b], c[i * step_c])


def fused_float64(a, b, c):
    """float64 ``a * b + c`` (broadcast) rounded once, in one loop."""
    return _fused(_fused_float64_loop, np.float64, a, b, c)
