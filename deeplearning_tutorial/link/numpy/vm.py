"""The ``NUMPY`` mode's virtual machine: PyTensor's ``Loop``, with less Python per node.

PyTensor's Python virtual machine calls each node through a thunk that
gathers the node's inputs, calls its ``perform``, and marks its outputs as
computed, and each element-wise ``perform`` enters ``numpy.errstate`` so
that NumPy does not warn about floating-point exceptions.  For the MLP's
62-node training step those wrappers are about a sixth of the call.

`QuietLoop` runs the same nodes in the same order, calling ``perform``
directly (a node whose thunk is not a plain ``perform`` call is still
called through its thunk), frees intermediate results at the same points,
and enters ``numpy.errstate(all="ignore")`` once per call, for every node:
like Theano's C code, which never warned about floating-point exceptions.
Errors are reported as PyTensor reports them, naming the node.  When a
node runs threads of its own (``splits_work_across_cores``: the
convolution and pooling ops), the whole call runs with BLAS on one thread
(`deeplearning_tutorial.ops.blas_kernels.one_thread`).
"""

import contextlib

import numpy as np
from pytensor.link.utils import raise_with_op
from pytensor.link.vm import Loop, VMLinker

from deeplearning_tutorial.ops import blas_kernels


class QuietLoop(Loop):
    """`Loop` without the thunk wrappers, under one ``errstate`` per call."""

    _steps = None
    _one_blas_thread = None

    def _make_steps(self):
        clears = self.post_thunk_clear or [()] * len(self.thunks)
        steps = []
        for thunk, node, clear in zip(self.thunks, self.nodes, clears):
            # Python thunks (Op.make_py_thunk) carry the perform they call.
            perform = getattr(thunk, "perform", None) if not thunk.lazy else None
            steps.append((thunk, perform, node, thunk.inputs, thunk.outputs, clear))
        return steps

    def _blas_context(self):
        """One BLAS thread for the whole call if a node splits its work across the cores itself."""
        if self._one_blas_thread is None:
            self._one_blas_thread = any(getattr(node.op, "splits_work_across_cores", False) for node in self.nodes)
        return blas_kernels.one_thread() if self._one_blas_thread else contextlib.nullcontext()

    def __call__(self):
        with np.errstate(all="ignore"), self._blas_context():
            if self.time_thunks:
                return super().__call__()
            if self._steps is None:
                self._steps = self._make_steps()
            for cell in self.pre_call_clear:
                cell[0] = None
            try:
                for thunk, perform, node, inputs, outputs, clear in self._steps:
                    if perform is None:
                        thunk()
                    else:
                        perform(node, [cell[0] for cell in inputs], outputs)
                    for cell in clear:
                        cell[0] = None
            except Exception:
                raise_with_op(self.fgraph, node, thunk)
            return self.perform_updates()


class NumpyVMLinker(VMLinker):
    """`VMLinker` whose plain loops (no laziness, no callbacks) are `QuietLoop`s.

    PyTensor's `VMLinker.make_vm` chooses which virtual machine runs a graph
    (a `Loop`, a ``Stack`` for lazy graphs and callbacks, a C loop) and has
    no hook for the class it builds.  So where it chose a `Loop`, a
    `QuietLoop` is built with the same arguments, and the `Loop` dropped.
    """

    def make_vm(self, nodes, thunks, input_storage, output_storage, storage_map, post_thunk_clear, *rest):
        vm = super().make_vm(nodes, thunks, input_storage, output_storage, storage_map, post_thunk_clear, *rest)
        if type(vm) is not Loop:
            return vm
        computed, compute_map, updated_vars = rest
        return QuietLoop(
            self.fgraph, nodes, thunks, vm.pre_call_clear, storage_map, input_storage, output_storage, updated_vars,
            post_thunk_clear if vm.allow_gc else None,
        )  # fmt: skip
