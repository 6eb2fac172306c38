"""PyTensor's element-wise ops, evaluated with less Python around each NumPy call.

Most nodes of the MLP's and logistic regression's graphs are element-wise
ops on small arrays, where ``Elemwise.perform`` spends more time around the
NumPy call than in it, and two of its paths are slow:

- an op evaluated in place computes a new array and copies it into the
  destroyed input, where the ufunc could have written there directly
  (``out=``);
- an op without a NumPy function, such as ``Cast``, is called once per
  element from Python: for the labels of a logistic regression minibatch
  that is 600 calls, a third of a training step.  So are an ``Add`` or
  ``Mul`` of more than two inputs (NumPy's functions take two) and
  ``Softplus`` (which ``log(sigmoid(x))`` becomes): for the autoencoders'
  20 x 784 minibatches, nearly all of a training step.

`UfuncElemwise` is the same op (same props, so the same graph and in-place
pattern) with a ``perform`` that calls the ufunc once, into the destroyed
input when the dtypes allow, and computes a cast with ``astype`` (a C cast,
as Theano's C code did, which for the values a cast is given here gives
what the per-element cast gives).  The values are those of
``Elemwise.perform``: the same ufunc on the same inputs, rounded to the
same output dtype.  An ``Add`` or ``Mul`` of n inputs of one dtype is
n - 1 calls of the two-input ufunc, left to right, ``(a * b) * c``, each
rounded in that dtype: what Theano's C loop computed (``a * b * c`` in
C); ``Elemwise.perform`` would hand the elements to Python as Python
floats, so a float32 product would be rounded once, from float64.
``Softplus`` is `softplus`, PyTensor's formula on whole arrays.  Any
other case is left to ``Elemwise.perform``.
`local_ufunc_elemwise` puts it in place in the ``NUMPY`` mode, whose
virtual machine (`deeplearning_tutorial.link.numpy.vm`) runs each call under
``numpy.errstate(all="ignore")``, as ``Elemwise.perform`` runs each node:
so it does not enter that context again for every node.
"""

import numpy as np
from pytensor.graph.rewriting.basic import node_rewriter
from pytensor.scalar import Add, Cast, Mul
from pytensor.scalar.math import Softplus
from pytensor.tensor.elemwise import Elemwise


def chain(ufunc, inputs):
    """``ufunc`` of two inputs applied left to right to all ``inputs``: ``f(f(a, b), c)``, one temporary."""
    result = ufunc(inputs[0], inputs[1])
    for value in inputs[2:]:
        in_place = type(result) is np.ndarray and result.shape == np.broadcast_shapes(result.shape, value.shape)
        result = ufunc(result, value, out=result) if in_place else ufunc(result, value)
    return result


def softplus(x):
    """PyTensor's ``Softplus`` on a whole float array, as its scalar ``impl`` computes each element.

    ``log1p(exp(x))``, but ``exp(x)`` below -37, ``x + exp(-x)`` from 18
    and ``x`` from 33.3 on (and for NaN).  ``Elemwise.perform`` hands the
    scalar op each element as a Python float, so a float32 array is
    computed in float64 and rounded to float32 at the end, as here.
    """
    wide = np.asarray(x, dtype=np.float64)
    with np.errstate(all="ignore"):
        small = np.exp(wide)
        out = np.log1p(small)
        np.copyto(out, small, where=wide < -37.0)
        large = ~(wide < 18.0)
        if large.any():
            xs = wide[large]
            out[large] = np.where(xs < 33.3, xs + np.exp(-xs), xs)
    return out.astype(x.dtype, copy=False)


class UfuncElemwise(Elemwise):
    """`Elemwise` with one NumPy call per evaluation (see the module's docstring)."""

    def prepare_node(self, node, storage_map, compute_map, impl):
        super().prepare_node(node, storage_map, compute_map, impl)
        out_dtype = node.outputs[0].type.dtype
        same_dtypes = all(inp.type.dtype == out_dtype for inp in node.inputs)
        # The axes where a length 1 at run time would be a broadcast the graph
        # did not declare, which Elemwise refuses: length not known statically.
        node.tag.unknown_lengths = [
            (i, axis) for i, inp in enumerate(node.inputs) for axis, n in enumerate(inp.type.shape) if n is None
        ]
        float_out = out_dtype in ("float32", "float64")
        if isinstance(self.scalar_op, Cast):
            node.tag.fast_path = "cast" if len(node.outputs) == 1 else None
        elif isinstance(self.scalar_op, Add | Mul) and len(node.inputs) > 2 and same_dtypes:
            node.tag.fast_path = "chain"
        elif getattr(self.scalar_op, "array_function", None) is not None and same_dtypes and float_out:
            node.tag.fast_path = "array function"
        elif isinstance(self.scalar_op, Softplus) and same_dtypes and float_out:
            node.tag.fast_path = "softplus"
        elif self.nfunc is not None and self.nfunc_spec[1:] == (len(node.inputs), 1) and not hasattr(node.tag, "sig"):
            in_place = bool(self.inplace_pattern) and same_dtypes and node.outputs[0].type.ndim > 0
            node.tag.fast_path = "in place" if in_place else "ufunc"
        else:
            node.tag.fast_path = None

    def perform(self, node, inputs, output_storage):
        fast_path = getattr(node.tag, "fast_path", None)
        if fast_path is None:
            return super().perform(node, inputs, output_storage)
        if len(inputs) > 1 and any(inputs[i].shape[axis] == 1 for i, axis in node.tag.unknown_lengths):
            self._check_runtime_broadcast(node, inputs)
        out_dtype = node.outputs[0].type.dtype
        if fast_path == "cast":
            output_storage[0][0] = np.asarray(inputs[0]).astype(out_dtype)
            return
        if fast_path == "chain":
            return self._store(chain(self.nfunc, inputs), inputs, output_storage, out_dtype)
        if fast_path == "array function":
            return self._store(self.scalar_op.array_function(inputs[0]), inputs, output_storage, out_dtype)
        if fast_path == "softplus":
            return self._store(softplus(inputs[0]), inputs, output_storage, out_dtype)
        if fast_path == "in place":
            target = inputs[self.inplace_pattern[0]]
            self.nfunc(*inputs, out=target)
            output_storage[0][0] = target
            return
        return self._store(self.nfunc(*inputs), inputs, output_storage, out_dtype)

    def _store(self, result, inputs, output_storage, out_dtype):
        """Store ``result`` as the output, of the output's dtype, written into the destroyed input if any."""
        if type(result) is not np.ndarray or result.dtype != out_dtype:
            result = np.asarray(result, dtype=out_dtype)
        if self.inplace_pattern:
            target = inputs[self.inplace_pattern[0]]
            target[...] = result
            result = target
        output_storage[0][0] = result


@node_rewriter([Elemwise])
def local_ufunc_elemwise(fgraph, node):
    """``Elemwise`` -> `UfuncElemwise`, with the same scalar op and in-place pattern."""
    if type(node.op) is not Elemwise:
        return None
    op = UfuncElemwise(node.op.scalar_op, node.op.inplace_pattern)
    return op.make_node(*node.inputs).outputs
