"""Run one tutorial for a few epochs and report its timings as JSON.

Used by ``benchmark.py`` in a fresh process per measurement, so that
start-up (imports, data loading, graph building, compiling) is measured as
a user meets it.  The tutorial runs unchanged; `watch_training` notes when
each call of the training function returns.  Start-up
is the time until the first minibatch is done (a JIT backend compiles
during that call); an epoch is the time between the ends of the first
minibatches of two consecutive epochs, so it includes one epoch's
validation and test passes, as in the tutorials' own loop.

    python benchmarks/run_tutorial.py TUTORIAL N_EPOCHS MODE START_TIME

N_EPOCHS - 1 epochs are timed.  MODE is a mode name, as ``--mode`` takes
(``NUMPY``, ``NUMBA_BLAS``, ``CVM``, ``NUMBA``...).
"""

import contextlib
import io
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import pytensor  # noqa: E402
from benchmark import report  # noqa: E402
from pytensor.compile.mode import get_mode  # noqa: E402

import deeplearning_tutorial.modes  # noqa: E402,F401 (names the tutorials' own modes)
from deeplearning_tutorial import tutorials  # noqa: E402
from deeplearning_tutorial.observe import watch_training  # noqa: E402


def main():
    name, n_epochs, mode, started = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
    pytensor.config.mode = get_mode(mode)
    calls, cpu = [], []

    def mark(cost, params):
        calls.append(time.time())
        cpu.append(time.process_time())

    tutorial = tutorials.training_function(name)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        with watch_training(mark):
            tutorial(n_epochs=n_epochs)
    n_batches = tutorials.n_train_batches(name)
    report(started, calls[0], calls[::n_batches], cpu[::n_batches])


if __name__ == "__main__":
    main()
