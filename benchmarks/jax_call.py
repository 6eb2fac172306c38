"""Time of a JAX call that reads a row of shared data, with and without the data kept on the device.

A function of an index sums one row of a shared 50 000 x 784 training set
(MNIST's size).  Under the tutorials' JAX mode the set is moved to the
device once; under PyTensor's JAX mode as it is, its NumPy value is copied
to the device on every call.

    python -m benchmarks jax-call [--floatX float32] [--calls 1000]
"""

import argparse

from benchmarks.step_time import median_call_seconds


def per_call(mode, calls):
    """Median seconds of a call of the row-summing function compiled with ``mode``."""
    import numpy
    import pytensor
    import pytensor.tensor as pt

    data = pytensor.shared(numpy.ones((50000, 784), dtype=pytensor.config.floatX))
    index = pt.lscalar()
    fn = pytensor.function([index], data[index].sum(), mode=mode)
    float(fn(0))
    return median_call_seconds(fn, calls, 50000)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks jax-call", description=__doc__.splitlines()[0])
    parser.add_argument("--floatX", choices=("float32", "float64"), default="float32")
    parser.add_argument("--calls", type=int, default=1000, help="timed calls in the tutorials' mode (PyTensor's: 20)")
    args = parser.parse_args(argv)
    if args.calls < 1:
        parser.error(f"--calls must be at least 1 (got {args.calls})")

    import pytensor
    from pytensor.compile.mode import get_mode

    from deeplearning_tutorial.link import load_backend

    pytensor.config.floatX = args.floatX
    pytensor_jax = get_mode("JAX")
    tutorial_jax = load_backend(pytensor_jax)
    for name, mode, n in (("tutorials' JAX mode", tutorial_jax, args.calls), ("PyTensor's JAX mode", pytensor_jax, 20)):
        print(f"{name}: {per_call(mode, n) * 1e6:.0f} us per call ({args.floatX}, median of {n})", flush=True)


if __name__ == "__main__":
    main()
