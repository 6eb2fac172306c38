"""Theano's sigmoid and softplus in the ``NUMPY`` mode: its cut-offs, the C library's ``exp`` and ``log1p``.

PyTensor's ``sigmoid`` is ``1 / (1 + exp(-x))`` everywhere (SciPy's
``expit``), and its ``softplus`` (which ``log(sigmoid(x))`` and
``log(1 - sigmoid(x))`` become) is ``log1p(exp(x))`` with cut-offs of its
own.  Theano's C code returned constants past thresholds chosen per
dtype, and computed the rest with the C library's functions, in the
input's precision:

========  ==========================  ================================
op        float64                     float32
========  ==========================  ================================
sigmoid   0 below -709, 1 above 19    0 below -88, 1 above 15
softplus  0 below -745, x above 16    0 below -103, x above 14
========  ==========================  ================================

Between them, sigmoid is ``1 / (1 + exp(-x))`` and softplus
``log1p(exp(x))``.  The differences matter to the autoencoders: a
reconstruction whose pre-activation passes 19 is exactly 1 in Theano and
``1 - 5e-9`` in PyTensor, and that reaches the gradient; for the RBMs a
sigmoid one ulp away turns a binary sample the other way.  `TheanoSigmoid`
and `TheanoSoftplus` are scalar ops that compute Theano's formulas;
their element-wise nodes call the compiled loops here once per array
(`deeplearning_tutorial.link.numpy.elemwise`), on two threads for large
arrays when that has lately been faster (`threads.on_team_if_faster`), whose ``exp``, ``expf``,
``log1p`` and ``log1pf`` are the C library's, as Theano's C code called
them (NumPy's own ``exp`` is vectorised code that differs from it in the
last bit now and then).  `local_theano_sigmoid` puts them in place of
PyTensor's.
"""

import math

import numpy as np
from numba import njit, prange
from pytensor.graph.rewriting.basic import node_rewriter
from pytensor.scalar import UnaryScalarOp, upgrade_to_float
from pytensor.scalar.math import Sigmoid, Softplus
from pytensor.tensor.elemwise import Elemwise

from deeplearning_tutorial.ops import threads

# (below which the result is 0, above which it is 1 for sigmoid or x for softplus), by dtype.
SIGMOID_CUTOFFS = {"float64": (-709.0, 19.0), "float32": (-88.0, 15.0)}
SOFTPLUS_CUTOFFS = {"float64": (-745.0, 16.0), "float32": (-103.0, 14.0)}


@njit(cache=True, nogil=True)
def _sigmoid_loop(x, out, low, high):
    """Theano's sigmoid of each element of the flat ``x`` into ``out``, in ``x``'s dtype."""
    one = x.dtype.type(1.0)
    for i in range(x.size):
        v = x[i]
        if v < low:
            out[i] = 0.0
        elif v > high:
            out[i] = 1.0
        else:
            out[i] = one / (one + math.exp(-v))


@njit(cache=True, nogil=True)
def _softplus_loop(x, out, low, high):
    """Theano's softplus of each element of the flat ``x`` into ``out`` (not ``x`` itself), in ``x``'s dtype.

    Two passes: every ``exp`` first, then every ``log1p`` of them, where
    a value needs one.  The same C library calls on the same values as
    ``log1p(exp(v))`` element by element, so the same results; but calls
    that do not wait for each other's results overlap in the processor,
    which makes the loop about a fifth faster.
    """
    n = x.size
    for i in range(n):
        out[i] = math.exp(x[i])
    for i in range(n):
        v = x[i]
        if v < low:
            out[i] = 0.0
        elif v > high:
            out[i] = v
        else:
            out[i] = math.log1p(out[i])


@njit(cache=True, nogil=True, parallel=True)
def _sigmoid_on_cores(x, out, low, high):
    """`_sigmoid_loop` on the two halves of ``x``, on two of Numba's threads."""
    half = x.size // 2
    for part in prange(2):
        first, stop = (0, half) if part == 0 else (half, x.size)
        _sigmoid_loop(x[first:stop], out[first:stop], low, high)


@njit(cache=True, nogil=True, parallel=True)
def _softplus_on_cores(x, out, low, high):
    """`_softplus_loop` on the two halves of ``x``, on two of Numba's threads."""
    half = x.size // 2
    for part in prange(2):
        first, stop = (0, half) if part == 0 else (half, x.size)
        _softplus_loop(x[first:stop], out[first:stop], low, high)


# Elements from which a loop may run on two threads (`threads.on_team_if_faster`): a
# minibatch of 10 hidden layers of 1 000 units takes 50 us (sigmoid) to
# 150 us (softplus) on one.
_ON_CORES_MIN_SIZE = 4096


def _apply(loop, loop_on_cores, cutoffs, x):
    x = np.asarray(x)
    low, high = (x.dtype.type(c) for c in cutoffs[x.dtype.name])
    flat = np.ascontiguousarray(x).reshape(-1)
    out = np.empty_like(flat)
    if flat.size >= _ON_CORES_MIN_SIZE:
        threads.on_team_if_faster(
            (loop.__name__, flat.dtype.char, flat.size),
            lambda: loop_on_cores(flat, out, low, high),
            lambda: loop(flat, out, low, high),
        )
    else:
        loop(flat, out, low, high)
    return out.reshape(x.shape)


def sigmoid(x):
    """Theano's sigmoid of a float32 or float64 array (see the module's docstring)."""
    return _apply(_sigmoid_loop, _sigmoid_on_cores, SIGMOID_CUTOFFS, x)


def softplus(x):
    """Theano's softplus of a float32 or float64 array (see the module's docstring)."""
    return _apply(_softplus_loop, _softplus_on_cores, SOFTPLUS_CUTOFFS, x)


class _TheanoUnary(UnaryScalarOp):
    """A float scalar op whose element-wise nodes compute ``array_function`` on whole arrays.

    ``impl`` (one element, for ``Elemwise.perform``) computes in float64
    unless given a float32 NumPy scalar.
    """

    nfunc_spec = None
    array_function = None

    def impl(self, x):
        x = np.asarray(x)
        if x.dtype.name not in SIGMOID_CUTOFFS:
            x = x.astype("float64")
        return self.array_function(x.reshape(1))[0]


class TheanoSigmoid(_TheanoUnary, Sigmoid):
    """``sigmoid`` computed as Theano's C code computed it (see the module's docstring); gradient as PyTensor's."""

    array_function = staticmethod(sigmoid)

    def c_code(self, *args, **kwargs):
        raise NotImplementedError("TheanoSigmoid is evaluated in Python (NUMPY mode)")


class TheanoSoftplus(_TheanoUnary, Softplus):
    """``softplus`` computed as Theano's C code computed it (see the module's docstring); gradient as PyTensor's."""

    array_function = staticmethod(softplus)

    def c_code(self, *args, **kwargs):
        raise NotImplementedError("TheanoSoftplus is evaluated in Python (NUMPY mode)")


theano_sigmoid = TheanoSigmoid(upgrade_to_float, name="theano_sigmoid")
theano_softplus = TheanoSoftplus(upgrade_to_float, name="theano_softplus")


@node_rewriter([Elemwise])
def local_theano_sigmoid(fgraph, node):
    """Element-wise ``Sigmoid`` and ``Softplus`` of float32/float64 -> `TheanoSigmoid`, `TheanoSoftplus`."""
    scalar_op = node.op.scalar_op
    if type(scalar_op) is Sigmoid:
        replacement = theano_sigmoid
    elif type(scalar_op) is Softplus:
        replacement = theano_softplus
    else:
        return None
    dtype = node.inputs[0].type.dtype
    if dtype not in SIGMOID_CUTOFFS or node.outputs[0].type.dtype != dtype:
        return None
    return type(node.op)(replacement, node.op.inplace_pattern).make_node(*node.inputs).outputs
