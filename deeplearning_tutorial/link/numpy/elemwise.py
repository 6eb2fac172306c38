"""PyTensor's element-wise ops, evaluated with less Python around each NumPy call.

Most nodes of the MLP's and logistic regression's graphs are element-wise
ops on small arrays, where ``Elemwise.perform`` spends more time around the
NumPy call than in it, and two of its paths are slow:

- an op evaluated in place computes a new array and copies it into the
  destroyed input, where the ufunc could have written there directly
  (``out=``);
- an op without a NumPy function, such as ``Cast``, is called once per
  element from Python: for the labels of a logistic regression minibatch
  that is 600 calls, a third of a training step.

`UfuncElemwise` is the same op (same props, so the same graph and in-place
pattern) with a ``perform`` that calls the ufunc once, into the destroyed
input when the dtypes allow, and computes a cast with ``astype`` (a C cast,
as Theano's C code did, which for the values a cast is given here gives
what the per-element cast gives).  The values are those of
``Elemwise.perform``: the same ufunc on the same inputs, rounded to the
same output dtype.  Any other case is left to ``Elemwise.perform``.
`local_ufunc_elemwise` puts it in place in the ``NUMPY`` mode, whose
virtual machine (`deeplearning_tutorial.link.numpy.vm`) runs each call under
``numpy.errstate(all="ignore")``, as ``Elemwise.perform`` runs each node:
so it does not enter that context again for every node.
"""

import numpy as np
from pytensor.graph.rewriting.basic import node_rewriter
from pytensor.scalar import Cast
from pytensor.tensor.elemwise import Elemwise


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
        if isinstance(self.scalar_op, Cast):
            node.tag.fast_path = "cast" if len(node.outputs) == 1 else None
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
        if fast_path == "in place":
            target = inputs[self.inplace_pattern[0]]
            self.nfunc(*inputs, out=target)
            output_storage[0][0] = target
            return
        result = self.nfunc(*inputs)
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
