"""Theano's MRG31k3p random streams (``MRG_RandomStreams``) for PyTensor.

From the denoising autoencoders on, the historical tutorials draw their
random numbers inside the graph with ``theano.sandbox.rng_mrg``: corruption
masks, binary hidden and visible samples, Gaussian momenta.  PyTensor 3 has
no such generator (its ``RandomStream`` draws from NumPy Generators, which
give other numbers), so this module supplies one that draws exactly what
Theano 1.0.5 drew, bit for bit, in float64 and float32.

The generator
-------------
MRG31k3p (L'Ecuyer and Touzin, 2000) combines two multiple recursive
generators of order 3.  A state is six integers: three below
``M1 = 2**31 - 1`` and three below ``M2 = 2**31 - 21069``.  One step is

    x1[n] = (2**22 * x1[n-2] + (2**7 + 1) * x1[n-3])  mod M1
    x2[n] = (2**15 * x2[n-1] + (2**15 + 1) * x2[n-3]) mod M2

and the output is ``(x1[n] - x2[n]) mod M1`` (``M1`` where that is 0), times
``2**-31``.  Each step is a 3x3 matrix product modulo ``M1`` and ``M2``, so
jumping ``2**k`` steps ahead is a product with the matrix raised to the
``2**k``-th power (computed here once, by repeated squaring, with Python's
exact integers).

How Theano used it (and this module does)
-----------------------------------------
- ``MRG_RandomStreams(seed)`` holds a base state: six copies of an integer
  seed, or six given integers.
- Every ``uniform`` call made while the graph is built takes ``nstreams``
  substreams: the base state, then each 2**72 steps after the previous one.
  The base state then jumps 2**134 steps, ready for the next call.  Streams
  are thus handed out in graph-build order, and a draw that the compiled
  function leaves out has still taken its streams.
- Without ``nstreams``, `guess_n_streams` picks it from the size: a sixth of
  the number of values when the size is a tuple of integers (all of them when
  there are at most six), capped at 15 360; 15 360 when the size is symbolic.
- Value ``i`` of a draw comes from substream ``i mod nstreams``; the
  substreams' states are a shared variable whose ``default_update`` is the
  advanced state, so each call of a compiled function draws new numbers.
- float64 values are ``k * 2**-31`` exactly.  float32 values are the float32
  nearest ``k`` times the float32 nearest ``4.6566126e-10`` (just below
  ``2**-31``), rounded to float32, so that they stay below 1.
- ``binomial`` (``n=1`` only) is ``uniform < p``; ``normal`` draws an even
  number of uniforms and applies Box-Muller to its two halves.

`mrg_draw` is the NumPy reference: every substream advances in lockstep,
one vectorised step for all of them at a time.  The op's ``perform`` calls
its compiled twin (`deeplearning_tutorial.ops.mrg_kernels`), which makes
the same integers and floats in one loop.  Nothing here imports a backend.
"""

import ctypes
import ctypes.util
import functools
import math
import warnings
from fractions import Fraction

import numpy
import pytensor
import pytensor.tensor as pt
from pytensor import config
from pytensor.gradient import grad_undefined, undefined_grad
from pytensor.graph.basic import Apply, Variable
from pytensor.graph.op import Op
from pytensor.scalar import upcast
from pytensor.tensor.shape import get_vector_length
from pytensor.tensor.type import TensorType

from deeplearning_tutorial.ops import mrg_kernels

__all__ = ["MRG_RandomStream", "MRG_RandomStreams", "MRGUniform", "BoxMuller", "MulAdd", "guess_n_streams", "M1", "M2"]

M1 = 2**31 - 1
M2 = 2**31 - 21069
#: The one-step transition matrices of the two components.
A1 = ((0, 2**22, 2**7 + 1), (1, 0, 0), (0, 1, 0))
A2 = ((2**15, 0, 2**15 + 1), (1, 0, 0), (0, 1, 0))
#: Most substreams a draw takes when no ``nstreams`` is given.
MAX_STREAMS = 60 * 256
#: float32 factor from an integer in [1, M1] to (0, 1): the float32 nearest 4.6566126e-10, just below 2**-31.
NORM32 = numpy.float32(4.6566126e-10)
NORM64 = 2.0**-31


def _matmul_mod(a, b, m):
    return tuple(tuple(sum(a[i][k] * b[k][j] for k in range(3)) % m for j in range(3)) for i in range(3))


def _jump(a, m, log2_steps):
    """The transition matrix ``a`` raised to the power ``2**log2_steps``, modulo ``m``."""
    for _ in range(log2_steps):
        a = _matmul_mod(a, a, m)
    return a


def _apply(a1, a2, states):
    """Advance each row of an (n, 6) int64 array of states by the matrices ``a1`` (first half) and ``a2``."""
    out = numpy.empty_like(states)
    for half, a, m in ((0, a1, M1), (3, a2, M2)):
        s = states[:, half : half + 3]
        for i in range(3):
            # each product is below 2**62 and each term below m: no int64 overflow
            acc = (a[i][0] * s[:, 0]) % m + (a[i][1] * s[:, 1]) % m + (a[i][2] * s[:, 2]) % m
            out[:, half + i] = acc % m
    return out


_SUBSTREAM_JUMPS = (_jump(A1, M1, 72), _jump(A2, M2, 72))
_STREAM_JUMP = (_jump(A1, M1, 134), _jump(A2, M2, 134))


def substream_states(base, n_streams):
    """(n_streams, 6) int32 states: ``base``, then each 2**72 steps after the previous one.

    Built by doubling: the states ``k .. 2k-1`` are the first ``k`` states
    advanced ``k * 2**72`` steps, one vectorised product per doubling.
    """
    if not 0 < n_streams < 2**72:
        raise ValueError("the number of streams must be positive, got %r" % (n_streams,))
    states = numpy.empty((n_streams, 6), dtype=numpy.int64)
    states[0] = base
    a1, a2 = _SUBSTREAM_JUMPS
    have = 1
    while have < n_streams:
        take = min(have, n_streams - have)
        states[have : have + take] = _apply(a1, a2, states[:take])
        a1, a2 = _matmul_mod(a1, a1, M1), _matmul_mod(a2, a2, M2)
        have += take
    return states.astype(numpy.int32)


def next_stream_state(base):
    """The base state 2**134 steps ahead: where the next draw's substreams start."""
    a1, a2 = _STREAM_JUMP
    return _apply(a1, a2, numpy.asarray(base, dtype=numpy.int64).reshape(1, 6))[0].astype(numpy.int32)


def mrg_draw(rstate, n_elements, dtype):
    """Draw ``n_elements`` uniforms in (0, 1) from the (n_streams, 6) states; return (new state, values).

    Value ``i`` comes from substream ``i mod n_streams``; all substreams
    advance together, one step per round, the last round using only as
    many as it needs.
    """
    rstate = numpy.asarray(rstate)
    n_streams = rstate.shape[0]
    x = rstate.astype(numpy.int64).T.copy()  # six rows of n_streams values
    diffs = numpy.empty(n_elements, dtype=numpy.int64)
    for start in range(0, n_elements, n_streams):
        k = min(n_streams, n_elements - start)
        x11, x12, x13, x21, x22, x23 = (row[:k] for row in x)
        y1 = (x12 * (2**22) + x13 * (2**7 + 1)) % M1
        y2 = (x21 * (2**15) + x23 * (2**15 + 1)) % M2
        # shift each component's history by one (the right-hand sides are read first)
        x[2, :k], x[1, :k], x[0, :k] = x12, x11, y1
        x[5, :k], x[4, :k], x[3, :k] = x22, x21, y2
        d = y1 - y2
        diffs[start : start + k] = numpy.where(d <= 0, d + M1, d)
    if numpy.dtype(dtype) == numpy.float32:
        values = diffs.astype(numpy.float32) * NORM32
    elif numpy.dtype(dtype) == numpy.float64:
        values = diffs * NORM64
    else:
        raise TypeError("MRG uniform draws are float32 or float64, not %s" % (dtype,))
    return x.T.astype(numpy.int32), values


class MRGUniform(Op):
    """Uniform values in (0, 1) from MRG31k3p substreams: (state, size) -> (new state, values).

    The state is an (n_streams, 6) int32 matrix, the size an integer vector
    of length ``ndim``; the values have the given float dtype.  Use it
    through `MRG_RandomStream`, which sets up the substreams and the state's
    update.
    """

    __props__ = ("dtype", "ndim")

    def __init__(self, dtype, ndim):
        if dtype not in ("float32", "float64"):
            raise TypeError("MRG uniform draws are float32 or float64, not %s" % (dtype,))
        self.dtype = dtype
        self.ndim = int(ndim)
        super().__init__()

    def make_node(self, rstate, size):
        rstate = pt.as_tensor_variable(rstate)
        size = pt.as_tensor_variable(size, ndim=1)
        if rstate.type.ndim != 2 or rstate.type.dtype != "int32":
            raise TypeError("the MRG state must be an int32 matrix, got %s" % (rstate.type,))
        if not size.type.dtype.startswith(("int", "uint")):
            raise TypeError("the size of a draw must be integers, got %s" % (size.type,))
        if get_vector_length(size) != self.ndim:
            raise ValueError("the size has %i entries for a %i-d draw" % (get_vector_length(size), self.ndim))
        static = []
        for i in range(self.ndim):
            try:
                static.append(int(pt.get_underlying_scalar_constant_value(size[i])))
            except pt.exceptions.NotScalarConstantError:
                static.append(None)
        out = TensorType(self.dtype, shape=tuple(static))()
        return Apply(self, [rstate, size], [rstate.type(), out])

    def perform(self, node, inputs, outputs):
        rstate, size = inputs
        shape = tuple(int(s) for s in size)
        if any(s < 0 for s in shape):
            raise ValueError("a random draw cannot have a negative size: %s" % (shape,))
        n_elements = math.prod(shape)
        if n_elements > M1:
            raise ValueError("an MRG draw has at most 2**31 - 1 values, not %i" % n_elements)
        scale = NORM32 if self.dtype == "float32" else NORM64
        new_state, values = mrg_kernels.mrg_draw(rstate, n_elements, self.dtype, scale)
        outputs[0][0] = new_state
        outputs[1][0] = values.reshape(shape)

    def infer_shape(self, fgraph, node, shapes):
        size = node.inputs[1]
        return [shapes[0], tuple(size[i] for i in range(self.ndim))]

    def pullback(self, inputs, outputs, cotangents):
        return [grad_undefined(self, k, inp, "random draws have no gradient") for k, inp in enumerate(inputs)]


@functools.cache
def c_math_library():
    """The C library's math functions (``libm``), loaded once: the reference and the Numba backend call the same."""
    return ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")


def _libm_float32():
    """The C library's float32 log, cos and sin (Theano's compiled float32 graphs called these)."""
    libm = c_math_library()
    funcs = []
    for name in ("logf", "cosf", "sinf"):
        f = getattr(libm, name)
        f.restype, f.argtypes = ctypes.c_float, [ctypes.c_float]
        funcs.append(numpy.frompyfunc(lambda v, f=f: f(float(v)), 1, 1))
    return funcs


_LIBM32 = None
# Python's math module calls the C library's double log, cos and sin; NumPy's own
# vectorised versions may differ from them in the last bit.
_LIBM64 = tuple(numpy.frompyfunc(f, 1, 1) for f in (math.log, math.cos, math.sin))


def _libm(dtype):
    global _LIBM32
    if dtype == "float64":
        return _LIBM64
    if _LIBM32 is None:
        _LIBM32 = _libm_float32()
    return _LIBM32


class BoxMuller(Op):
    """Gaussian values from an even-length vector of uniforms in (0, 1), as Theano's ``normal`` made them.

    With ``u`` split into halves ``u1`` and ``u2``, the radius is
    ``sqrt(-2 * log(u1))`` and the angle ``2 pi * u2`` (both in the
    dtype); the output is the radius times the cosines, then the radius
    times the sines.  Theano's compiled code called the C library's
    ``log``, ``cos`` and ``sin`` (``logf``, ``cosf``, ``sinf`` in float32),
    which can differ in the last bit from NumPy's vectorised ones; this op
    calls the C library's too, one value at a time, so that its values are
    Theano's bit for bit.
    """

    __props__ = ("dtype",)

    def __init__(self, dtype):
        if dtype not in ("float32", "float64"):
            raise TypeError("Box-Muller values are float32 or float64, not %s" % (dtype,))
        self.dtype = dtype
        super().__init__()

    def make_node(self, u):
        u = pt.as_tensor_variable(u)
        if u.type.ndim != 1 or u.type.dtype != self.dtype:
            raise TypeError("Box-Muller takes a %s vector, got %s" % (self.dtype, u.type))
        return Apply(self, [u], [u.type()])

    def perform(self, node, inputs, outputs):
        (u,) = inputs
        if u.shape[0] % 2:
            raise ValueError("Box-Muller needs an even number of uniforms, got %i" % u.shape[0])
        log, cos, sin = _libm(self.dtype)
        dt = numpy.dtype(self.dtype)
        half = u.shape[0] // 2
        radius = numpy.sqrt(dt.type(-2.0) * log(u[:half]).astype(dt))
        angle = dt.type(2.0 * numpy.pi) * u[half:]
        out = numpy.empty_like(u)
        out[:half] = radius * cos(angle).astype(dt)
        out[half:] = radius * sin(angle).astype(dt)
        outputs[0][0] = out

    def infer_shape(self, fgraph, node, shapes):
        return shapes

    def pullback(self, inputs, outputs, cotangents):
        return [grad_undefined(self, 0, inputs[0], "random draws have no gradient")]


def _fused_float32(a, b, c):
    """float32 ``a * b + c`` rounded once.

    The product of two float32 is exact in float64; the float64 sum is made
    round-to-odd (its last bit set when it is inexact) before rounding to
    float32, which rounds as a single rounding of the exact value would.
    """
    p = a.astype(numpy.float64) * b.astype(numpy.float64)
    c = c.astype(numpy.float64)
    s = p + c
    bv = s - p
    err = (p - (s - bv)) + (c - bv)
    bits = s.view(numpy.int64)
    inexact_even = (err != 0) & ((bits & 1) == 0)
    # move an inexact even result one ulp toward the exact value, making it odd
    toward = numpy.where((err > 0) == (s > 0), 1, -1)
    bits = numpy.where(inexact_even, bits + toward, bits)
    return bits.view(numpy.float64).astype(numpy.float32)


def _fused_float64_exact(a, b, c):
    """float64 ``a * b + c`` rounded once, by exact rational arithmetic (slow; where the C library has no fma)."""
    out = numpy.empty(a.shape, dtype=numpy.float64)
    flat = out.reshape(-1)
    for i, (x, y, z) in enumerate(zip(a.ravel().tolist(), b.ravel().tolist(), c.ravel().tolist())):
        flat[i] = float(Fraction(x) * Fraction(y) + Fraction(z))
    return out


_FMA64 = None


def _fused_float64(a, b, c):
    """float64 ``a * b + c`` rounded once: the C library's ``fma`` (C99: one rounding), one value at a time."""
    global _FMA64
    if _FMA64 is None:
        try:
            f = c_math_library().fma
            f.restype, f.argtypes = ctypes.c_double, [ctypes.c_double] * 3
            _FMA64 = numpy.frompyfunc(f, 3, 1)
        except (OSError, AttributeError):
            _FMA64 = False
    if _FMA64 is False:
        return _fused_float64_exact(a, b, c)
    return numpy.asarray(_FMA64(a, b, c), dtype=numpy.float64).reshape(a.shape)


class MulAdd(Op):
    """``a * b + c`` element-wise (broadcasting) with one rounding, as Theano's compiled code fused it.

    Theano compiled its element-wise graphs with the machine's fused
    multiply-add where one existed, so ``u * (high - low) + low`` and
    ``z * std + avg`` were rounded once, not twice.
    """

    __props__ = ("dtype",)

    def __init__(self, dtype):
        if dtype not in ("float32", "float64"):
            raise TypeError("MulAdd computes in float32 or float64, not %s" % (dtype,))
        self.dtype = dtype
        super().__init__()

    def make_node(self, a, b, c):
        inputs = [pt.cast(pt.as_tensor_variable(v), self.dtype) for v in (a, b, c)]
        ndim = max(v.type.ndim for v in inputs)
        inputs = [pt.shape_padleft(v, ndim - v.type.ndim) for v in inputs]
        shape = []
        for axis in range(ndim):
            known = [v.type.shape[axis] for v in inputs]
            sizes = [k for k in known if k is not None and k != 1]
            shape.append(sizes[0] if sizes else (1 if all(k == 1 for k in known) else None))
        return Apply(self, inputs, [TensorType(self.dtype, shape=tuple(shape))()])

    def perform(self, node, inputs, outputs):
        if self.dtype == "float32":
            # `_fused_float32`'s arithmetic in one compiled loop
            outputs[0][0] = mrg_kernels.fused_float32(*inputs)
            return
        # the C library's fma (`_fused_float64`, the reference) in one compiled loop
        outputs[0][0] = mrg_kernels.fused_float64(*inputs)

    def pullback(self, inputs, outputs, cotangents):
        return [grad_undefined(self, k, v, "the random draws' bounds have no gradient") for k, v in enumerate(inputs)]


def guess_n_streams(size, warn=False):
    """How many substreams a draw of this size takes when the caller gives none.

    A tuple or list of Python integers: a sixth of the number of values
    (all of them when there are at most six), at most 15 360.  Anything
    else (a symbolic size): 15 360.  ``warn`` is accepted for the historical
    signature; no warning is given.
    """
    if isinstance(size, (tuple, list)) and all(isinstance(s, (int, numpy.integer)) for s in size):
        n = math.prod(int(s) for s in size)
        if n > 6:
            n //= 6
        return min(n, MAX_STREAMS)
    return MAX_STREAMS


def _constant_value(var):
    """The value of a scalar known while the graph is built, else None."""
    try:
        return pt.get_underlying_scalar_constant_value(var)
    except pt.exceptions.NotScalarConstantError:
        return None


def _size_vector(size):
    """A size given as an int, a tuple/list of ints and scalars, or a 1-d variable, as an int64 vector."""
    if isinstance(size, Variable):
        if size.type.ndim == 1:
            return size
        if size.type.ndim == 0:
            return pt.stack([size])
        raise ValueError("a symbolic size must be a vector or a scalar, got %s" % (size.type,))
    if isinstance(size, (int, numpy.integer)) and not isinstance(size, bool):
        size = (size,)
    if not isinstance(size, (tuple, list)):
        raise ValueError("the size must be an int, a tuple or list, or a symbolic vector; got %r" % (size,))
    for s in size:
        if isinstance(s, Variable):
            if s.type.ndim != 0:
                raise ValueError("each entry of the size must be a scalar; got %s in %r" % (s.type, size))
        elif isinstance(s, (int, numpy.integer)) and not isinstance(s, bool):
            if s <= 0:
                raise ValueError("each entry of the size must be positive; got %r" % (size,))
        else:
            raise ValueError("each entry of the size must be an int or a symbolic scalar; got %r" % (size,))
    return pt.as_tensor_variable(size, ndim=1)


class MRG_RandomStream:
    """Symbolic random streams drawing Theano's MRG31k3p numbers (``MRG_RandomStreams``).

    ``seed`` is a positive integer below ``M2`` (copied into all six state
    values) or six integers: the first three below ``M1`` and not all zero,
    the last three below ``M2`` and not all zero.  Each draw gets its own
    substreams, in the order the draws are built; see the module docstring.
    """

    def __init__(self, seed=12345):
        #: (state shared variable, its update, size, nstreams as given) of every draw, in build order
        self.state_updates = []
        self.default_instance_seed = seed
        self.set_rstate(seed)

    def updates(self):
        """The (state, new state) update of every draw so far."""
        return [(old, new) for old, new, _, _ in self.state_updates]

    def set_rstate(self, seed):
        """Make ``seed`` (one integer or six) the base state."""
        if isinstance(seed, (int, numpy.integer)) and not isinstance(seed, bool):
            if seed <= 0:
                raise ValueError("an MRG seed must be a positive integer, got %r" % (seed,))
            if seed >= M2:
                raise ValueError("an MRG seed must be below %i, got %r" % (M2, seed))
            self.rstate = numpy.asarray([seed] * 6, dtype="int32")
        elif isinstance(seed, (tuple, list, numpy.ndarray)) and len(seed) == 6:
            values = [int(s) for s in seed]
            if any(v < 0 for v in values):
                raise ValueError("the six MRG seed values must not be negative, got %r" % (seed,))
            if not any(values[:3]) or not any(values[3:]):
                raise ValueError(
                    "neither the first three nor the last three MRG seed values may be all 0: %r" % (seed,)
                )
            if max(values[:3]) >= M1 or max(values[3:]) >= M2:
                raise ValueError(
                    "the MRG seed needs its first three values below %i, the last three below %i: %r" % (M1, M2, seed)
                )
            self.rstate = numpy.asarray(values, dtype="int32")
        else:
            raise TypeError("an MRG seed is one integer or six integers, got %r" % (seed,))

    def seed(self, seed=None):
        """Start again from ``seed`` (default: the one given at construction), every existing draw included.

        The draws get their substreams again, in the order they were built.
        """
        if seed is None:
            seed = self.default_instance_seed
        self.set_rstate(seed)
        for old, _, size, nstreams in self.state_updates:
            if nstreams is None:
                nstreams = self.n_streams(size)
            old.set_value(self.get_substream_rstates(nstreams, None), borrow=True)

    def inc_rstate(self):
        """Move the base state 2**134 steps ahead."""
        self.rstate = next_stream_state(self.rstate)

    def get_substream_rstates(self, n_streams, dtype, inc_rstate=True):
        """The states of ``n_streams`` substreams from the base state, which then moves on (``inc_rstate``).

        ``dtype`` (that of the draw) is accepted for the historical signature; it does not change the states.
        """
        states = substream_states(self.rstate, int(n_streams))
        if inc_rstate:
            self.inc_rstate()
        return states

    def n_streams(self, size):
        return guess_n_streams(size)

    def uniform(self, size, low=0.0, high=1.0, ndim=None, dtype=None, nstreams=None):
        """Values uniform in (low, high): ``u * (high - low) + low`` with ``u`` the MRG draw.

        ``dtype`` defaults to the widest of ``floatX`` and those of ``low`` and ``high``.
        """
        low = pt.as_tensor_variable(low)
        high = pt.as_tensor_variable(high)
        if dtype is None:
            dtype = upcast(config.floatX, low.dtype, high.dtype)
        if dtype not in ("float32", "float64"):
            raise TypeError("MRG uniform draws are float32 or float64, not %s" % (dtype,))
        low = undefined_grad(pt.cast(low, dtype))
        high = undefined_grad(pt.cast(high, dtype))
        if isinstance(size, tuple):
            if not all(isinstance(s, (int, numpy.integer, Variable)) for s in size):
                raise TypeError("the size must hold ints or symbolic scalars, got %r" % (size,))
            if any(isinstance(s, (int, numpy.integer)) and s <= 0 for s in size):
                raise ValueError("each entry of the size must be positive; got %r" % (size,))
        elif not (isinstance(size, Variable) and size.type.ndim == 1):
            raise TypeError("the size must be a tuple or a symbolic vector, got %r" % (size,))
        if nstreams is not None and (not isinstance(nstreams, (int, numpy.integer)) or nstreams <= 0):
            raise ValueError("nstreams must be a positive integer, got %r" % (nstreams,))
        given_nstreams = nstreams
        if nstreams is None:
            nstreams = self.n_streams(size)
        state = pytensor.shared(self.get_substream_rstates(nstreams, dtype))
        state.tag.is_rng = True
        size_vector = pt.as_tensor_variable(size, ndim=1)
        if ndim is None:
            ndim = get_vector_length(size_vector)
        new_state, u = MRGUniform(dtype, ndim)(state, size_vector)
        u.rstate = state
        u.update = (state, new_state)
        self.state_updates.append((state, new_state, size, given_nstreams))
        with warnings.catch_warnings():
            # PyTensor 3 marks the setter deprecated; functions still apply the update (tests/ops/test_rng_mrg.py)
            warnings.filterwarnings("ignore", "Setting default_update is deprecated", DeprecationWarning)
            state.default_update = new_state
        if low.type.ndim == high.type.ndim == 0 and _constant_value(low) == 0 and _constant_value(high) == 1:
            return u
        r = MulAdd(dtype)(u, high - low, low)
        if r.type.broadcastable != u.type.broadcastable:
            raise NotImplementedError("low and high must not broaden the draw; give a size that matches them")
        return r

    def binomial(self, size=None, n=1, p=0.5, ndim=None, dtype="int64", nstreams=None):
        """0/1 values, 1 with probability ``p`` (``uniform < p``), cast to ``dtype``; only ``n=1`` exists."""
        if n != 1:
            raise NotImplementedError("MRG binomial draws have n=1 only, got n=%r" % (n,))
        p = undefined_grad(pt.as_tensor_variable(p))
        u = self.uniform(size=size, nstreams=nstreams)
        return pt.cast(u < p, dtype)

    def normal(self, size, avg=0.0, std=1.0, ndim=None, dtype=None, nstreams=None):
        """Gaussian values by Box-Muller over an even number of uniforms, then ``* std + avg``.

        With ``2m`` uniforms (the number of values rounded up to even), the
        first ``m`` give the radii ``sqrt(-2 log u)`` and the last ``m`` the
        angles ``2 pi u``; the cosines come first, then the sines, and the
        result is cut to the size asked for.
        """
        size = _size_vector(size)
        avg = undefined_grad(pt.as_tensor_variable(avg))
        std = undefined_grad(pt.as_tensor_variable(std))
        if dtype is None:
            dtype = upcast(config.floatX, avg.dtype, std.dtype)
        avg = pt.cast(avg, dtype)
        std = pt.cast(std, dtype)
        n_odd = pt.prod(size, dtype="int64")
        n_even = n_odd + n_odd % 2
        u = self.uniform((n_even,), low=0.0, high=1.0, ndim=1, dtype=dtype, nstreams=nstreams)
        samples = pt.reshape(BoxMuller(dtype)(u)[:n_odd], size, ndim=ndim)
        if std.type.ndim == avg.type.ndim == 0 and _constant_value(std) == 1 and _constant_value(avg) == 0:
            return samples
        return MulAdd(dtype)(samples, std, avg)


#: The historical name.
MRG_RandomStreams = MRG_RandomStream
