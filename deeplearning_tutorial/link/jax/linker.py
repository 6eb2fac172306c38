"""The tutorials' JAX linker: PyTensor's, with checked assertions and data kept on the device.

Three things differ from PyTensor's `JAXLinker`:

- Shared variables are handed to JAX as device arrays.  PyTensor passes
  the value in a shared variable's storage on every call, and a NumPy
  array is copied to the device each time: for the tutorials' datasets
  (up to 440 MB) that is most of a training step.  Here a NumPy value is
  moved to the device on first use and the device array replaces it in the
  storage, where PyTensor already puts the JAX arrays of updated shared
  variables.  ``get_value()`` then returns a JAX array.
- Assertions (PyTensor's `CheckAndRaise`, and the index check of
  `StaticLengthSlice`) are checked, with `jax.experimental.checkify`: a
  failed check raises once the call is done.  PyTensor's JAX backend drops
  them, since a compiled JAX function cannot raise, and warns that it does.
- ``arange`` gets its constant bounds as Python ints (`jax_funcify_ARange`).
"""

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import checkify
from pytensor.compile.sharedvalue import SharedVariable
from pytensor.graph.basic import Constant
from pytensor.link.jax.dispatch import jax_funcify
from pytensor.link.jax.linker import JAXLinker
from pytensor.raise_op import CheckAndRaise
from pytensor.tensor.basic import ARange

from deeplearning_tutorial.ops.minibatch import StaticLengthSlice

# PyTensor's conversions, for the other JAX linkers.
_pytensor_check_and_raise = jax_funcify.dispatch(CheckAndRaise)
_pytensor_arange = jax_funcify.dispatch(ARange)


@jax_funcify.register(CheckAndRaise)
def jax_funcify_CheckAndRaise(op, node, tutorial_linker=False, **kwargs):
    """A checked assertion under `TutorialJAXLinker`; elsewhere PyTensor's conversion, which drops it."""
    if not tutorial_linker:
        return _pytensor_check_and_raise(op, node=node, **kwargs)
    message = op.msg.replace("{", "{{").replace("}", "}}")

    def check_and_raise(x, *conditions):
        for condition in conditions:
            checkify.check(jnp.all(condition), message)
        return x

    return check_and_raise


@jax_funcify.register(ARange)
def jax_funcify_ARange(op, node, tutorial_linker=False, **kwargs):
    """``arange`` with constant bounds passed to JAX as Python ints.

    PyTensor's conversion passes them as NumPy scalars of their own dtype,
    often int8 (``arange(n)`` starts at an int8 0), and JAX then computes
    the whole range in that dtype: ``arange(0, 600)`` overflows.
    """
    if not tutorial_linker:
        return _pytensor_arange(op, node=node, **kwargs)
    constants = [inp.data.item() if isinstance(inp, Constant) else None for inp in node.inputs]

    def arange(*args):
        start, stop, step = (arg if constant is None else constant for arg, constant in zip(args, constants))
        return jnp.arange(start, stop, step, dtype=op.dtype)

    return arange


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
        return super().fgraph_convert(fgraph, tutorial_linker=True, **kwargs)

    def create_thunk_inputs(self, storage_map):
        cells = super().create_thunk_inputs(storage_map)
        return [
            DeviceCell(cell) if isinstance(var, SharedVariable) else cell
            for var, cell in zip(self.fgraph.inputs, cells)
        ]

    def jit_compile(self, fn):
        checks = (CheckAndRaise, StaticLengthSlice)
        if not any(isinstance(node.op, checks) for node in self.fgraph.apply_nodes):
            return super().jit_compile(fn)
        compiled = super().jit_compile(checkify.checkify(fn, errors=checkify.user_checks))

        def checked(*args):
            error, outputs = compiled(*args)
            error.throw()
            return outputs

        return checked
