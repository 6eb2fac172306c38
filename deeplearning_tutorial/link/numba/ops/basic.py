"""Running an op's NumPy ``perform`` from a Numba-compiled graph."""

import numba
from pytensor.link.numba.dispatch.basic import get_numba_type, numba_njit


def object_mode_impl(op, node):
    """A Numba function that calls ``op.perform`` in object mode.

    The ops' work is BLAS products and compiled loops, called from Python
    either way, so object mode costs little here.  PyTensor's own fallback
    does the same but keeps the graph node, and with it the whole graph up
    to the shared variables: the tutorials' datasets would be serialised
    into the generated code (tens of gigabytes).  So ``perform`` gets a copy
    of the node on fresh, unconnected inputs of the same types, which is
    all it reads.  Being deliberate, this raises none of the fallback's
    warnings, so a test can treat those as errors.
    """
    detached = op.make_node(*[inp.type() for inp in node.inputs])
    n_outputs = len(detached.outputs)
    if n_outputs == 1:
        signature = get_numba_type(detached.outputs[0].type)
    else:
        signature = numba.types.Tuple([get_numba_type(out.type) for out in detached.outputs])

    def run_perform(inputs):
        storage = [[None] for _ in range(n_outputs)]
        op.perform(detached, inputs, storage)
        return storage[0][0] if n_outputs == 1 else tuple(cell[0] for cell in storage)

    @numba_njit
    def perform(*inputs):
        with numba.objmode(result=signature):
            result = run_perform(inputs)
        return result

    return perform
