"""The later chapters' training steps beside PyTorch and the historical code, and their full runs estimated.

For each chapter (dA, cA, SdA, logistic_cg, rbm, hmc, DBN) this times its
steps (`benchmarks.chapter_steps.STEPS`) in fresh processes, one after the
other: this package in each mode, with empty PyTensor and Numba caches, so
that each process also gives the chapter's cold start (from its start to
the end of the chapter's first training step); the same steps in PyTorch
(`benchmarks.torch_steps`) when it is installed; and with ``--theano
PYTHON:CODE_DIR`` the historical code's steps under Theano (``THEANO_FLAGS``
from the environment, with ``floatX`` added).  From the step times it
estimates each chapter's full default run (`FULL_RUNS`), beside the
minutes the historical tutorial published.  Writes the figures as JSON
(`benchmarks.results`), which ``python -m benchmarks render`` puts on the
speed page.

    python -m benchmarks steps [--tutorials ...] [--modes NUMPY] [--calls 300] [--budget 10] [--theano PY:DIR]
"""

import argparse
import importlib.util
import os
import shlex
import sys
import tempfile
import time

from benchmarks import results
from benchmarks.run import (
    DEFAULT_MODE,
    THREAD_VARIABLES,
    MeasurementError,
    caches_in,
    check_shared_options,
    measured_env,
    start,
    theano_version,
)

#: Where the JSON goes when ``--json`` is not given (the date is filled in).
RESULTS_PATH = os.path.join("benchmarks", "results", "{date}-steps.json")

#: The chapters measured, in the order of the tutorial text.
CHAPTERS = ("logistic_cg", "dA", "SdA", "cA", "rbm", "DBN", "hmc")

#: The historical tutorial's published times of its full default runs (doc/*.txt), where it gave one.
PUBLISHED = {
    "SdA": "Intel Xeon E5430 at 2.66 GHz, single-threaded GotoBLAS",
    "rbm": "Intel Xeon E5430 at 2.66 GHz, single-threaded GotoBLAS",
    "DBN": "Intel Xeon X5560 at 2.80 GHz, MKL on 4 cores",
}

#: Chapter -> the phases of its full default run: (what, {step: calls}, {pass: calls}, published minutes or None).
#: A test pass has the validation pass's size; both are counted every epoch, which bounds the test passes
#: (they follow an improvement only) from above.
FULL_RUNS = {
    "logistic_cg": [
        (
            "50 iterations: 89 objective and gradient evaluations, 50 validation and at most 50 test passes",
            {"logistic_cg": 89},
            {"logistic_cg validation pass": 100},
            None,
        )
    ],
    "dA": [("two models, 15 epochs of 2 500 steps each", {"dA": 75_000}, {}, None)],
    "SdA": [
        (
            "pretraining: 3 layers, 15 epochs of 50 000 steps each",
            {f"SdA pretraining layer {i}": 750_000 for i in range(3)},
            {},
            585.01,
        ),
        (
            "fine-tuning: 36 epochs of 50 000 steps, validation and test passes",
            {"SdA fine-tuning": 1_800_000},
            {"SdA validation pass": 72},
            444.2,
        ),
    ],
    "cA": [("20 epochs of 5 000 steps", {"cA": 100_000}, {}, None)],
    "rbm": [
        ("training: 15 epochs of 2 500 PCD-15 steps (sampling after it not counted)", {"rbm": 37_500}, {}, 122.466)
    ],
    "DBN": [
        (
            "pretraining: 3 layers, 100 epochs of 5 000 CD-1 steps each",
            {f"DBN pretraining layer {i}": 500_000 for i in range(3)},
            {},
            615.0,
        ),
        (
            "fine-tuning: 46 epochs of 5 000 steps, validation and test passes",
            {"DBN fine-tuning": 230_000},
            {"DBN validation pass": 92},
            101.0,
        ),
    ],
    "hmc": [("test_hmc: 2 000 draws", {"hmc": 2_000}, {}, None)],
}


def estimate_minutes(step_calls, pass_calls, step_s, pass_s):
    """Minutes of ``step_calls`` and ``pass_calls`` ({key: calls}) at ``step_s`` and ``pass_s`` ({key: seconds} each).

    None when a key has no time.
    """
    total = 0.0
    for calls, seconds in ((step_calls, step_s), (pass_calls, pass_s)):
        for key, n in calls.items():
            if key not in seconds:
                return None
            total += n * seconds[key]
    return total / 60.0


def add_ratios(record):
    """Each step's ``ratio_to_pytorch``: its times over those of the same step in PyTorch in this run."""
    torch = {row["step"]: row for row in record["steps"] if row["kind"] == "pytorch"}
    for row in record["steps"]:
        peer = torch.get(row["step"])
        row["ratio_to_pytorch"] = (
            None
            if peer is None
            else {key: round(row[key] / peer[key], 4) for key in ("step_s", "step_cpu_s") if peer[key] > 0} or None
        )


def add_estimates(record):
    """The full default runs estimated from the record's step and pass times, runner by runner (median times)."""
    runners = list(dict.fromkeys(row["runner"] for row in record["steps"]))
    record["estimates"] = []
    for tutorial, phases in FULL_RUNS.items():
        for what, step_calls, pass_calls, published in phases:
            minutes = {}
            for runner in runners:
                step_s = {r["step"]: r["step_s"] for r in record["steps"] if r["runner"] == runner}
                pass_s = {r["pass"]: r["pass_s"] for r in record["passes"] if r["runner"] == runner}
                value = estimate_minutes(step_calls, pass_calls, step_s, pass_s)
                if value is not None:
                    minutes[runner] = round(value, 4)
            if not minutes:
                continue
            default = next((m for r, m in minutes.items() if r == DEFAULT_MODE), None)
            record["estimates"].append(
                {
                    "tutorial": tutorial,
                    "phase": what,
                    "steps": sum(step_calls.values()),
                    "minutes": minutes,
                    "published_minutes": published,
                    "published_on": PUBLISHED.get(tutorial) if published else None,
                    "default_to_published": None
                    if published is None or default is None
                    else round(default / published, 4),
                }
            )


def parse_args(argv):
    from deeplearning_tutorial import cli

    parser = argparse.ArgumentParser(prog="python -m benchmarks steps", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--tutorials",
        nargs="+",
        default=list(CHAPTERS),
        choices=CHAPTERS,
        metavar="NAME",
        help=f"of {', '.join(CHAPTERS)}",
    )
    parser.add_argument(
        "--modes",
        nargs="+",
        type=str.upper,
        default=[DEFAULT_MODE],
        choices=cli.mode_names(),
        metavar="MODE",
        help=f"of {', '.join(cli.mode_names())} (default: {DEFAULT_MODE})",
    )
    parser.add_argument("--calls", type=int, default=300, help="timed calls of each step at most (default: 300)")
    parser.add_argument(
        "--budget", type=float, default=10.0, help="seconds after which a step's timing stops (default: 10)"
    )
    parser.add_argument("--floatX", choices=("float32", "float64"), default="float32")
    parser.add_argument(
        "--threads", type=int, help=f"threads of every runner (sets {', '.join(THREAD_VARIABLES)}; default: theirs)"
    )
    parser.add_argument("--no-torch", action="store_true", help="leave PyTorch out even when it is installed")
    parser.add_argument("--theano", metavar="PYTHON:CODE_DIR", help="also the historical code under Theano")
    parser.add_argument("--note", action="append", default=[], help="a note kept with the figures (repeatable)")
    parser.add_argument("--json", metavar="FILE", help=f"where the figures go (default: {RESULTS_PATH})")
    args = parser.parse_args(argv)
    if args.calls < 5:
        parser.error(f"--calls must be at least 5 (got {args.calls})")
    if args.budget <= 0:
        parser.error(f"--budget must be a positive number of seconds (got {args.budget})")
    return check_shared_options(parser, args)


def runners(name, args, env):
    """(labels, command, environment, whether to empty the caches) of each process that measures ``name``."""
    from deeplearning_tutorial import tutorials

    measure = [str(args.calls), str(args.budget)]
    found = []
    if name in tutorials.TUTORIALS:
        pytensor_env = dict(env, PYTENSOR_FLAGS=f"{env.get('PYTENSOR_FLAGS', '')},floatX={args.floatX}".lstrip(","))
        for mode in args.modes:
            command = [sys.executable, "-m", "benchmarks.chapter_steps", "pytensor", name, mode, *measure]
            found.append(
                ({"runner": mode, "kind": "pytensor", "default": mode == DEFAULT_MODE}, command, pytensor_env, True)
            )
    if not args.no_torch and importlib.util.find_spec("torch") is not None:
        command = [sys.executable, "-m", "benchmarks.torch_steps", name, args.floatX, *measure]
        found.append(({"runner": "PyTorch", "kind": "pytorch", "default": False}, command, env, False))
    if args.theano:
        python, code_dir = args.theano.split(":", 1)
        flags = f"{env.get('THEANO_FLAGS', '')},floatX={args.floatX}".lstrip(",")
        theano_env = dict(env, PYTHONPATH=os.path.abspath(code_dir), THEANO_FLAGS=flags)
        command = [python, "-m", "benchmarks.chapter_steps", "theano", name, "-", *measure]
        found.append(({"runner": "Theano", "kind": "theano", "default": False}, command, theano_env, False))
    return found


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    from benchmarks.chapter_steps import STEPS
    from deeplearning_tutorial import tutorials

    when = time.gmtime()
    path = args.json or RESULTS_PATH.format(date=time.strftime("%Y-%m-%d", when))
    load_at_start = os.getloadavg()
    env = measured_env(args.threads)
    record = results.new_record(
        date=time.strftime("%Y-%m-%dT%H:%M:%SZ", when),
        command=shlex.join(["python", "-m", "benchmarks", "steps", *argv]),
        settings={"calls": args.calls, "budget_s": args.budget, "floatX": args.floatX, "threads": args.threads},
    )
    record.update(steps=[], passes=[], step_descriptions={})
    if args.theano:
        record["versions"]["theano"] = theano_version(args.theano.split(":", 1)[0])
        record["settings"]["theano_flags"] = f"{env.get('THEANO_FLAGS', '')},floatX={args.floatX}".lstrip(",")
    failed = 0
    for name in args.tutorials:
        if name not in tutorials.TUTORIALS:
            record["skipped"].append({"tutorial": name, "reason": "not in this package yet: no figures of ours"})
        for labels, command, runner_env, empty_caches in runners(name, args, env):
            try:
                with tempfile.TemporaryDirectory() as cache:
                    report = start(command, caches_in(runner_env, cache) if empty_caches else runner_env, os.getcwd())
            except MeasurementError as e:
                failed += 1
                record["failed"].append({"tutorial": name, "runner": labels["runner"], "error": str(e)})
                print(f"{name} {labels['runner']}: failed, {e}", flush=True)
                continue
            cold = None if report["startup_s"] is None else round(report["startup_s"], 2)
            for step, figures in report["steps"].items():
                row = {"tutorial": name, "step": step, **labels, "cold_start_s": cold}
                row.update(
                    step_s=round(figures["s"], 7),
                    step_cpu_s=round(figures["cpu_s"], 7),
                    calls=figures["calls"],
                    peak_rss_mb=round(report["peak_rss_mb"], 1),
                )
                record["steps"].append(row)
                record["step_descriptions"][step] = STEPS[step]
                print(f"{name:<12} {labels['runner']:<10} {step:<26} {figures['s'] * 1e3:10.3f} ms", flush=True)
            for key, figures in report["passes"].items():
                record["passes"].append(
                    {"tutorial": name, "pass": key, "runner": labels["runner"], "kind": labels["kind"]}
                    | {"pass_s": round(figures["s"], 5), "pass_cpu_s": round(figures["cpu_s"], 5)}
                )

    load_at_end = os.getloadavg()
    record["machine"]["load_average"] = {"start": round(load_at_start[0], 2), "end": round(load_at_end[0], 2)}
    if load_at_start[0] >= 0.5 * (os.cpu_count() or 1) or load_at_end[0] >= 0.5 * (os.cpu_count() or 1):
        record["machine"]["shared"] = True
        record["notes"].append(
            f"The machine was shared with other work (load average {load_at_start[0]:.1f} at the start, "
            f"{load_at_end[0]:.1f} at the end, on {os.cpu_count()} cores): wall-clock times are upper bounds; "
            "CPU times, and ratios taken in the same run, are steadier."
        )
    record["notes"].extend(args.note)
    add_ratios(record)
    add_estimates(record)
    results.write(path, record)
    print(f"figures written to {path}; render them with: python -m benchmarks render ... {path} docs/speed.md")
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
