"""Compare a run's printed lines with the historical code's, or with another run's.

    python -m deeplearning_tutorial.compare RUN.log HISTORICAL
    python -m deeplearning_tutorial.compare --list

HISTORICAL is the name of a golden log shipped with the package (``--list``
names them: the output of the historical Theano code) or the path of
another log.  A log is what a tutorial printed, stdout and stderr; the
lines that report elapsed time are ignored, every other line must be
identical.  Each differing line is shown beside its counterpart with its
epoch and, for error rates, by how many images they differ.  Exit status:
0 when the results are identical, 1 when they are not, 2 on bad input.
"""

import argparse
import difflib
import os
import re
import sys

from deeplearning_tutorial import logs

PERCENT = re.compile(r"(\d+\.\d+) %")
EPOCH = re.compile(r"epoch (\d+)")

#: Images in MNIST's validation and test sets.
SET_SIZE = 10000


LIST_COMMAND = "python -m deeplearning_tutorial.compare --list"


class LogNotFound(ValueError):
    """Neither a file nor a shipped golden log."""


def read_log(name_or_path):
    """Result lines of a log file, or of a shipped golden log of that name."""
    if os.path.isfile(name_or_path):
        try:
            with open(name_or_path, errors="replace") as f:
                return logs.result_lines(f.read())
        except OSError as e:
            raise ValueError(f"cannot read {name_or_path}: {e.strerror}") from None
    if os.path.isdir(name_or_path):
        raise ValueError(f"{name_or_path} is a folder; give a log file")
    if name_or_path in logs.golden_names():
        return logs.result_lines(logs.golden_text(name_or_path))
    raise LogNotFound(name_or_path)


def read_logs(names):
    """The result lines of each log; one `ValueError` naming every log that cannot be found or read."""
    found, missing, unreadable = [], [], []
    for name in names:
        try:
            found.append(read_log(name))
        except LogNotFound:
            missing.append(name)
        except ValueError as e:
            unreadable.append(str(e))
    if missing:
        close = [m for name in missing for m in difflib.get_close_matches(name, logs.golden_names(), n=1)]
        hint = f"did you mean {' or '.join(close)}? " if close else ""
        plural = len(missing) > 1
        unreadable.insert(
            0,
            f"{', '.join(missing)}: no such file{'s' if plural else ''}, "
            f"nor {'shipped golden logs' if plural else 'a shipped golden log'} "
            f"({hint}{LIST_COMMAND} names the golden logs)",
        )
    if unreadable:
        raise ValueError("; ".join(unreadable))
    return found


def images_evaluated(percentages):
    """How many images the error rates were measured on.

    A tutorial's error is the mean over whole minibatches, so over
    (10000 // batch size) * batch size images: 10000, or 9600 for
    logistic regression's batches of 600.  The largest such count that
    makes every rate a whole number of images is the one.
    """
    counts = sorted({(SET_SIZE // b) * b for b in range(1, SET_SIZE + 1)}, reverse=True)
    for n in counts:
        if all(abs(p * n / 100 - round(p * n / 100)) < 2e-3 for p in percentages):
            return n
    return SET_SIZE


def describe(run_line, other_line):
    """How two result lines differ, in a few words."""
    ours, theirs = PERCENT.findall(run_line), PERCENT.findall(other_line)
    if not ours or PERCENT.sub("%", run_line) != PERCENT.sub("%", other_line):
        return "different text"
    n = images_evaluated([float(v) for v in ours + theirs])
    images = max(abs(float(a) - float(b)) * n / 100 for a, b in zip(ours, theirs))
    return f"error differs by {images:.0f} image{'s' if round(images) != 1 else ''} of {n}"


def compare(run, other):
    """The lines that differ where both logs have one: (line number, epoch, run's, other's, how)."""
    differences = []
    for number, (ours, theirs) in enumerate(zip(run, other), start=1):
        if ours != theirs:
            match = EPOCH.search(ours) or EPOCH.search(theirs)
            epoch = int(match.group(1)) if match else None
            differences.append((number, epoch, ours, theirs, describe(ours, theirs)))
    return differences


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m deeplearning_tutorial.compare",
        description=__doc__.split("\n\n")[0],
        epilog="Exit status: 0 identical, 1 different, 2 bad input.",
    )
    parser.add_argument("run", nargs="?", metavar="RUN.log", help="what a tutorial printed (stdout and stderr)")
    parser.add_argument("other", nargs="?", metavar="HISTORICAL", help="a shipped golden log's name, or a log file")
    parser.add_argument("--list", action="store_true", help="list the shipped golden logs and exit")
    args = parser.parse_args(argv)
    if args.list:
        for name in logs.golden_names():
            print(name)
        return 0
    if args.run is None or args.other is None:
        parser.error("give a run's log and a golden log's name (see --list) or another log")
    try:
        run, other = read_logs([args.run, args.other])
    except ValueError as e:
        parser.exit(2, f"{parser.prog}: error: {e}\n")
    differences = compare(run, other)
    width = max(len(args.run), len(args.other))
    for number, epoch, ours, theirs, how in differences:
        print(f"line {number}" + (f", epoch {epoch}" if epoch is not None else "") + f": {how}")
        print(f"  {args.run:<{width}}  {ours}")
        print(f"  {args.other:<{width}}  {theirs}")
    if len(run) != len(other):
        (n, short_name, _), (_, long_name, lines) = sorted([(len(run), args.run, run), (len(other), args.other, other)])
        print(f"{short_name} ends after {n} result lines; {long_name} goes on for {len(lines) - n} more, from:")
        print(f"  {long_name:<{width}}  {lines[n]}")
    if not differences and len(run) == len(other):
        print(f"identical: all {len(run)} result lines match (timing lines ignored)")
        return 0
    print(f"different: {len(differences)} of {min(len(run), len(other))} common result lines differ", end="")
    print("" if len(run) == len(other) else ", and the logs have different lengths")
    return 1


if __name__ == "__main__":
    sys.exit(main())
