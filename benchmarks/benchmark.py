"""Side-by-side timings of the tutorials under each PyTensor mode and PyTorch.

For each tutorial and each mode this starts the tutorial twice in a fresh
process (``run_tutorial.py``): first with empty PyTensor and Numba caches
(a new machine), then again with the caches the first run filled.  It
prints the start-up time of both (until the first training minibatch is
done), the median epoch time of the warm run (wall-clock and CPU time),
and its peak resident memory.
When ``torch`` is importable the same models run in PyTorch
(``torch_peers.py``), and with ``--theano PYTHON:CODE_DIR`` the historical
Theano code runs too (CODE_DIR holds the old ``logistic_sgd.py`` etc.;
PYTHON is an interpreter with Theano installed).

    python benchmarks/benchmark.py [--tutorials ...] [--modes ...] [--epochs N] [--floatX float32]
"""

import argparse
import importlib.util
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

from deeplearning_tutorial.tutorials import TUTORIALS, n_train_batches  # noqa: E402

MODES = ["NUMPY", "NUMBA_BLAS", "CVM", "NUMBA"]
# Runs the historical code under another interpreter, where Theano is
# installed; the observer module imports nothing of ours but itself.
LEGACY_HOOK = """
import json, resource, sys, time
root, code_dir, n_batches, name, function, n_epochs, started = sys.argv[1:8]
n_batches, n_epochs, started = int(n_batches), int(n_epochs), float(started)
sys.path[:0] = [code_dir, root]
from deeplearning_tutorial.observe import watch_training
calls = []
with watch_training(lambda cost, params: calls.append(time.time()), library="theano"):
    getattr(__import__(name), function)(n_epochs=n_epochs)
marks = calls[::n_batches]
print(json.dumps({"startup_s": calls[0] - started, "epoch_s": [b - a for a, b in zip(marks, marks[1:])],
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def report(started, first_minibatch_done, epoch_marks, cpu_marks):
    """Print one measurement process's JSON report (read by `run`).

    ``cpu_marks`` are the process's CPU times (`time.process_time`) at the
    ``epoch_marks``: on a machine shared with other work, an epoch's CPU
    time varies less than its wall-clock time, which counts the time the
    process waited for a core.
    """
    print(
        json.dumps(
            {
                "startup_s": first_minibatch_done - started,
                "epoch_s": [b - a for a, b in zip(epoch_marks, epoch_marks[1:])],
                "epoch_cpu_s": [b - a for a, b in zip(cpu_marks, cpu_marks[1:])],
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


def run(command, env, cwd):
    """Run one measurement process; return its JSON report."""
    started = time.time()
    proc = subprocess.run(command + [repr(started)], env=env, capture_output=True, text=True, cwd=cwd)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def measure(command, env, cold):
    """Start-up (cold and warm), median epoch and peak memory of ``command``."""
    with tempfile.TemporaryDirectory() as cache:
        env = dict(env)
        if cold:
            # Empty caches, as on a new machine; the warm run reuses them.
            # PyTensor keeps its C modules and its Numba cache under base_compiledir.
            env["PYTENSOR_FLAGS"] = f"{env.get('PYTENSOR_FLAGS', '')},base_compiledir={cache}/pytensor".lstrip(",")
            env["NUMBA_CACHE_DIR"] = f"{cache}/numba"
        first = run(command, env, cache)
        second = run(command, env, cache)
    return {
        "cold_s": first["startup_s"] if cold else None,
        "warm_s": second["startup_s"],
        "epoch_s": statistics.median(second["epoch_s"]),
        "epoch_cpu_s": statistics.median(second["epoch_cpu_s"]) if "epoch_cpu_s" in second else None,
        "peak_mb": max(first["peak_rss_mb"], second["peak_rss_mb"]),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tutorials", nargs="+", default=list(TUTORIALS), choices=list(TUTORIALS))
    parser.add_argument("--modes", nargs="+", default=MODES)
    parser.add_argument("--epochs", type=int, default=4, help="epochs per run (the first one is not timed)")
    parser.add_argument("--floatX", default="float32")
    parser.add_argument("--theano", help="PYTHON:CODE_DIR of the historical code under Theano")
    args = parser.parse_args()
    if args.epochs < 2:
        parser.error(f"--epochs must be at least 2: the first epoch is not timed (got {args.epochs})")

    print(
        f"{'tutorial':<18} {'runner':<10} {'cold start':>10} {'warm start':>10} {'epoch':>9} {'epoch CPU':>9} "
        f"{'peak RSS':>9}"
    )
    for tutorial in args.tutorials:
        rows = []
        for mode in args.modes:
            env = dict(os.environ, PYTENSOR_FLAGS=f"floatX={args.floatX}")
            command = [sys.executable, os.path.join(HERE, "run_tutorial.py"), tutorial, str(args.epochs), mode]
            rows.append((mode, measure(command, env, cold=True)))
        if importlib.util.find_spec("torch"):
            command = [sys.executable, os.path.join(HERE, "torch_peers.py"), tutorial, str(args.epochs)]
            rows.append(("PyTorch", measure(command, dict(os.environ), cold=False)))
        if args.theano:
            python, code_dir = args.theano.split(":", 1)
            batches, function = str(n_train_batches(tutorial)), TUTORIALS[tutorial]
            command = [python, "-c", LEGACY_HOOK, ROOT, code_dir, batches, tutorial, function, str(args.epochs)]
            env = dict(os.environ, THEANO_FLAGS=f"floatX={args.floatX}")
            rows.append(("Theano", measure(command, env, cold=False)))
        for runner, r in rows:
            cold = "" if r["cold_s"] is None else f"{r['cold_s']:.1f} s"
            cpu = "" if r["epoch_cpu_s"] is None else f"{r['epoch_cpu_s']:.3f} s"
            print(
                f"{tutorial:<18} {runner:<10} {cold:>10} {r['warm_s']:>8.1f} s {r['epoch_s']:>7.3f} s {cpu:>9} "
                f"{r['peak_mb']:>6.0f} MB",
                flush=True,
            )


if __name__ == "__main__":
    main()
