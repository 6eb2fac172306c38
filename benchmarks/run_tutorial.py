"""Run one tutorial for a few epochs and report its timings as JSON.

Used by ``benchmark.py`` in a fresh process per measurement, so that
start-up (imports, data loading, graph building, compiling) is measured as
a user meets it.  The tutorial runs unchanged; ``pytensor.function`` is
wrapped to note when each call of the training function returns.  Start-up
is the time until the first minibatch is done (a JIT backend compiles
during that call); an epoch is the time between the ends of the first
minibatches of two consecutive epochs, so it includes one epoch's
validation and test passes, as in the tutorials' own loop.

    python benchmarks/run_tutorial.py TUTORIAL N_EPOCHS MODE START_TIME

N_EPOCHS - 1 epochs are timed.  MODE is a mode name, as ``--mode`` takes
(``NUMPY``, ``NUMBA_BLAS``, ``CVM``, ``NUMBA``...).
"""

import contextlib
import importlib
import io
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import pytensor  # noqa: E402
from pytensor.compile.mode import get_mode  # noqa: E402

import deeplearning_tutorial.modes  # noqa: E402,F401 (names the tutorials' own modes)
from benchmark import FUNCTIONS, N_BATCHES, report  # noqa: E402


def main():
    name, n_epochs, mode, started = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
    pytensor.config.mode = get_mode(mode)
    n_batches = N_BATCHES[name]
    calls, cpu = [], []
    compile_function = pytensor.function

    def timed_function(*args, **kw):
        fn = compile_function(*args, **kw)
        if not kw.get("updates"):
            return fn

        def train(*inputs):
            cost = fn(*inputs)
            calls.append(time.time())
            cpu.append(time.process_time())
            return cost

        return train

    pytensor.function = timed_function
    tutorial = getattr(importlib.import_module(f"deeplearning_tutorial.{name}"), FUNCTIONS[name])
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        tutorial(n_epochs=n_epochs)
    report(started, calls[0], calls[::n_batches], cpu[::n_batches])


if __name__ == "__main__":
    main()
