"""One chapter of this package, trained for a few epochs in one mode, in a process of its own.

Started by `benchmarks.run` for each measurement, so that start-up is
measured as a user meets it::

    python -m benchmarks.tutorial TUTORIAL N_EPOCHS MODE STARTED

MODE is a name that ``--mode`` of the command line takes (``NUMPY``,
``NUMBA_BLAS``, ``JAX``...) and is applied the way the command line
applies it; STARTED is the parent's `time.time` when it started this
process.  The chapter's training function runs unchanged with
``n_epochs=N_EPOCHS`` and its historical defaults otherwise, its printed
lines going nowhere; `benchmarks.watch` sees its training steps.  The
last line printed is the JSON of `benchmarks.timing`.
"""

import argparse
import contextlib
import io
import sys

from benchmarks.timing import EpochClock, marks_epochs
from benchmarks.watch import watch_training


def select_mode(mode, floatX=None):
    """Compile the chapters with ``mode`` in ``floatX``, as ``--mode`` and ``--floatX`` of the command line do.

    ``None`` leaves the choice to PyTensor's configuration (``PYTENSOR_FLAGS``)
    and the command line's defaults.
    """
    from deeplearning_tutorial import cli

    try:
        cli.configure(argparse.Namespace(floatX=floatX, mode=mode))
    except cli.UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.tutorial", description=__doc__.splitlines()[0])
    parser.add_argument("tutorial")
    parser.add_argument("n_epochs", type=int)
    parser.add_argument("mode")
    parser.add_argument("started", type=float)
    args = parser.parse_args(argv)

    from deeplearning_tutorial import tutorials

    select_mode(args.mode)
    clock = EpochClock(args.started)
    train = tutorials.training_function(args.tutorial)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        with watch_training(marks_epochs(clock)):
            train(n_epochs=args.n_epochs)
    clock.print_report()


if __name__ == "__main__":
    main()
