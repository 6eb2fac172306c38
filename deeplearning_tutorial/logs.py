"""Tutorial logs: the historical code's golden logs, and what in a log is a result.

The golden logs are the output of the historical Theano code (Theano 1.0.5;
see ``tests/legacy/README.md`` for how they were made), shipped in
``legacy/`` so that a run can be compared with them.  A log is the
program's stdout and stderr; the lines about elapsed time are the only ones
that differ between two identical runs.
"""

from importlib import resources

#: Lines containing one of these report elapsed time, not results.
TIMING_MARKERS = ("ran for", "epochs/sec")


def result_lines(text):
    """The lines of a tutorial log that are results, i.e. all but timings."""
    return [line for line in text.splitlines() if not any(m in line for m in TIMING_MARKERS)]


def _legacy_dir():
    return resources.files("deeplearning_tutorial") / "legacy"


def golden_names():
    """Names of the shipped golden logs, such as ``mlp.n_epochs1.float64.log``."""
    return sorted(entry.name for entry in _legacy_dir().iterdir() if entry.name.endswith(".log"))


def golden_text(name):
    """The full text of a shipped golden log; KeyError naming the known ones if there is none of that name."""
    if name not in golden_names():
        raise KeyError(f"no golden log named {name!r}; the shipped ones are: {', '.join(golden_names())}")
    return (_legacy_dir() / name).read_text()
