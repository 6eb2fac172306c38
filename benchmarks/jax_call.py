"""Time of a JAX call that reads a row of shared data, with and without the data kept on the device.

A function of an index sums one row of a shared 50 000 x 784 training set
(MNIST's size; PyTensor's JAX mode cannot compile a minibatch slice).  Under the tutorials' JAX mode
the set is moved to the device once; under PyTensor's JAX mode as it is,
its NumPy value is copied to the device on every call.

    PYTENSOR_FLAGS=floatX=float32 python benchmarks/jax_call.py [CALLS]
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(HERE), HERE]

import numpy  # noqa: E402
import pytensor  # noqa: E402
import pytensor.tensor as pt  # noqa: E402
from pytensor.compile.mode import get_mode  # noqa: E402
from step_time import median_call_seconds  # noqa: E402

from deeplearning_tutorial.link import load_backend  # noqa: E402


def per_call(mode, calls):
    data = pytensor.shared(numpy.ones((50000, 784), dtype=pytensor.config.floatX))
    index = pt.lscalar()
    fn = pytensor.function([index], data[index].sum(), mode=mode)
    float(fn(0))
    return median_call_seconds(fn, calls, 50000)


def main():
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    pytensor_jax = get_mode("JAX")
    tutorial_jax = load_backend(pytensor_jax)
    for name, mode, n in (("tutorials' JAX mode", tutorial_jax, calls), ("PyTensor's JAX mode", pytensor_jax, 20)):
        print(f"{name}: {per_call(mode, n) * 1e6:.0f} us per call ({pytensor.config.floatX})", flush=True)


if __name__ == "__main__":
    main()
