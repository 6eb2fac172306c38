"""Start-up, epoch time and memory of the chapters under each mode, beside PyTorch, written as JSON.

For each chapter and each mode this starts the chapter twice, each time in
a fresh process (`benchmarks.tutorial`): first with empty PyTensor and
Numba caches (a new machine: the cold start), then with the caches the
first one filled (the warm start).  The epoch figures are those of the
second process.  The same models run in PyTorch (`benchmarks.torch_peers`)
when ``torch`` is importable, twice as well, and with ``--theano
PYTHON:CODE_DIR`` the historical code runs under Theano
(`benchmarks.legacy`).  What each figure means is in `benchmarks.timing`;
the JSON's layout in `benchmarks.results`.

    python -m benchmarks run [--tutorials ...] [--modes ...] [--epochs 3] [--floatX float32] [--json FILE]

The chapters are those of `deeplearning_tutorial.tutorials.TUTORIALS`; one
this benchmark cannot run yet is skipped with a note saying why.
"""

import argparse
import importlib.util
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

from benchmarks import results

#: The modes measured when ``--modes`` is not given.
MODES = ["NUMPY", "NUMBA_BLAS", "CVM", "NUMBA"]
#: The mode a chapter runs in when the user chooses none.
DEFAULT_MODE = "NUMPY"
#: Where the JSON goes when ``--json`` is not given (the date is filled in).
RESULTS_PATH = os.path.join("benchmarks", "results", "{date}.json")
#: The environment variables that set how many threads BLAS, OpenMP and PyTorch use.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


#: Measured unless --tutorials says otherwise: the chapters trained by
#: minibatch SGD for which `benchmarks.torch_peers` has the same model.
DEFAULT_CHAPTERS = ("logistic_sgd", "mlp", "convolutional_mlp")


class MeasurementError(RuntimeError):
    """A measured process failed; the message holds the end of its error output."""


def cannot_run(name):
    """Why `benchmarks.tutorial` cannot measure chapter ``name`` yet, or None if it can."""
    from deeplearning_tutorial import tutorials

    parameters = tutorials.defaults(name)
    if "n_epochs" not in parameters:
        return (
            f"its training function {tutorials.TUTORIALS[name]}() has no n_epochs parameter "
            "(training in several phases is not measured yet)"
        )
    return None


def has_torch_peer(name):
    """Whether `benchmarks.torch_peers` has chapter ``name``'s model (imports torch)."""
    from benchmarks.torch_peers import PEERS

    return name in PEERS


def start(command, env, cwd):
    """Run one measurement process (started now); return its JSON report."""
    started = time.time()
    proc = subprocess.run(command + [repr(started)], env=env, capture_output=True, text=True, cwd=cwd)
    if proc.returncode != 0:
        lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
        raise MeasurementError(lines[-1] if lines else f"exit status {proc.returncode}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def caches_in(env, cache):
    """``env`` with PyTensor's and Numba's caches in the (empty) folder ``cache``."""
    # PyTensor keeps its compiled C modules and its Numba cache under base_compiledir.
    flags = env.get("PYTENSOR_FLAGS", "")
    return dict(
        env, PYTENSOR_FLAGS=f"{flags},base_compiledir={cache}/pytensor".lstrip(","), NUMBA_CACHE_DIR=f"{cache}/numba"
    )


def measure(command, env, empty_caches):
    """Cold and warm start, epoch medians and peak memory of two processes of ``command``.

    With ``empty_caches`` the first process starts with empty PyTensor and
    Numba caches, which the second one reuses; otherwise (PyTorch, Theano,
    whose caches this does not manage) there is no cold start to report.
    """
    with tempfile.TemporaryDirectory() as cache:
        env = caches_in(env, cache) if empty_caches else env
        first = start(command, env, os.getcwd())
        second = start(command, env, os.getcwd())
    return {
        "cold_start_s": round(first["startup_s"], 4) if empty_caches else None,
        "warm_start_s": round(second["startup_s"], 4),
        "epoch_s": round(statistics.median(second["epoch_s"]), 4),
        "epoch_cpu_s": round(statistics.median(second["epoch_cpu_s"]), 4),
        "epochs_s": [round(s, 4) for s in second["epoch_s"]],
        "epochs_cpu_s": [round(s, 4) for s in second["epoch_cpu_s"]],
        "peak_rss_mb": round(max(first["peak_rss_mb"], second["peak_rss_mb"]), 1),
    }


def theano_version(python):
    """The Theano version under interpreter ``python``, or None if it cannot say."""
    command = [python, "-c", "import theano; print(theano.__version__)"]
    proc = subprocess.run(command, capture_output=True, text=True)
    return proc.stdout.strip() or None if proc.returncode == 0 else None


def parse_args(argv):
    from deeplearning_tutorial import cli, tutorials

    parser = argparse.ArgumentParser(prog="python -m benchmarks run", description=__doc__.splitlines()[0])
    chapters = list(tutorials.TUTORIALS)
    parser.add_argument(
        "--tutorials",
        nargs="+",
        default=list(DEFAULT_CHAPTERS),
        choices=chapters,
        metavar="NAME",
        help=f"of {', '.join(chapters)} (default: {' '.join(DEFAULT_CHAPTERS)})",
    )
    parser.add_argument(
        "--modes",
        nargs="+",
        type=str.upper,
        default=MODES,
        choices=cli.mode_names(),
        metavar="MODE",
        help=f"of {', '.join(cli.mode_names())} (default: {' '.join(MODES)})",
    )
    parser.add_argument("--epochs", type=int, default=3, help="epochs per process; the first is not timed (default: 3)")
    parser.add_argument("--floatX", choices=("float32", "float64"), default="float32")
    parser.add_argument(
        "--threads", type=int, help=f"threads of every runner (sets {', '.join(THREAD_VARIABLES)}; default: theirs)"
    )
    parser.add_argument("--no-torch", action="store_true", help="leave PyTorch out even when it is installed")
    parser.add_argument("--theano", metavar="PYTHON:CODE_DIR", help="also the historical code under Theano")
    parser.add_argument(
        "--shared",
        action="store_true",
        help="say that other work shared the machine (said anyway when its load was high at the start)",
    )
    parser.add_argument("--note", action="append", default=[], help="a note kept with the figures (repeatable)")
    parser.add_argument("--json", metavar="FILE", help=f"where the figures go (default: {RESULTS_PATH})")
    args = parser.parse_args(argv)
    if args.epochs < 2:
        parser.error(f"--epochs must be at least 2: the first epoch is not timed (got {args.epochs})")
    return check_shared_options(parser, args)


def check_shared_options(parser, args):
    """The checks of the options that `run` and `steps` share (--threads, --theano) and of the working folder."""
    if args.threads is not None and args.threads < 1:
        parser.error(f"--threads must be at least 1 (got {args.threads})")
    if args.theano and (":" not in args.theano or not os.path.isdir(args.theano.split(":", 1)[1])):
        parser.error(f"--theano {args.theano}: give PYTHON:CODE_DIR, CODE_DIR the folder of the historical code")
    if not os.path.isfile(os.path.join("benchmarks", "__main__.py")):
        parser.error("run it from the repository's root folder, where benchmarks/ is")
    return args


def measured_env(threads):
    """The environment of every measured process: this one's, with ``threads`` threads for each library if given."""
    env = dict(os.environ)
    if threads:
        env.update({name: str(threads) for name in THREAD_VARIABLES})
    return env


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    from deeplearning_tutorial import tutorials

    when = time.gmtime()
    path = args.json or RESULTS_PATH.format(date=time.strftime("%Y-%m-%d", when))
    load_at_start = os.getloadavg()
    env = measured_env(args.threads)
    with_torch = not args.no_torch and importlib.util.find_spec("torch") is not None
    record = results.new_record(
        date=time.strftime("%Y-%m-%dT%H:%M:%SZ", when),
        command=shlex.join(["python", "-m", "benchmarks", "run", *argv]),
        settings={
            "epochs": args.epochs,
            "timed_epochs": args.epochs - 1,
            "floatX": args.floatX,
            "threads": args.threads,
        },
    )
    if args.theano:
        record["versions"]["theano"] = theano_version(args.theano.split(":", 1)[0])
    if not with_torch:
        record["notes"].append(
            "PyTorch was left out (--no-torch)" if args.no_torch else "PyTorch is not installed: no ratios"
        )

    print(results.TABLE_HEADER, flush=True)
    failed = 0
    for name in args.tutorials:
        reason = cannot_run(name)
        if reason:
            record["skipped"].append({"tutorial": name, "reason": reason})
            print(f"{name}: skipped, {reason}", flush=True)
            continue
        runners = []
        pytensor_env = dict(env, PYTENSOR_FLAGS=f"{env.get('PYTENSOR_FLAGS', '')},floatX={args.floatX}".lstrip(","))
        for mode in args.modes:
            command = [sys.executable, "-m", "benchmarks.tutorial", name, str(args.epochs), mode]
            labels = {"runner": mode, "kind": "pytensor", "default": mode == DEFAULT_MODE}
            runners.append((labels, command, pytensor_env, True))
        if with_torch and has_torch_peer(name):
            command = [sys.executable, "-m", "benchmarks.torch_peers", name, str(args.epochs)]
            runners.append(({"runner": "PyTorch", "kind": "pytorch", "default": False}, command, env, False))
        elif with_torch:
            record["notes"].append(f"{name}: no PyTorch peer in benchmarks/torch_peers.py, so no ratio")
        if args.theano:
            python, code_dir = args.theano.split(":", 1)
            if os.path.isfile(os.path.join(code_dir, f"{name}.py")):
                theano_env = dict(env, PYTHONPATH=os.path.abspath(code_dir), THEANO_FLAGS=f"floatX={args.floatX}")
                command = [python, "-m", "benchmarks.legacy", name, tutorials.TUTORIALS[name], str(args.epochs)]
                runners.append(({"runner": "Theano", "kind": "theano", "default": False}, command, theano_env, False))
            else:
                record["notes"].append(f"{name}: not in the historical code ({code_dir}), so no Theano figures")
        for labels, command, runner_env, empty_caches in runners:
            try:
                figures = measure(command, runner_env, empty_caches)
            except MeasurementError as e:
                failed += 1
                record["failed"].append({"tutorial": name, "runner": labels["runner"], "error": str(e)})
                print(f"{name} {labels['runner']}: failed, {e}", flush=True)
                continue
            row = {"tutorial": name, **labels, **figures}
            record["results"].append(row)
            print(results.table_line(row), flush=True)

    load_at_end = os.getloadavg()
    record["machine"]["load_average"] = {"start": round(load_at_start[0], 2), "end": round(load_at_end[0], 2)}
    busy = load_at_start[0] >= 0.5 * (os.cpu_count() or 1)
    if args.shared or busy:
        record["machine"]["shared"] = True
        record["notes"].append(
            f"The machine was shared with other work (load average {load_at_start[0]:.1f} at the start, "
            f"{load_at_end[0]:.1f} at the end, on {os.cpu_count()} cores): wall-clock times are upper bounds; "
            "CPU times, and ratios taken in the same run, are steadier."
        )
    record["notes"].extend(args.note)
    results.add_ratios(record)
    results.write(path, record)
    print(f"figures written to {path}; render them with: python -m benchmarks render {path} docs/speed.md")
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
