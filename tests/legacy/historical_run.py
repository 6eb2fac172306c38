"""Run one historical tutorial function and keep a record of what it computed.

Not a test, and not run by pytest: it needs Theano 1.0.5 and the historical
tutorial's code/ folder (with its data/mnist.pkl.gz beside it). The program's
own stdout and stderr pass through untouched (they become the golden log);
beside them this writes a small JSON record:

- for every function the program compiles (in compile order, with its name
  when it has one and whether it has updates): its first ``--keep`` outputs,
  scalars as ``repr`` of a Python float, arrays as the exact sum (math.fsum)
  of their elements;
- at the end, for every shared variable that a compiled function updates
  (parameters, and the random streams' state through its default update) or
  reads and is small (not the data sets): shape, dtype, the SHA-256 of its
  bytes, its exact sum and an evenly strided sample of at most 64 values.

Usage (from the folder the program should write its pictures in):

    THEANO_FLAGS=floatX=float64,blas.ldflags=-lopenblas \\
        python historical_run.py CODE_DIR MODULE FUNCTION 'KWARGS_JSON' OUT_JSON [--keep N] \\
        > stdout.txt 2> stderr.txt

The two streams are kept apart while the program runs (a redirected stdout
is block-buffered, so one file would not keep the program's order), then
put in the program's order with

    python historical_run.py --merge MODULE stdout.txt stderr.txt LOG

Each of these programs writes to stderr only its timing lines, each right
after the stdout lines of the phase it times; ``--merge`` places them there
(dA: one after each model's epochs; SdA and DBN: one after the pretraining lines,
one at the end; the others: at the end).
"""

import argparse
import atexit
import hashlib
import json
import math
import os
import sys

import numpy

SMALL = 5_000_000  # shared variables with more elements than this are data sets; they are not recorded


def _summary(value):
    a = numpy.asarray(value)
    flat = a.ravel()
    step = max(1, -(-flat.size // 64))
    if a.dtype.kind == "f":
        sample = [repr(float(v)) for v in flat[::step]]
        total = repr(math.fsum(float(v) for v in flat))
    else:
        sample = [int(v) for v in flat[::step]]
        total = int(flat.astype(numpy.int64).sum())
    return {
        "shape": list(a.shape),
        "dtype": str(a.dtype),
        "sha256": hashlib.sha256(numpy.ascontiguousarray(a).tobytes()).hexdigest(),
        "sum": total,
        "stride": step,
        "sample": sample,
    }


def _output_record(out):
    if isinstance(out, (list, tuple)):
        return [_output_record(o) for o in out]
    a = numpy.asarray(out)
    if a.ndim == 0:
        return repr(float(a)) if a.dtype.kind == "f" else int(a)
    return {"shape": list(a.shape), "fsum": repr(math.fsum(float(v) for v in a.ravel()))}


class _Recorded:
    """A compiled function that notes its first outputs; everything else is the function's own."""

    def __init__(self, fn, entry, keep):
        self._fn, self._entry, self._keep = fn, entry, keep

    def __call__(self, *args, **kwargs):
        out = self._fn(*args, **kwargs)
        self._entry["calls"] += 1
        if len(self._entry["outputs"]) < self._keep:
            self._entry["outputs"].append(_output_record(out))
        return out

    def __getattr__(self, name):
        return getattr(self._fn, name)


def merge(module, stdout_path, stderr_path, log_path):
    """Write the program's stdout and stderr lines in the order the program printed them."""
    with open(stdout_path) as f:
        out = f.read().splitlines(True)
    with open(stderr_path) as f:
        err = f.read().splitlines(True)
    if module == "dA":
        epochs = [i for i, line in enumerate(out) if line.startswith("Training epoch")]
        cut = epochs[len(epochs) // 2 - 1] + 1
        lines = out[:cut] + err[:1] + out[cut:] + err[1:]
    elif module in ("SdA", "DBN"):
        last = max(i for i, line in enumerate(out) if line.startswith("Pre-training layer"))
        lines = out[: last + 1] + err[:1] + out[last + 1 :] + err[1:]
    else:
        lines = out + err
    tmp = log_path + ".tmp"
    with open(tmp, "w") as f:
        f.writelines(lines)
    os.replace(tmp, log_path)


def main():
    if len(sys.argv) == 6 and sys.argv[1] == "--merge":
        merge(*sys.argv[2:])
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("code_dir")
    parser.add_argument("module")
    parser.add_argument("function")
    parser.add_argument("kwargs")
    parser.add_argument("out_json")
    parser.add_argument("--keep", type=int, default=100)
    args = parser.parse_args()
    args.out_json = os.path.abspath(args.out_json)

    sys.path.insert(0, os.path.abspath(args.code_dir))
    import theano
    import theano.sandbox.rng_mrg  # noqa: F401  (binds the unwrapped function for its own helper first)
    from theano.compile.sharedvalue import SharedVariable

    record = {
        "call": "%s.%s(**%s)" % (args.module, args.function, args.kwargs),
        "floatX": theano.config.floatX,
        "functions": [],
        "shared": [],
    }
    compiled = []
    original = theano.function

    def recording_function(*fargs, **fkwargs):
        fn = original(*fargs, **fkwargs)
        entry = {
            "index": len(record["functions"]),
            "name": fkwargs.get("name"),
            "has_updates": bool(fkwargs.get("updates")),
            "calls": 0,
            "outputs": [],
        }
        record["functions"].append(entry)
        compiled.append(fn)

        return _Recorded(fn, entry, args.keep)

    theano.function = recording_function

    def finish():
        seen = set()
        for index, fn in enumerate(compiled):
            for inp in fn.maker.inputs:
                var = inp.variable
                if not isinstance(var, SharedVariable) or id(var) in seen:
                    continue
                value = var.get_value(borrow=True)
                if inp.update is None and numpy.size(value) > SMALL:
                    continue
                seen.add(id(var))
                item = {"function": index, "name": var.name, "updated": inp.update is not None}
                item.update(_summary(value))
                record["shared"].append(item)
        tmp = args.out_json + ".tmp"
        with open(tmp, "w") as f:
            json.dump(record, f, indent=1)
            f.write("\n")
        os.replace(tmp, args.out_json)

    atexit.register(finish)
    module = __import__(args.module)
    getattr(module, args.function)(**json.loads(args.kwargs))


if __name__ == "__main__":
    main()
