"""The tutorials' JAX linker: PyTensor's, with checked assertions and data kept on the device.

Four things differ from PyTensor's `JAXLinker`:

- Shared variables are handed to JAX as device arrays.  PyTensor passes
  the value in a shared variable's storage on every call, and a NumPy
  array is copied to the device each time: for the tutorials' datasets
  (up to 440 MB) that is most of a training step.  Here a NumPy value is
  moved to the device on first use and the device array replaces it in the
  storage, where PyTensor already puts the JAX arrays of updated shared
  variables.  ``get_value()`` then returns a JAX array.
- Assertions (PyTensor's `CheckAndRaise`, and the index check of
  `StaticLengthSlice`) are checked, on the host before the call where they
  need no device value, else in the call (`deeplearning_tutorial.link.jax.checks`).
  PyTensor's JAX backend drops them, since a compiled JAX function cannot
  raise, and warns that it does.
- XLA compiles in ``pytensor.function``, as the other modes do, rather
  than on the first call (`TutorialJAXLinker.compile_ahead`).
- Some of PyTensor's op conversions are replaced (`deeplearning_tutorial.link.jax.dispatch`).
"""

import jax
import numpy as np
from jax.experimental import checkify
from pytensor.compile.sharedvalue import SharedVariable
from pytensor.link.jax.linker import JAXLinker

from deeplearning_tutorial.link.jax import dispatch  # noqa: F401 (registers on import)
from deeplearning_tutorial.link.jax.checks import HostChecks


class DeviceCell:
    """A shared variable's storage cell that moves a NumPy value to the device when it is read."""

    __slots__ = ("cell",)

    def __init__(self, cell):
        self.cell = cell

    def __getitem__(self, index):
        value = self.cell[index]
        if isinstance(value, np.ndarray):
            value = self.cell[index] = jax.device_put(value)
        return value


class TutorialJAXLinker(JAXLinker):
    def fgraph_convert(self, fgraph, **kwargs):
        self.host_checks = HostChecks(fgraph)
        host_checked = frozenset(self.host_checks.nodes)
        return super().fgraph_convert(fgraph, tutorial_linker=True, host_checked=host_checked, **kwargs)

    def create_thunk_inputs(self, storage_map):
        cells = super().create_thunk_inputs(storage_map)
        self.input_cells = [
            DeviceCell(cell) if isinstance(var, SharedVariable) else cell
            for var, cell in zip(self.fgraph.inputs, cells)
        ]
        return self.input_cells

    def compile_ahead(self, jitted):
        """Move the shared values to the device and have XLA compile ``jitted``, now.

        ``jax.jit`` compiles on the first call, which for a tutorial's
        validation function is at the end of the first epoch, and a copy to
        the device finishes after the call that started it: the first
        minibatches would wait for the training set.  The
        other modes do all of their work in ``pytensor.function``.  Shared
        variables hold their values already, and a scalar input can only
        have its type's dtype; an array input's shape is not known before
        the call, and then XLA compiles on the first call.
        """
        specs = []
        for var, cell in zip(self.fgraph.inputs, self.input_cells):
            if isinstance(cell, DeviceCell):
                value = jax.block_until_ready(cell[0])
                specs.append(jax.ShapeDtypeStruct(value.shape, value.dtype) if isinstance(value, jax.Array) else None)
            elif var.type.ndim == 0:
                specs.append(jax.ShapeDtypeStruct((), var.type.dtype))
            else:
                specs.append(None)
        # PyTensor wraps the jitted function when some inputs are static (shapes passed as
        # scalars): it is compiled for each of their values, on the call.
        if None not in specs and not self.scalar_shape_inputs:
            jitted.lower(*specs).compile()

    def jit_compile(self, fn):
        host_checks = self.host_checks
        if host_checks.in_call:
            fn = checkify.checkify(fn, errors=checkify.user_checks)
        compiled = super().jit_compile(fn)
        self.compile_ahead(compiled)
        if host_checks.in_call:

            def checked(*args):
                host_checks.check(args)
                error, outputs = compiled(*args)
                # Waits for the device: the checks that need its values.
                error.throw()
                return outputs

            return checked
        if not host_checks.nodes:
            return compiled

        def checked_on_host(*args):
            host_checks.check(args)
            return compiled(*args)

        return checked_on_host
