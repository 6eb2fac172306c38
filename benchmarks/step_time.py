"""Time one call of a tutorial's training step, in the mode PYTENSOR_FLAGS chooses.

The tutorial runs until its training function is compiled and called once;
then that function is called again and again on the same minibatches, and
the median time per call is printed.  Under JAX this is the time of a step
with the datasets and parameters on the device (`link/jax/linker.py`).

    PYTENSOR_FLAGS=mode=JAX,floatX=float32 python benchmarks/step_time.py [TUTORIAL] [CALLS]
"""

import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import pytensor  # noqa: E402

from deeplearning_tutorial import tutorials  # noqa: E402


class Compiled(Exception):
    """Ends the tutorial once its training step exists."""


def training_step(name):
    """The compiled training function of tutorial ``name`` (the one with updates)."""
    compile_function = pytensor.function
    found = []

    def capture(*args, **kwargs):
        fn = compile_function(*args, **kwargs)
        if kwargs.get("updates"):
            found.append(fn)
            raise Compiled
        return fn

    pytensor.function = capture
    try:
        tutorials.training_function(name)(n_epochs=1)
    except Compiled:
        return found[0]
    finally:
        pytensor.function = compile_function


def median_call_seconds(fn, calls, n_indices):
    """Median seconds of ``float(fn(i % n_indices))`` over ``calls`` calls.

    ``float`` waits for the result, as the tutorials' loops do when they
    print (under JAX a call returns before the device is done).
    """
    times = []
    for i in range(calls):
        started = time.perf_counter()
        float(fn(i % n_indices))
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main():
    name = sys.argv[1] if len(sys.argv) > 1 else "mlp"
    calls = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    seconds = median_call_seconds(training_step(name), calls, tutorials.n_train_batches(name))
    config = f"{pytensor.config.mode} {pytensor.config.floatX}"
    print(f"{name} training step, {config}: {seconds * 1e6:.0f} us per call (median of {calls})")


if __name__ == "__main__":
    main()
