"""Minibatch slices of a static length.

The tutorials take each minibatch with ``givens`` as
``x[index * batch_size:(index + 1) * batch_size]``.  PyTensor clips the
bounds of a slice to the array, as NumPy does, so the length of the result
is an expression of ``index`` (a chain of ``Switch``es), and so is
everything computed from it, such as the ``arange(y.shape[0])`` of the
negative log-likelihood.  Evaluated node by node that chain is about half
of the nodes of an MLP training step; and JAX, which compiles for fixed
shapes, refuses it.

Here the length is read from the bounds instead: when ``stop - start`` is
the same integer whatever the variables it is computed from (both affine in
them, with equal coefficients), the slice is the ``length`` rows from
``start`` -- provided those rows exist.  `StaticLengthSlice` checks that
they do and raises otherwise, where NumPy would have returned a shorter
array; for every index the tutorials use the result is the same.  The
``NUMPY`` and ``JAX`` modes use it; its JAX implementation is
`deeplearning_tutorial.link.jax.minibatch`.
"""

from pytensor.graph.basic import Apply, Constant
from pytensor.graph.op import Op
from pytensor.graph.rewriting.basic import node_rewriter
from pytensor.scalar import basic as ps
from pytensor.tensor.basic import ScalarFromTensor, as_tensor_variable
from pytensor.tensor.elemwise import Elemwise
from pytensor.tensor.subtensor import Subtensor, indices_from_subtensor
from pytensor.tensor.type import integer_dtypes, tensor

# Where a mode registers `static_length_slices`: before "ShapeOpt" (0.1)
# attaches PyTensor's shape inference, which would otherwise keep the
# clipped lengths of the replaced slices (Switch chains) in the shapes of
# everything computed from them.
STATIC_SLICES_POSITION = 0.05

OUT_OF_RANGE = "a slice of {length} rows from row {start} does not fit in an array of {rows} rows"


class StaticLengthSlice(Op):
    """``x[start:start + length]`` along the first axis, for rows that must exist.

    The result is a view of ``x``, as the slice it replaces.  Its length is
    deliberately not part of its type: a mean over the minibatch would then
    divide by a constant, which PyTensor rewrites into a multiplication by
    its reciprocal, and ``k / 600`` and ``k * (1 / 600)`` round differently
    (enough to change a validation score of logistic_sgd at epoch 62).
    """

    __props__ = ("length",)
    view_map = {0: [0]}

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
    """Replace ``x[a:b]`` by `StaticLengthSlice` when ``b - a`` is a constant and ``a`` is not.

    A slice of a one-input element-wise result, such as the labels' ``cast(y,
    'int32')[a:b]``, becomes the element-wise op of the slice, so that only
    the minibatch is computed (PyTensor's own rewrites move plain slices the
    same way, later).
    """
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
    sliced = node.inputs[0].owner
    if sliced is not None and isinstance(sliced.op, Elemwise) and len(sliced.inputs) == 1:
        return [sliced.op(StaticLengthSlice(length)(sliced.inputs[0], start))]
    return [StaticLengthSlice(length)(node.inputs[0], start)]
