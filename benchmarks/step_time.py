"""Time of one call of a chapter's training step, in one mode.

The chapter runs as it always does, its printed lines going nowhere, until its training step (the function
it compiles with updates) has been compiled and called once
(`benchmarks.watch.first_training_step`); that step is then called again
and again on the chapter's own minibatches, and the median time of a call
is printed.  Under JAX this is a step with the datasets and parameters on
the device (`deeplearning_tutorial.link.jax`).

    python -m benchmarks step-time [TUTORIAL] [--mode NUMPY] [--floatX float32] [--calls 2000]

It takes the chapters trained for ``n_epochs`` epochs; the later chapters'
steps (autoencoders, RBM, DBN, HMC) are timed by ``python -m benchmarks steps``.
"""

import argparse
import contextlib
import io
import statistics
import time

from benchmarks.watch import first_training_step


def epoch_chapters():
    """The chapters trained by SGD for ``n_epochs`` epochs: those this command can start for one epoch.

    (logistic_cg takes ``n_epochs`` too, but as fmin_cg's iterations: it compiles no step with updates.)
    """
    import inspect

    from deeplearning_tutorial import tutorials

    return [
        name
        for name in tutorials.TUTORIALS
        if name != "logistic_cg" and "n_epochs" in inspect.signature(tutorials.training_function(name)).parameters
    ]


def training_step(name):
    """The compiled training step of chapter ``name``, after one call."""
    from deeplearning_tutorial import tutorials

    train = tutorials.training_function(name)
    with contextlib.redirect_stdout(io.StringIO()):
        return first_training_step(lambda: train(n_epochs=1))


def median_call_seconds(fn, calls, n_indices):
    """Median seconds of ``float(fn(i % n_indices))`` over ``calls`` calls.

    ``float`` waits for the result, as the chapters' loops do when they
    print (under JAX a call returns before the device is done).
    """
    times = []
    for i in range(calls):
        started = time.perf_counter()
        float(fn(i % n_indices))
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main(argv=None):
    from benchmarks.tutorial import select_mode
    from deeplearning_tutorial import cli, tutorials

    parser = argparse.ArgumentParser(prog="python -m benchmarks step-time", description=__doc__.splitlines()[0])
    parser.add_argument("tutorial", nargs="?", default="mlp", choices=epoch_chapters())
    parser.add_argument(
        "--mode",
        type=str.upper,
        choices=cli.mode_names(),
        metavar="MODE",
        help="as the command line's (default: NUMPY)",
    )
    parser.add_argument("--floatX", choices=("float32", "float64"), help="(default: PyTensor's, from PYTENSOR_FLAGS)")
    parser.add_argument("--calls", type=int, default=2000, help="timed calls (default: 2000)")
    args = parser.parse_args(argv)
    if args.calls < 1:
        parser.error(f"--calls must be at least 1 (got {args.calls})")

    import pytensor

    select_mode(args.mode, args.floatX)
    seconds = median_call_seconds(training_step(args.tutorial), args.calls, tutorials.n_train_batches(args.tutorial))
    config = f"{args.mode or 'NUMPY'} {pytensor.config.floatX}"
    print(f"{args.tutorial} training step, {config}: {seconds * 1e6:.0f} us per call (median of {args.calls})")


if __name__ == "__main__":
    main()
