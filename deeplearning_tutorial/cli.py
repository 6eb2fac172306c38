"""The command line of the tutorial scripts.

Each tutorial module ends with one line, ``cli.main("<tutorial>")``, and
gets a flag for every parameter of its training function, with the
historical default, plus:

``--mode``, ``--floatX``
    how PyTensor compiles the graphs, and the float type of the data and
    parameters;
``--quiet``
    no progress bar (there is none anyway when stderr is not a terminal,
    so a log written to a file or a pipe holds exactly the tutorial's
    lines);
``--history FILE``
    validation and test errors, mean training cost and elapsed time at
    each validation (once an epoch at the default settings), as JSON or
    CSV by the file's extension, rewritten atomically after each one;
``--plots DIR``
    learning curves and the first-layer weights as PNG images, at the end;
``--save-model FILE``
    the parameters of the best model (the one whose test error was
    printed last) as ``.npz``, for ``python -m deeplearning_tutorial.predict``.

The training loop stays written out in each tutorial.  What the options
need is seen from outside it: the training steps through
`checkpoints.Session`, the results through the lines the tutorial
prints.  Every option is checked before anything is loaded or compiled; a
bad one ends the program with one line on stderr and exit status 2.
"""

import argparse
import contextlib
import csv
import functools
import importlib.util
import io
import json
import math
import os
import re
import sys
import tempfile
import timeit
from unittest import mock

import pytensor
from pytensor.compile.mode import get_mode, predefined_modes

from deeplearning_tutorial import checkpoints, data, modes, saved_models, tutorials

# -- the flags of the tutorial parameters -------------------------------------


def _number(convert, accept, expected):
    """An argparse type: ``convert`` the text, and refuse values that ``accept`` rejects."""

    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            value = None
        if value is None or not accept(value):
            raise argparse.ArgumentTypeError(f"must be {expected}, got {text!r}")
        return value

    return parse


positive_int = _number(int, lambda v: v >= 1, "a positive integer")
_seed = _number(int, lambda v: 0 <= v < 2**32, "an integer from 0 to 2**32 - 1")
_positive_float = _number(float, lambda v: math.isfinite(v) and v > 0, "a finite number > 0")
_non_negative_float = _number(float, lambda v: math.isfinite(v) and v >= 0, "a finite number >= 0")


# Parameter of a training function -> (flag, argparse options, help).
PARAMETERS = {
    "learning_rate": (
        "--learning-rate",
        {"type": _positive_float, "metavar": "RATE"},
        "step size of the gradient descent",
    ),
    "L1_reg": (
        "--L1-reg",
        {"type": _non_negative_float, "metavar": "WEIGHT"},
        "weight of the L1 penalty on the weights",
    ),
    "L2_reg": (
        "--L2-reg",
        {"type": _non_negative_float, "metavar": "WEIGHT"},
        "weight of the squared L2 penalty on the weights",
    ),
    "n_epochs": (
        "--n-epochs",
        {"type": positive_int, "metavar": "N"},
        "largest number of passes over the training set",
    ),
    "dataset": (
        "--dataset",
        {"metavar": "PATH"},
        f"the pickled dataset; {data.MNIST_NAME!r} is the copy in data/, fetched there when missing",
    ),
    "nkerns": (
        "--nkerns",
        {"type": positive_int, "nargs": 2, "metavar": ("A", "B")},
        "filters of the first and second convolution layers",
    ),
    "batch_size": ("--batch-size", {"type": positive_int, "metavar": "N"}, "examples per minibatch"),
    "n_hidden": ("--n-hidden", {"type": positive_int, "metavar": "N"}, "hidden units"),
    "seed": ("--seed", {"type": _seed, "metavar": "N"}, "seed of the random initial weights"),
}

FLOAT_TYPES = ("float32", "float64")


def mode_names():
    """The names ``--mode`` accepts: the tutorials' modes and PyTensor's that can run our ops."""
    modes.register()
    return sorted(set(predefined_modes) - {"PYTORCH", "MLX"} | {"FAST_RUN"})


def build_parser(name):
    """The argument parser of tutorial ``name``, one flag per parameter of its training function."""
    function = tutorials.training_function(name)
    module_doc = sys.modules[function.__module__].__doc__
    parser = argparse.ArgumentParser(
        prog=f"python -m deeplearning_tutorial.{name}",
        description=module_doc.split("\n\n")[0],
        epilog="A run without options prints exactly what the historical tutorial printed.",
    )
    group = parser.add_argument_group(f"parameters of {function.__name__}() (default: the historical values)")
    for parameter, default in tutorials.defaults(name).items():
        flag, options, text = PARAMETERS[parameter]
        shown = " ".join(map(str, default)) if isinstance(default, list) else default
        group.add_argument(flag, dest=parameter, default=default, help=f"{text} (default: {shown})", **options)
    run = parser.add_argument_group("how to run")
    run.add_argument(
        "--mode",
        type=str.upper,
        choices=mode_names(),
        metavar="MODE",
        help=f"PyTensor compilation mode: {', '.join(mode_names())} (default: NUMPY, or PYTENSOR_FLAGS=mode=...)",
    )
    run.add_argument(
        "--floatX",
        choices=FLOAT_TYPES,
        help=f"float type of data and parameters (default: {pytensor.config.floatX}, from PYTENSOR_FLAGS)",
    )
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    out = parser.add_argument_group("what to keep")
    out.add_argument("--history", metavar="FILE", help="per-validation errors, cost and time (.json or .csv)")
    out.add_argument("--plots", metavar="DIR", help="learning curves and first-layer weights as PNG files")
    out.add_argument("--save-model", metavar="FILE", help="the best model's parameters (.npz), for predict")
    stop = parser.add_argument_group(
        "stop and resume", "Ctrl-C or SIGTERM stops the run after its current minibatch and writes a checkpoint"
    )
    default_checkpoint = f"{name}.checkpoint.npz"
    stop.add_argument(
        "--checkpoint",
        metavar="FILE",
        default=default_checkpoint,
        help=f"where a stopped run writes its checkpoint (default: {default_checkpoint}, here)",
    )
    stop.add_argument(
        "--resume",
        metavar="FILE",
        nargs="?",
        const=default_checkpoint,
        help=f"continue a stopped run from its checkpoint (default: {default_checkpoint}); give the same options",
    )
    stop.add_argument(
        "--checkpoint-every",
        metavar="N",
        type=positive_int,
        default=0,
        help="also write the checkpoint every N epochs, and at the end (default: only when stopped)",
    )
    return parser


# -- checks made before anything runs ------------------------------------------


class UsageError(Exception):
    """A command-line value that cannot work; its message says what to do."""


def check_dataset(path):
    """Only the default file is fetched; any other path must exist."""
    if path == data.MNIST_NAME:
        return
    if not os.path.isfile(data.resolve_path(path)):
        raise UsageError(
            f"--dataset {path}: no such file; give an existing file, or leave --dataset out to use "
            f"(and fetch) {data.MNIST_NAME} in data/"
        )


def check_writable_folder(flag, folder):
    """Fail now, not after hours of training, when ``folder`` cannot take a new file."""
    folder = folder or "."
    if not os.path.isdir(folder):
        raise UsageError(f"{flag}: the folder {folder!r} does not exist; create it or choose another")
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as e:
        raise UsageError(f"{flag}: cannot write in {folder!r} ({e.strerror}); choose another folder") from None


def check_outputs(args):
    for flag, path in (("--checkpoint", args.checkpoint), ("--resume", args.resume)):
        if path and not path.endswith(".npz"):
            raise UsageError(f"{flag} {path}: the file name must end in .npz")
    check_writable_folder("--checkpoint", os.path.dirname(args.resume or args.checkpoint))
    if args.history:
        if os.path.splitext(args.history)[1].lower() not in (".json", ".csv"):
            raise UsageError(f"--history {args.history}: the file name must end in .json or .csv")
        check_writable_folder("--history", os.path.dirname(args.history))
    if args.save_model:
        if not args.save_model.endswith(".npz"):
            raise UsageError(f"--save-model {args.save_model}: the file name must end in .npz")
        check_writable_folder("--save-model", os.path.dirname(args.save_model))
    if args.plots:
        if importlib.util.find_spec("matplotlib") is None:
            raise UsageError("--plots needs matplotlib: pip install -e '.[plots]' (or pip install matplotlib)")
        try:
            os.makedirs(args.plots, exist_ok=True)
        except OSError as e:
            raise UsageError(f"--plots: cannot create the folder {args.plots!r} ({e.strerror})") from None
        check_writable_folder("--plots", args.plots)


# -- what a run printed, seen line by line -------------------------------------

VALIDATION = re.compile(r"^epoch (\d+), minibatch (\d+)/(\d+), validation error (\d+\.\d+) %$")
TEST = re.compile(r"^\s+epoch (\d+), minibatch (\d+)/(\d+), test error of best model (\d+\.\d+) %$")


class RunRecord:
    """The history of a run, built from its training steps and its printed lines.

    One row per validation: epoch, minibatch, validation error (%), test
    error of the new best model (%, or None when validation did not
    improve), mean training cost since the previous validation, and
    seconds of training so far.  The best model's parameters are copied
    when its test error is printed.
    """

    def __init__(self, history_path=None, on_row=None):
        self.rows = []
        self.history_path = history_path
        self.on_row = on_row
        self.costs = []
        self.params = []
        self.best_params = None
        self.started = None
        self.earlier_s = 0.0  # training time of the run this one resumes

    def step(self, cost, params):
        if self.started is None:
            self.started = timeit.default_timer()
        self.costs.append(float(cost))
        self.params = params

    def elapsed(self):
        now = timeit.default_timer() - self.started if self.started is not None else 0.0
        return round(self.earlier_s + now, 3)

    def restore(self, state, best_params):
        self.rows, self.costs, self.earlier_s = state["rows"], state["costs"], state["elapsed_s"]
        self.best_params = best_params

    def line(self, text):
        match = VALIDATION.match(text)
        if match:
            self.rows.append(
                {
                    "epoch": int(match.group(1)),
                    "minibatch": int(match.group(2)),
                    "validation_error": float(match.group(4)),
                    "test_error": None,
                    "train_cost": sum(self.costs) / len(self.costs) if self.costs else None,
                    "elapsed_s": self.elapsed(),
                }
            )
            self.costs = []
            self.updated()
            return
        match = TEST.match(text)
        if match and self.rows:
            self.rows[-1]["test_error"] = float(match.group(4))
            self.best_params = [p.get_value() for p in self.params]
            self.updated()

    def updated(self):
        if self.history_path:
            write_history(self.history_path, self.rows)
        if self.on_row:
            self.on_row(self.rows[-1])


def write_history(path, rows):
    """Write the rows as JSON or CSV (by extension), atomically."""
    with data.atomic_write(path) as tmp, open(tmp, "w", newline="") as f:
        if path.lower().endswith(".csv"):
            writer = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["epoch"])
            writer.writeheader()
            writer.writerows(rows)
        else:
            json.dump(rows, f, indent=1)
            f.write("\n")


class LineTee(io.TextIOBase):
    """A text stream that passes everything on and hands each complete line to ``on_line``.

    With a progress bar on the terminal, text is passed on in whole lines,
    with the bar cleared before and drawn again after, so that lines never
    mix with it.  While ``muted``, nothing is passed on.
    """

    def __init__(self, stream, on_line=None, bar=None):
        self.stream = stream
        self.on_line = on_line
        self.bar = bar
        self.muted = False
        self.pending = ""

    def write(self, text):
        if self.muted:
            return len(text)
        self.pending += text
        *lines, self.pending = self.pending.split("\n")
        if self.bar is None:
            self.stream.write(text)
        elif lines:
            self.bar.clear()
            self.stream.write("".join(line + "\n" for line in lines))
            self.stream.flush()
            self.bar.refresh()
        if self.on_line:
            for line in lines:
                self.on_line(line)
        return len(text)

    def flush(self):
        self.stream.flush()

    def close(self):
        """Pass on what is left of an unfinished line (the stream itself stays open)."""
        if self.bar is not None and self.pending:
            self.stream.write(self.pending)
        self.pending = ""

    def isatty(self):
        return self.stream.isatty()


class ProgressBar:
    """A tqdm bar over the minibatches of the current epoch, on stderr."""

    def __init__(self, n_epochs):
        from tqdm import tqdm

        self.n_epochs = n_epochs
        self.epoch = 1
        self.best = None
        self.bar = tqdm(unit="minibatch", leave=False, file=sys.stderr, dynamic_ncols=True)
        self.describe()

    def describe(self):
        self.bar.set_description(f"epoch {self.epoch}/{self.n_epochs}", refresh=False)
        if self.best is not None:
            self.bar.set_postfix_str(f"best validation {self.best:.2f} %", refresh=False)
        self.bar.refresh()

    def step(self, n_train_batches):
        if self.bar.total is None and n_train_batches:
            self.bar.reset(total=n_train_batches)
        # A new epoch starts with its first minibatch, so the bar stays full
        # while the previous epoch's validation runs.
        if self.bar.total and self.bar.n >= self.bar.total:
            self.epoch += 1
            self.bar.reset()
            self.describe()
        self.bar.update()

    def jump(self, steps, n_train_batches, record):
        """Show the position a resumed run starts from."""
        if n_train_batches:
            self.epoch, done = divmod(steps, n_train_batches)
            self.epoch += 1
            self.bar.reset(total=n_train_batches)
            self.bar.update(done)
        if record.rows:
            self.row(record)
        self.describe()

    def row(self, record):
        self.best = min(r["validation_error"] for r in record.rows)
        self.describe()

    def clear(self):
        self.bar.clear()

    def refresh(self):
        self.bar.refresh()

    def close(self):
        self.bar.close()


# -- running a tutorial ----------------------------------------------------------


def configure(args):
    """Apply ``--floatX`` and ``--mode`` to PyTensor's configuration."""
    if args.floatX:
        pytensor.config.floatX = args.floatX
    if pytensor.config.floatX not in FLOAT_TYPES:
        raise UsageError(
            f"floatX={pytensor.config.floatX} (from PYTENSOR_FLAGS) is not supported by the tutorials; "
            "use --floatX float32 or float64"
        )
    if args.mode:
        pytensor.config.mode = get_mode(args.mode)
    try:
        # What the tutorial will compile with: a mode that cannot run here
        # (JAX not installed, say) fails now, saying what to do.
        modes.tutorial_mode()
    except modes.ModeError as e:
        raise UsageError(str(e)) from None


class RunHooks:
    """What the command line does at each training step, and what it keeps in a checkpoint."""

    def __init__(self, record, session, stdout, bar):
        self.record, self.session, self.stdout, self.bar = record, session, stdout, bar

    def step(self, cost):
        self.record.step(cost, self.session.params)
        if self.bar is not None:
            self.bar.step(self.session.n_train_batches)

    def state(self):
        return {"rows": self.record.rows, "costs": self.record.costs, "elapsed_s": self.record.elapsed()}

    def arrays(self):
        return self.record.best_params or []

    def restore(self, state, arrays):
        self.record.restore(state, arrays or None)

    def before_live(self):
        self.stdout.muted = False
        if self.bar is not None:
            self.bar.jump(self.session.steps, self.session.n_train_batches, self.record)


def run(name, args, kwargs, identity):
    """Train tutorial ``name`` with ``kwargs``, keeping what the options ask for.

    Returns the run's `RunRecord`; a stop on a signal raises `checkpoints.Stopped`
    after writing the checkpoint.
    """
    resume = checkpoints.load(args.resume) if args.resume else None
    if resume is not None:
        checkpoints.check_same_run(resume[0], identity())
        if resume[0]["complete"]:
            raise UsageError(f"--resume {args.resume}: that run is complete; there is nothing to resume")
    path = args.resume or args.checkpoint
    session = checkpoints.Session(path, identity, kwargs["batch_size"], resume, every=args.checkpoint_every)
    record = RunRecord(args.history)
    bar = ProgressBar(kwargs["n_epochs"]) if not args.quiet and sys.stderr.isatty() else None
    stdout, stderr = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = LineTee(stdout, record.line, bar), LineTee(stderr, None, bar)
    # A resumed run holds back what the stopped run already printed.
    sys.stdout.muted = resume is not None
    session.hooks = RunHooks(record, session, sys.stdout, bar)
    if bar is not None:
        record.on_row = lambda row: bar.row(record)
    function = tutorials.training_function(name)
    module = sys.modules[function.__module__]
    try:
        with session.signals(), session.watching(), _quiet_while_replaying(module, session):
            function(**kwargs)
        if args.checkpoint_every:
            session.write(complete=True)
    except checkpoints.Stopped:
        where = "before training started"
        if session.steps:
            where = "after epoch %i, minibatch %i" % session.position(session.steps - 1)
        command = " ".join(["python -m", module.__name__, *sys.argv[1:]])
        if not args.resume:
            command += f" --resume {path}"
        print(f"stopped {where}; checkpoint written to {path}; to continue: {command}", file=stderr)
        raise
    finally:
        if bar is not None:
            bar.close()
        sys.stdout.close()
        sys.stderr.close()
        sys.stdout, sys.stderr = stdout, stderr
    return record


def _quiet_while_replaying(module, session):
    """Logistic regression saves its best model as it goes; a replay must not (its parameters are not yet back)."""
    save_model = getattr(module, "save_model", None)
    if save_model is None:
        return contextlib.nullcontext()

    def save_when_live(*args, **kwargs):
        if not session.replaying:
            save_model(*args, **kwargs)

    return mock.patch.object(module, "save_model", save_when_live)


def keep_results(name, args, kwargs, record):
    """Write the plots and the saved model that the options asked for."""
    if args.save_model:
        if record.best_params is None:
            raise UsageError("--save-model: the run validated no model, so there is nothing to save")
        saved_models.save(args.save_model, name, kwargs, pytensor.config.floatX, record.best_params)
        print(f"best model saved to {args.save_model}", file=sys.stderr)
    if args.plots:
        from deeplearning_tutorial import plots

        # The best model's weights, as saved; the last ones if none was validated.
        weights = record.best_params or [p.get_value() for p in record.params]
        for path in plots.plot_run(args.plots, name, record.rows, weights):
            print(f"wrote {path}", file=sys.stderr)


def main(name, argv=None):
    """Parse the command line of tutorial ``name`` and run it; exit status 2 on a bad option."""
    parser = build_parser(name)
    args = parser.parse_args(argv)
    kwargs = {parameter: getattr(args, parameter) for parameter in tutorials.defaults(name)}
    try:
        check_dataset(kwargs["dataset"])
        check_outputs(args)
        configure(args)

        @functools.cache  # the dataset is read once, at the first checkpoint
        def identity():
            mode = args.mode or str(pytensor.config.mode)
            path = data.resolve_path(kwargs["dataset"])
            return checkpoints.identity(name, kwargs, pytensor.config.floatX, mode, path)

        record = run(name, args, kwargs, identity)
        keep_results(name, args, kwargs, record)
    except (UsageError, ValueError, OSError) as e:
        # Bad input, bad data, an unwritable folder or a full disk: what we
        # write is written atomically, so nothing already there is damaged.
        parser.exit(2, f"{parser.prog}: error: {e}\n")
