"""What ``scipy.optimize.fmin_cg`` saw and returned in a logistic_cg run, at full precision.

The log of logistic_cg prints only validation errors with six digits, so
two runs can print the same lines and still compute different numbers.
This records, for one run of ``cg_optimization_mnist``, every value of
the objective (the mean training cost) that the optimizer received, a
summary of every gradient (its exact sum, ``math.fsum``, and 16 evenly
spaced entries), and the same summary, plus all of its 10 bias entries, of
the parameters that ``fmin_cg`` returns.

It wraps ``scipy.optimize.fmin_cg`` only, so the same code records the
historical Theano tutorial and our port (`tests/test_logistic_cg.py` uses
`recording`).  As a program, for the historical code (Theano 1.0.5, its
``code/`` folder with ``data/mnist.pkl.gz`` beside it):

    THEANO_FLAGS=floatX=float64,blas.ldflags=-lopenblas \\
        python cg_trace.py /path/to/DeepLearningTutorials/code N_EPOCHS OUT.json
"""

import contextlib
import json
import math
import sys

import numpy


def summary(vector, n=16):
    """Exact sum and ``n`` evenly spaced entries of a vector, as ``repr`` of Python floats."""
    flat = numpy.asarray(vector).ravel()
    step = max(1, flat.size // n)
    return {
        "fsum": repr(math.fsum(float(v) for v in flat)),
        "sample": [repr(float(v)) for v in flat[::step][:n]],
    }


@contextlib.contextmanager
def recording(scipy_optimize):
    """While the block runs, ``scipy_optimize.fmin_cg`` records into the yielded dict."""
    trace = {"f": [], "fprime": [], "callbacks": 0}
    original = scipy_optimize.fmin_cg

    def fmin_cg(f, x0, fprime=None, callback=None, **kwargs):
        def f_recorded(x):
            value = f(x)
            trace["f"].append(repr(float(value)))
            return value

        def fprime_recorded(x):
            value = fprime(x)
            trace["fprime"].append(summary(value))
            return value

        def callback_recorded(x):
            trace["callbacks"] += 1
            return callback(x)

        result = original(f_recorded, x0, fprime=fprime_recorded, callback=callback_recorded, **kwargs)
        trace["result"] = summary(result) | {"bias": [repr(float(v)) for v in numpy.asarray(result)[-10:]]}
        trace["dtype"] = str(numpy.asarray(result).dtype)
        return result

    scipy_optimize.fmin_cg = fmin_cg
    try:
        yield trace
    finally:
        scipy_optimize.fmin_cg = original


def main(code_dir, n_epochs, out):
    sys.path.insert(0, code_dir)
    import logistic_cg
    import scipy.optimize

    with recording(scipy.optimize) as trace:
        logistic_cg.cg_optimization_mnist(n_epochs=int(n_epochs))
    with open(out, "w") as f:
        json.dump(trace, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main(*sys.argv[1:])
