"""Minibatch slices of a static length, which JAX can compile.

The tutorials take each minibatch with ``givens`` as
``x[index * batch_size:(index + 1) * batch_size]``.  PyTensor clips the
bounds of a slice to the array, as NumPy does, so the length of the result
is an expression of ``index`` (a chain of ``Switch``es), and so is
everything computed from it, such as the ``arange(y.shape[0])`` of the
negative log-likelihood.  JAX compiles for fixed shapes and refuses both.

Here the length is read from the bounds instead: when ``stop - start`` is
the same integer whatever the variables it is computed from (both affine in
them, with equal coefficients), the slice is the ``length`` rows from
``start`` -- provided those rows exist.  `StaticLengthSlice` checks that
they do and raises otherwise, where NumPy would have returned a shorter
array; for every index the tutorials use the result is the same.
"""

from jax import lax
from jax.experimental import checkify
from pytensor.graph.basic import Apply, Constant
from pytensor.graph.op import Op
from pytensor.graph.rewriting.basic import node_rewriter
from pytensor.link.jax.dispatch import jax_funcify
from pytensor.scalar import basic as ps
from pytensor.tensor.basic import ScalarFromTensor, as_tensor_variable
from pytensor.tensor.elemwise import Elemwise
from pytensor.tensor.subtensor import Subtensor, indices_from_subtensor
from pytensor.tensor.type import integer_dtypes, tensor

OUT_OF_RANGE = "a slice of {length} rows from row {start} does not fit in an array of {rows} rows"


class StaticLengthSlice(Op):
    """``x[start:start + length]`` along the first axis, for rows that must exist."""

    __props__ = ("length",)

    def __init__(self, length):
        self.length = int(length)

    def make_node(self, x, start):
        x, start = as_tensor_variable(x), as_tensor_variable(start)
        if start.type.ndim != 0 or start.type.dtype not in integer_dtypes:
            raise TypeError(f"StaticLengthSlice: start must be an integer scalar, got {start.type}")
        out = tensor(dtype=x.type.dtype, shape=(None, *x.type.shape[1:]))
        return Apply(self, [x, start], [out])

    def perform(self, node, inputs, output_storage):
        x, start = inputs
        start = int(start)
        if not 0 <= start <= len(x) - self.length:
            raise IndexError(OUT_OF_RANGE.format(length=self.length, start=start, rows=len(x)))
        output_storage[0][0] = x[start : start + self.length]


@jax_funcify.register(StaticLengthSlice)
def jax_funcify_StaticLengthSlice(op, node, **kwargs):
    length = op.length

    def static_length_slice(x, start):
        rows = x.shape[0]
        # dynamic_slice would move an out-of-range start back into range.
        message = OUT_OF_RANGE.format(length=length, start="{start}", rows=rows)
        checkify.check((start >= 0) & (start <= rows - length), message, start=start)
        return lax.dynamic_slice_in_dim(x, start, length, axis=0)

    return static_length_slice


def _affine(var):
    """``var`` as ({variable: coefficient}, constant): an integer affine form.

    Sums, differences, negations and products by a constant are expanded;
    any other variable is a term of its own.
    """
    if isinstance(var, Constant):
        return {}, int(var.data)
    node = var.owner
    if node is not None and isinstance(node.op, ScalarFromTensor):
        return _affine(node.inputs[0])
    scalar_op = node and (node.op.scalar_op if isinstance(node.op, Elemwise) else node.op)
    if isinstance(scalar_op, ps.Add | ps.Sub | ps.Neg | ps.Mul):
        forms = [_affine(inp) for inp in node.inputs]
        if isinstance(scalar_op, ps.Neg):
            return _scaled(forms[0], -1)
        if isinstance(scalar_op, ps.Sub):
            return _sum([forms[0], _scaled(forms[1], -1)])
        if isinstance(scalar_op, ps.Add):
            return _sum(forms)
        variable = [form for form in forms if form[0]]
        if len(variable) <= 1:
            factor = 1
            for terms, constant in forms:
                if not terms:
                    factor *= constant
            return _scaled(variable[0], factor) if variable else ({}, factor)
    return {var: 1}, 0


def _scaled(form, factor):
    terms, constant = form
    return {v: c * factor for v, c in terms.items()}, constant * factor


def _sum(forms):
    terms, constant = {}, 0
    for form_terms, form_constant in forms:
        constant += form_constant
        for v, c in form_terms.items():
            terms[v] = terms.get(v, 0) + c
    return terms, constant


@node_rewriter([Subtensor])
def static_length_slices(fgraph, node):
    """Replace ``x[a:b]`` by `StaticLengthSlice` when ``b - a`` is a constant and ``a`` is not."""
    indices = indices_from_subtensor(node.inputs[1:], node.op.idx_list)
    if len(indices) != 1 or not isinstance(indices[0], slice):
        return None
    start, stop, step = indices[0].start, indices[0].stop, indices[0].step
    if start is None or stop is None or step is not None or isinstance(start, Constant):
        return None
    terms, length = _sum([_affine(stop), _scaled(_affine(start), -1)])
    if any(terms.values()) or length < 0:
        return None
    if start.owner is not None and isinstance(start.owner.op, ScalarFromTensor):
        start = start.owner.inputs[0]
    return [StaticLengthSlice(length)(node.inputs[0], start)]
