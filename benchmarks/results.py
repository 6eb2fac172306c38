"""The JSON record of one benchmark run: what it holds, how it is made, read and written.

``python -m benchmarks run`` writes one record (`benchmarks/results/`), and
``python -m benchmarks render`` turns it into ``docs/speed.md``.  Layout
(schema 1; times in seconds, memory in MB)::

    {
      "schema": 1,
      "date": "2026-12-03T10:50:00Z",           # UTC, when the run began
      "command": "python -m benchmarks run ...",
      "runs": 1,                                 # each figure is from this one run
      "machine": {"cpu": str, "cores": int, "memory_gib": float, "system": str,
                  "shared": bool, "load_average": {"start": float, "end": float}},
      "versions": {"python": str, "pytensor": str, "numpy": str, "numba": str|null,
                   "torch": str|null, "jax": str|null},           # null: not installed
      "settings": {"epochs": int, "timed_epochs": int, "floatX": str, "threads": int|null},
      "notes": [str],                            # said on the page as they are
      "skipped": [{"tutorial": str, "reason": str}],
      "failed": [{"tutorial": str, "runner": str, "error": str}],
      "results": [{
        "tutorial": str, "runner": str,          # runner: a mode name, "PyTorch" or "Theano"
        "kind": "pytensor" | "pytorch" | "theano",
        "default": bool,                         # the mode a chapter runs in by default
        "cold_start_s": float|null,              # null: no compile cache to empty
        "warm_start_s": float,
        "epoch_s": float, "epoch_cpu_s": float,  # medians of the timed epochs
        "epochs_s": [float], "epochs_cpu_s": [float],
        "peak_rss_mb": float,
        "ratio_to_pytorch": {"epoch_s": float, "epoch_cpu_s": float} | null
      }]
    }

A record written by ``python -m benchmarks steps`` has the same keys, an
empty ``results``, ``settings`` of ``{"calls": int, "budget_s": float,
"floatX": str, "threads": int|null, "theano_flags": str}`` (the last with
``--theano`` only), and four more keys::

      "steps": [{
        "tutorial": str, "step": str,            # step: a key of benchmarks.chapter_steps.STEPS
        "runner": str, "kind": str, "default": bool,   # as in "results"
        "cold_start_s": float|null,              # the chapter's own start to its first step, empty caches
        "step_s": float,                         # median wall-clock seconds of a call
        "step_cpu_s": float,                     # median CPU seconds of a call
        "calls": int, "peak_rss_mb": float,
        "ratio_to_pytorch": {"step_s": float, "step_cpu_s": float} | null
      }],
      "passes": [{"tutorial": str, "pass": str, "runner": str, "kind": str, "pass_s": float, "pass_cpu_s": float}],
      "step_descriptions": {step: str},
      "estimates": [{                            # full default runs, from benchmarks.steps.FULL_RUNS
        "tutorial": str, "phase": str, "steps": int,
        "minutes": {runner: float},
        "published_minutes": float|null, "published_on": str|null,
        "default_to_published": float|null       # the default mode's estimate over the published minutes
      }]

Only the standard library at import, so that the renderer and its test
start fast.
"""

import importlib.metadata
import json
import os
import platform

SCHEMA = 1

#: Libraries whose versions a record keeps (distribution names), None when not installed.
LIBRARIES = {"pytensor": "pytensor", "numpy": "numpy", "numba": "numba", "torch": "torch", "jax": "jax"}

#: The columns of the progress table `benchmarks.run` prints as it goes.
TABLE_HEADER = (
    f"{'tutorial':<18} {'runner':<10} {'cold start':>10} {'warm start':>10} {'epoch':>9} {'epoch CPU':>9} "
    f"{'peak RSS':>9}"
)


class RecordError(ValueError):
    """A file that is not a benchmark record this code can read; the message says which and why."""


def cpu_model():
    """The processor's name, as the system gives it."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine():
    """The machine this runs on: processor, cores, memory, system."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": round(memory / 2**30, 1),
        "system": f"{platform.system()} {platform.release()} {platform.machine()}",
        "shared": False,
    }


def versions():
    """Python's version and those of `LIBRARIES` (None for one not installed)."""
    found = {"python": platform.python_version()}
    for key, distribution in LIBRARIES.items():
        try:
            found[key] = importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            found[key] = None
    return found


def new_record(date, command, settings):
    """An empty record of a run started at ``date`` (ISO 8601, UTC) by ``command``, on this machine."""
    return {
        "schema": SCHEMA,
        "date": date,
        "command": command,
        "runs": 1,
        "machine": machine(),
        "versions": versions(),
        "settings": settings,
        "notes": [],
        "skipped": [],
        "failed": [],
        "results": [],
    }


def add_ratios(record):
    """Set each result's ``ratio_to_pytorch``: its epoch medians over PyTorch's for the same chapter in this run."""
    torch = {row["tutorial"]: row for row in record["results"] if row["kind"] == "pytorch"}
    for row in record["results"]:
        peer = torch.get(row["tutorial"])
        row["ratio_to_pytorch"] = (
            None
            if peer is None
            else {key: round(row[key] / peer[key], 4) for key in ("epoch_s", "epoch_cpu_s") if peer[key] > 0} or None
        )


def table_line(row):
    """One result as a line of the progress table (`TABLE_HEADER`)."""
    cold = "" if row["cold_start_s"] is None else f"{row['cold_start_s']:.1f} s"
    return (
        f"{row['tutorial']:<18} {row['runner']:<10} {cold:>10} {row['warm_start_s']:>8.1f} s "
        f"{row['epoch_s']:>7.3f} s {row['epoch_cpu_s']:>7.3f} s {row['peak_rss_mb']:>6.0f} MB"
    )


def write(path, record):
    """Write ``record`` to ``path`` as indented JSON, atomically."""
    from deeplearning_tutorial.data import atomic_write

    with atomic_write(path) as tmp:
        with open(tmp, "w") as f:
            json.dump(record, f, indent=1)
            f.write("\n")


#: The keys every record and every result must have.
RECORD_KEYS = ("schema", "date", "command", "runs", "machine", "versions", "settings", "notes", "results")
WHAT_TO_GIVE = "give a file that python -m benchmarks run (or steps) wrote"
RESULT_KEYS = ("tutorial", "runner", "kind", "cold_start_s", "warm_start_s", "epoch_s", "epoch_cpu_s", "peak_rss_mb")
STEP_KEYS = ("tutorial", "step", "runner", "kind", "cold_start_s", "step_s", "step_cpu_s", "calls")


def load(path):
    """The record in ``path``; `RecordError` if it cannot be read or is not a record of this schema."""
    try:
        with open(path) as f:
            record = json.load(f)
    except OSError as e:
        raise RecordError(f"{path}: cannot read it ({e.strerror})") from None
    except json.JSONDecodeError as e:
        raise RecordError(f"{path}: not JSON ({e.msg}, line {e.lineno}); {WHAT_TO_GIVE}") from None
    if not isinstance(record, dict) or record.get("schema") != SCHEMA:
        raise RecordError(f"{path}: not a benchmark record of schema {SCHEMA}; {WHAT_TO_GIVE}")
    missing = [key for key in RECORD_KEYS if key not in record]
    if not missing and "steps" in record:
        missing = [key for key in ("passes", "step_descriptions", "estimates") if key not in record]
    if not missing:
        missing = sorted({key for row in record["results"] for key in RESULT_KEYS if key not in row})
        missing += sorted({key for row in record.get("steps", []) for key in STEP_KEYS if key not in row})
    if missing:
        raise RecordError(f"{path}: the record lacks {', '.join(missing)}; {WHAT_TO_GIVE}")
    return record
