"""Write docs/speed.md from the JSON record of one benchmark run.

Every figure on the page comes from the record (`benchmarks.results`):
the tables, the machine, the date, the versions, the notes, and the ratios
to PyTorch measured in the same run.  The page says it is generated; to
change it, run the benchmark again or change this renderer.

    python -m benchmarks render RESULTS.json [MORE.json ...] [docs/speed.md]

Each record (of ``benchmarks run``: epochs; of ``benchmarks steps``:
training steps and full-run estimates) has a section of its own, in the
order given.
"""

import argparse
import sys

from benchmarks import results

DEFAULT_PAGE = "docs/speed.md"

#: Library names as the page writes them.
NAMES = {
    "python": "Python",
    "pytensor": "PyTensor",
    "numpy": "NumPy",
    "numba": "Numba",
    "torch": "PyTorch",
    "jax": "JAX",
    "theano": "Theano",
}

COLUMNS = (
    "| tutorial | runner | cold start | warm start | epoch | epoch CPU | epoch / PyTorch | CPU / PyTorch | peak RSS |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
)

EXPLANATION = """\
What the columns mean:

- **cold start**: from starting the process to the end of the first
  training minibatch, with empty PyTensor and Numba caches, as on a new
  machine (imports, reading MNIST, building and compiling the graphs, the
  first step). Blank for runners whose compile caches the benchmark does
  not manage (PyTorch, Theano).
- **warm start**: the same in a second process, which finds the caches
  the first one filled.
- **epoch**: median wall-clock time of the second process's timed epochs
  (all training minibatches, then that epoch's validation and test
  passes, as in the tutorials' loop; the first epoch is not timed).
- **epoch CPU**: the process's CPU time over the same epochs; when other
  work shares the machine it moves less than the wall-clock time.
- **epoch / PyTorch**, **CPU / PyTorch**: the epoch and epoch CPU over
  those of the same model in PyTorch, measured in the same run (below 1:
  faster than PyTorch).
- **peak RSS**: the larger peak resident memory of the two processes.
"""


def seconds(value, digits):
    return "" if value is None else f"{value:.{digits}f} s"


def ratio(row, key):
    ratios = row.get("ratio_to_pytorch")
    if row["kind"] == "pytorch":
        return "1"
    if not ratios or key not in ratios:
        return ""
    return f"{ratios[key]:.2f}"


def runner_name(row, versions):
    """The runner as the table names it: a mode, "(default)" for the default one, or a library and its version."""
    if row["kind"] == "pytensor":
        return f"{row['runner']} (default)" if row.get("default") else row["runner"]
    version = versions.get({"pytorch": "torch", "theano": "theano"}.get(row["kind"], ""))
    return f"{row['runner']} {version}" if version else row["runner"]


def table(record):
    """The results as a Markdown table, chapter by chapter in the order they ran."""
    lines = list(COLUMNS)
    for row in record["results"]:
        cells = (
            row["tutorial"],
            runner_name(row, record["versions"]),
            seconds(row["cold_start_s"], 1),
            seconds(row["warm_start_s"], 1),
            seconds(row["epoch_s"], 3),
            seconds(row["epoch_cpu_s"], 3),
            ratio(row, "epoch_s"),
            ratio(row, "epoch_cpu_s"),
            f"{row['peak_rss_mb']:.0f} MB",
        )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def about(record):
    """The lines that say where, when and with what a record's figures were taken."""
    machine, versions = record["machine"], record["versions"]
    installed = ", ".join(f"{NAMES.get(key, key)} {value}" for key, value in versions.items() if value)
    where = "shared with other work" if machine.get("shared") else "with no other work noted"
    load = machine.get("load_average")
    if load:
        where += f" (load average {load['start']:g} at the start, {load['end']:g} at the end)"
    return [
        f"**Machine:** {machine['cpu']}, {machine['cores']} cores, {machine['memory_gib']:g} GiB of memory, "
        f"{machine['system']}; {where}.",
        f"**Versions:** {installed}.",
    ]


def lists(record):
    """The record's notes, and what it skipped or failed to measure."""
    parts = []
    if record["notes"]:
        parts.append("Notes:\n\n" + "\n".join(f"- {note}" for note in record["notes"]))
    if record.get("skipped"):
        parts.append(
            "Not measured:\n\n" + "\n".join(f"- {item['tutorial']}: {item['reason']}" for item in record["skipped"])
        )
    if record.get("failed"):
        parts.append(
            "Failed in this run:\n\n"
            + "\n".join(f"- {item['tutorial']}, {item['runner']}: {item['error']}" for item in record["failed"])
        )
    return parts


def epochs_section(record):
    """The parts of the page for a record of ``python -m benchmarks run``."""
    settings = record["settings"]
    date, clock = record["date"][:10], record["date"][11:16]
    timed = settings["timed_epochs"]
    threads = settings.get("threads")
    runs = "one run" if record["runs"] == 1 else f"{record['runs']} runs"
    machine = record["machine"]
    where = "shared with other work" if machine.get("shared") else "with no other work noted"
    installed = ", ".join(f"{NAMES.get(key, key)} {value}" for key, value in record["versions"].items() if value)
    parts = [
        f"Figures of {runs} of `{record['command']}` on {date} at {clock} UTC, in {settings['floatX']}: "
        f"{timed} timed epoch{'s' if timed > 1 else ''} per process, after one untimed epoch"
        + (f", every runner on {threads} thread{'s' if threads > 1 else ''}" if threads else "")
        + ". Times from a single run move between runs; the ratios to PyTorch, "
        "measured in the same run on the same machine, move less.",
        f"**Machine:** {machine['cpu']}, {machine['cores']} cores, {machine['memory_gib']:g} GiB of memory, "
        f"{machine['system']}; {where}.",
        f"**Versions:** {installed}.",
        table(record),
    ]
    return parts + lists(record) + [EXPLANATION.rstrip()]


STEP_COLUMNS = (
    "| tutorial | step | runner | cold start | step | step CPU | step / PyTorch | CPU / PyTorch | calls |",
    "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
)

STEP_EXPLANATION = """\
What the columns mean:

- **cold start**: from starting the process to the end of the chapter's
  own first training step (its training function with its defaults), with
  empty PyTensor and Numba caches. Blank for PyTorch and Theano.
- **step**: median wall-clock time of one call of the step, after one
  untimed call; **step CPU**: the median of the process's CPU time in a
  call (on a shared machine it moves less than the wall-clock time).
- **step / PyTorch**, **CPU / PyTorch**: over those of the same step in
  PyTorch, measured in the same run (below 1: faster than PyTorch).
- **calls**: how many calls were timed.
- The full runs are estimated as the number of steps of each kind times
  its median time, plus the evaluation passes times theirs; the published
  minutes are those of the historical tutorial's documentation, on the
  machine it names, not this one.
"""


def milliseconds(value):
    return f"{value * 1e3:.3f} ms" if value < 1 else f"{value:.3f} s"


def minutes(value):
    if value is None:
        return ""
    if value < 1:
        return f"{value * 60:.1f} s"
    return f"{value:.1f} min" if value < 100 else f"{value:.0f} min"


def steps_table(record):
    lines = list(STEP_COLUMNS)
    for row in record["steps"]:
        cells = (
            row["tutorial"],
            row["step"],
            runner_name(row, record["versions"]),
            seconds(row["cold_start_s"], 1),
            milliseconds(row["step_s"]),
            milliseconds(row["step_cpu_s"]),
            ratio(row, "step_s"),
            ratio(row, "step_cpu_s"),
            str(row["calls"]),
        )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def estimates_table(record):
    """The full-run estimates: one column per runner, then the published minutes and the ratio to them."""
    names = {row["runner"]: runner_name(row, record["versions"]) for row in record["steps"]}
    runners = [r for r in names if any(r in e["minutes"] for e in record["estimates"])]
    lines = [
        "| tutorial | phase | steps | "
        + " | ".join(names[r] for r in runners)
        + " | published | default / published |",
        "| --- | --- | ---: | " + " | ".join("---:" for _ in runners) + " | ---: | ---: |",
    ]
    for row in record["estimates"]:
        share = row["default_to_published"]
        cells = (
            row["tutorial"],
            row["phase"],
            f"{row['steps']:,}",
            *(minutes(row["minutes"].get(r)) for r in runners),
            minutes(row["published_minutes"]),
            "" if share is None else f"{share:.3f}",
        )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def steps_section(record):
    """The parts of the page for a record of ``python -m benchmarks steps``."""
    settings = record["settings"]
    date, clock = record["date"][:10], record["date"][11:16]
    threads = settings.get("threads")
    runs = "one run" if record["runs"] == 1 else f"{record['runs']} runs"
    parts = [
        f"Figures of {runs} of `{record['command']}` on {date} at {clock} UTC, in {settings['floatX']}: each "
        f"step timed in a fresh process over at most {settings['calls']} calls (fewer once "
        f"{settings['budget_s']:g} s had gone), after one untimed call"
        + (f", every runner on {threads} thread{'s' if threads > 1 else ''}" if threads else "")
        + ". Times from a single run move between runs; the ratios to PyTorch, "
        "measured in the same run on the same machine, move less.",
        *about(record),
        *([f"Theano ran with `THEANO_FLAGS={settings['theano_flags']}`."] if settings.get("theano_flags") else []),
        steps_table(record),
        "The steps:\n\n" + "\n".join(f"- **{key}**: {text}" for key, text in record["step_descriptions"].items()),
        "Full default runs, estimated from the step times above:",
        estimates_table(record),
    ]
    published = {(row["tutorial"], row["published_on"]) for row in record["estimates"] if row["published_on"]}
    if published:
        parts.append(
            "Published times: "
            + "; ".join(f"{tutorial}, on an {where}" for tutorial, where in sorted(published))
            + " (the historical tutorial's documentation)."
        )
    return parts + lists(record) + [STEP_EXPLANATION.rstrip()]


def page(records, source):
    """The whole page for ``records`` (one record, or a list of them), read from the files ``source``."""
    records = [records] if isinstance(records, dict) else list(records)
    runs = sum(record["runs"] for record in records)
    parts = [
        "# Speed",
        f"<!-- Generated by `python -m benchmarks render {source}` from the figures of "
        f"{'one run' if runs == 1 else f'{runs} runs'}; run the benchmark again rather than editing this page. -->",
    ]
    for record in records:
        if len(records) > 1:
            parts.append(
                "## Training steps of the later chapters" if "steps" in record else "## Epochs of the first chapters"
            )
        parts.extend(steps_section(record) if "steps" in record else epochs_section(record))
    parts.append(
        "The benchmarks are `python -m benchmarks run` and `python -m benchmarks steps` "
        "(`--help` for their options); `benchmarks/` says how each figure is taken."
    )
    return "\n\n".join(parts) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks render", description=__doc__.splitlines()[0])
    parser.add_argument(
        "files",
        nargs="+",
        metavar="RESULTS.json",
        help=f"records written by python -m benchmarks run or steps, in the page's order; then the Markdown page "
        f"if its name ends in .md (default: {DEFAULT_PAGE})",
    )
    args = parser.parse_args(argv)
    sources, target = (
        (args.files[:-1], args.files[-1]) if args.files[-1].endswith(".md") else (args.files, DEFAULT_PAGE)
    )
    if not sources:
        parser.error("give at least one RESULTS.json before the page")
    try:
        records = [results.load(path) for path in sources]
    except results.RecordError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)

    from deeplearning_tutorial.data import atomic_write

    text = page(records, " ".join([*sources, target]))
    with atomic_write(target) as tmp:
        with open(tmp, "w") as f:
            f.write(text)
    print(f"wrote {target} from {', '.join(sources)}")


if __name__ == "__main__":
    main()
