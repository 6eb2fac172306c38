"""The historical tutorial code under Theano, trained for a few epochs, in a process of its own.

Started by `benchmarks.run --theano PYTHON:CODE_DIR` with PYTHON, an
interpreter where Theano is installed, and with CODE_DIR (the folder of
the historical ``logistic_sgd.py``, ``mlp.py``...) on ``PYTHONPATH``::

    python -m benchmarks.legacy MODULE FUNCTION N_EPOCHS STARTED

The historical code runs as it was written; `benchmarks.watch` sees its
training steps through ``theano.function``.  It imports only the standard
library and Theano's tutorial code, nothing of this package.  The last
line printed is the JSON of `benchmarks.timing`.
"""

import argparse
import contextlib
import importlib
import io

from benchmarks.timing import EpochClock, marks_epochs
from benchmarks.watch import watch_training


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.legacy", description=__doc__.splitlines()[0])
    parser.add_argument("module")
    parser.add_argument("function")
    parser.add_argument("n_epochs", type=int)
    parser.add_argument("started", type=float)
    args = parser.parse_args(argv)

    clock = EpochClock(args.started)
    train = getattr(importlib.import_module(args.module), args.function)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        with watch_training(marks_epochs(clock), library="theano"):
            train(n_epochs=args.n_epochs)
    clock.print_report()


if __name__ == "__main__":
    main()
