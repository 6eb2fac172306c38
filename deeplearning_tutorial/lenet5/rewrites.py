"""The compilation mode of LeNet-5's functions: `tutorial_mode()`, plus one graph rewrite when ops run in Python.

Why this exists: LeNet-5's second-derivative estimate and its gradients
make PyTensor's canonicalising rewrites build element-wise sums and products
of three or more arrays.  PyTensor's Python VM runs an element-wise op with
NumPy's ufunc only when the op has the ufunc's number of inputs (two for
``add`` and ``mul``); any other arity is evaluated one element at a time in
Python, about a hundred times slower.  `binary_products` splits those ops
into chains of binary ones.  It concerns only modes whose ops run in Python
(the default ``NUMPY`` mode); compiled backends fuse the element-wise ops
instead and get the mode unchanged.
"""

import pytensor.tensor as T
from pytensor.graph.rewriting.basic import dfs_rewriter, node_rewriter
from pytensor.link.vm import VMLinker
from pytensor.scalar import Add, Mul
from pytensor.tensor.elemwise import Elemwise

from deeplearning_tutorial.modes import tutorial_mode


@node_rewriter([Elemwise])
def binary_products(fgraph, node):
    """Write a sum or product of three or more arrays as a chain of binary ones."""
    if not isinstance(node.op.scalar_op, (Add, Mul)) or len(node.inputs) <= 2:
        return False
    combine = T.add if isinstance(node.op.scalar_op, Add) else T.mul
    out = node.inputs[0]
    for term in node.inputs[1:]:
        out = combine(out, term)
    return [T.cast(out, node.outputs[0].dtype)]


def compile_mode():
    """`tutorial_mode()`, with `binary_products` when it runs ops in Python."""
    mode = tutorial_mode()
    linker = mode.linker
    if isinstance(linker, VMLinker) and not linker.c_thunks:
        # Position 49.2: after the canonicalising rewrites that build the
        # n-ary ops, and after fusion, which a compiled backend uses instead.
        return mode.register((dfs_rewriter(binary_products), 49.2))
    return mode
