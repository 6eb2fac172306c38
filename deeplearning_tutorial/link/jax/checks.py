"""The checks of a compiled JAX function: on the host before the call where possible.

A compiled JAX function cannot raise, so the checks in a graph (PyTensor's
`CheckAndRaise`, and the range check of `StaticLengthSlice`) need another
way to stop a call.  `jax.experimental.checkify` computes them in the call
and raises once it is done; but reading its error waits for the device,
after every call, so no call can start before the last one has ended.

Most checks need nothing from the device: the tutorials' minibatch index
against the number of rows of the data, or the shapes of two parameters.
`HostChecks` finds the checks whose conditions are computed from scalar
inputs (given from the host) and from the shapes of inputs (known on the
host without waiting) and evaluates them there, with NumPy, before the
call; they raise as the default mode raises (`IndexError` for a minibatch
past the data, the assertion's own exception otherwise).  The other checks
stay in the call, with `checkify`.
"""

import numpy as np
import pytensor.tensor as pt
from pytensor import function
from pytensor.compile.mode import Mode
from pytensor.compile.sharedvalue import SharedVariable
from pytensor.graph.basic import Constant
from pytensor.raise_op import CheckAndRaise
from pytensor.tensor.shape import Shape, Shape_i

from deeplearning_tutorial.link.numpy.minibatch import OUT_OF_RANGE, StaticLengthSlice

# Evaluated node by node in Python, after PyTensor's rewrites have folded
# the handful of scalar nodes: no compilation, and little work a call.
_HOST_MODE = Mode(linker="py", optimizer="fast_run")
# Input values whose checks passed are remembered (the checks are a
# function of them alone), up to this many.
_PASSED_LIMIT = 1 << 16


def _check_of(node):
    """``(outputs, error)`` of the check in ``node``, or None.

    ``outputs[0]`` is true when the check passes; ``error(*values)`` builds
    the exception from the values of all ``outputs``.
    """
    op = node.op
    if isinstance(op, CheckAndRaise):
        passes = pt.all([pt.all(condition) for condition in node.inputs[1:]])
        return [passes], lambda passes: op.exc_type(op.msg)
    if isinstance(op, StaticLengthSlice):
        x, start = node.inputs
        rows = Shape_i(0)(x)
        passes = pt.and_(pt.ge(start, 0), pt.le(start, rows - op.length))

        def error(passes, start, rows):
            return IndexError(OUT_OF_RANGE.format(length=op.length, start=int(start), rows=int(rows)))

        return [passes, start, rows], error
    return None


class _HostGraph:
    """Rebuilds graphs to compute from host values (scalar inputs, input shapes) through placeholders."""

    def __init__(self, fgraph):
        self.index = {var: i for i, var in enumerate(fgraph.inputs)}
        self.placeholders = {}  # (input position, "value" or "shape") -> placeholder
        self.built = {}

    def _placeholder(self, var, kind):
        key = (self.index[var], kind)
        if key not in self.placeholders:
            self.placeholders[key] = var.type() if kind == "value" else pt.lvector()
        return self.placeholders[key]

    def rebuild(self, var):
        """``var`` computed from host values, or None if it needs a value on the device."""
        if var not in self.built:
            self.built[var] = self._rebuild(var)
        return self.built[var]

    def _rebuild(self, var):
        if isinstance(var, Constant):
            return var
        if var in self.index:
            if var.type.ndim != 0 or isinstance(var, SharedVariable):
                return None  # an array, or a shared scalar that may live on the device
            return self._placeholder(var, "value")
        node = var.owner
        if isinstance(node.op, Shape_i):
            return self._dim(node.inputs[0], node.op.i)
        if isinstance(node.op, Shape):
            x = node.inputs[0]
            return self._placeholder(x, "shape") if x in self.index else None
        inputs = [self.rebuild(inp) for inp in node.inputs]
        if any(inp is None for inp in inputs):
            return None
        return node.clone_with_new_inputs(inputs).outputs[node.outputs.index(var)]

    def _dim(self, x, i):
        """Length of axis ``i`` of ``x``, from host values, or None."""
        if x in self.index:
            return self._placeholder(x, "shape")[i]
        node = x.owner
        if node is not None and isinstance(node.op, StaticLengthSlice):
            # Its own range check, made before, guarantees the length.
            return pt.constant(node.op.length, dtype="int64") if i == 0 else self._dim(node.inputs[0], i)
        return None


class HostChecks:
    """The checks of ``fgraph`` that can be evaluated on the host, as one NumPy function.

    ``nodes`` are the nodes they come from (their JAX conversions leave the
    check out), ``in_call`` the checks that need device values (left in the
    call); ``check(args)``, with the arguments of the JAX function,
    raises the first that fails.  A training loop asks again and again
    about the same few thousand minibatch indices, so the values that
    passed are remembered: a repeated call costs a set lookup.
    """

    def __init__(self, fgraph):
        host = _HostGraph(fgraph)
        self.nodes, self.in_call, outputs, self._errors = [], [], [], []
        for node in fgraph.toposort():
            check = _check_of(node)
            if check is None:
                continue
            rebuilt = [host.rebuild(out) for out in check[0]]
            if any(out is None for out in rebuilt):
                self.in_call.append(node)
                continue
            self.nodes.append(node)
            self._errors.append((len(outputs), len(rebuilt), check[1]))
            outputs.extend(rebuilt)
        self._sources = list(host.placeholders)
        self._function = None
        self._passed = set()
        if outputs:
            placeholders = list(host.placeholders.values())
            self._function = function(placeholders, outputs, mode=_HOST_MODE, on_unused_input="ignore")
            self._function.trust_input = True

    def check(self, args):
        if self._function is None:
            return
        key = tuple(args[at].item() if kind == "value" else args[at].shape for at, kind in self._sources)
        if key in self._passed:
            return
        inputs = [
            args[at] if kind == "value" else np.array(args[at].shape, dtype=np.int64) for at, kind in self._sources
        ]
        results = self._function(*inputs)
        for first, count, error in self._errors:
            if not results[first]:
                raise error(*results[first : first + count])
        if len(self._passed) < _PASSED_LIMIT:
            self._passed.add(key)
