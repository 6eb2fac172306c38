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
need comes through the run seam of `deeplearning_tutorial.runs`: the
chapter compiles through ``run.function`` (the training steps and every
other call, seen by `checkpoints.Session`) and prints through
``run.print`` (the results, read by `deeplearning_tutorial.logs`).  A
chapter with parameters that have no flag here declares them in a
module-level ``FLAGS`` dict of the same form as `PARAMETERS`.

Every option is checked before anything is loaded or compiled; a bad one
ends the program with one line on stderr and exit status 2.
"""

import argparse
import functools
import importlib.util
import math
import os
import shlex
import sys
import tempfile

import numpy
import pytensor
from pytensor.compile.mode import get_mode, predefined_modes

from deeplearning_tutorial import checkpoints, checks, data, history, modes, progress, runs, saved_models, tutorials

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
    module_doc = tutorials.chapter_module(name).__doc__
    parser = argparse.ArgumentParser(
        prog=f"python -m deeplearning_tutorial.{name}",
        description=module_doc.split("\n\n")[0],
        epilog="A run without options prints exactly what the historical tutorial printed.",
    )
    group = parser.add_argument_group(f"parameters of {function.__name__}() (default: the historical values)")
    flags = PARAMETERS | getattr(tutorials.chapter_module(name), "FLAGS", {})
    for parameter, default in tutorials.defaults(name).items():
        flag, options, text = flags[parameter]
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


def check_outputs(name, args):
    for flag, path in (("--checkpoint", args.checkpoint), ("--resume", args.resume)):
        if path and not path.endswith(".npz"):
            raise UsageError(f"{flag} {path}: the file name must end in .npz")
    check_writable_folder("--checkpoint", os.path.dirname(args.resume or args.checkpoint))
    no_record = getattr(tutorials.chapter_module(name), "NO_TRAINING_RECORD", None)
    for flag, value in (("--history", args.history), ("--plots", args.plots)):
        if value and no_record:
            raise UsageError(f"{flag}: {no_record}")
    if args.history:
        if os.path.splitext(args.history)[1].lower() not in (".json", ".csv"):
            raise UsageError(f"--history {args.history}: the file name must end in .json or .csv")
        check_writable_folder("--history", os.path.dirname(args.history))
    if args.save_model:
        if not saved_models.is_classifier(name):
            raise UsageError(
                f"--save-model: {name} trains no classifier, and a saved model is for predict, which labels digits; "
                "--plots draws what it learned"
            )
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
        modes.register()
        pytensor.config.mode = get_mode(args.mode)
    try:
        # What the tutorial will compile with: a mode that cannot run here
        # (JAX not installed, say) fails now, saying what to do.
        modes.tutorial_mode()
    except modes.ModeError as e:
        raise UsageError(str(e)) from None


class CommandLineRun(runs.Run):
    """The run of a chapter started from the command line.

    Its ``function`` compiles with PyTensor and hands the function to the
    `checkpoints.Session`, which records, replays and stops; its ``print``
    feeds each stdout line to the `history.RunRecord` and writes it around
    the progress bar, or holds it back while a resumed run replays.
    """

    def __init__(self, session, record, bar):
        self.session, self.record, self.bar = session, record, bar
        self.pending = ""
        self.written = {}
        session.hooks = self

    @property
    def replaying(self):
        return self.session.replaying

    def function(self, *args, **kwargs):
        return self.session.watch(pytensor.function(*args, **kwargs), kwargs)

    def print(self, *values, sep=" ", end="\n", file=None, flush=False):
        if self.replaying:
            return
        text = sep.join(map(str, values)) + end
        stream = sys.stdout if file is None else file
        if stream is sys.stdout:
            *lines, self.pending = (self.pending + text).split("\n")
            for line in lines:
                self.record.line(line)
        if self.bar is not None:
            self.bar.write(text, stream)
        else:
            stream.write(text)
            if flush:
                stream.flush()

    def write_file(self, path, write, what=None):
        if not self.replaying:
            write(path)
            if what:
                self.written[path] = what

    # -- told by the session --------------------------------------------------

    def step(self, number, value):
        if numpy.ndim(value) == 0 and not isinstance(value, list):
            self.record.step(value)
        if self.bar is not None:
            self.bar.step(number, self.session.n_batches.get(number))

    def state(self):
        return self.record.state()

    def arrays(self):
        return self.record.best_params or []

    def restore(self, state, arrays):
        self.record.restore(state, arrays or None)

    def before_live(self):
        self.print(f"resuming {self.session.path} {self.session.where()}", file=sys.stderr)
        if self.bar is not None:
            number = self.session.last_step_function
            self.bar.jump(number, self.session.step_counts.get(number, 0), self.session.n_train_batches)
            self.bar.show_best(self.record.best_validation())


def run(name, args, kwargs, identity):
    """Train tutorial ``name`` with ``kwargs``, keeping what the options ask for.

    Returns the run's `CommandLineRun`; a stop on a signal raises
    `checkpoints.Stopped` after writing the checkpoint.
    """
    resume = checkpoints.load(args.resume) if args.resume else None
    if resume is not None:
        checkpoints.check_same_run(resume[0], identity())
        if resume[0]["complete"]:
            raise UsageError(f"--resume {args.resume}: that run is complete; there is nothing to resume")
    path = args.resume or args.checkpoint
    used = tutorials.settings(name, kwargs)
    session = checkpoints.Session(path, identity, used.get("batch_size", 1), resume, every=args.checkpoint_every)
    n_epochs = next((used[k] for k in ("n_epochs", "training_epochs") if k in used), None)
    bar = progress.ProgressBar(n_epochs) if progress.wanted(args.quiet) else None
    record = history.RunRecord(args.history, params=lambda: session.params)
    if bar is not None:
        record.on_row = lambda record: bar.show_best(record.best_validation())
    the_run = CommandLineRun(session, record, bar)
    function = tutorials.training_function(name)
    try:
        with session.signals(), runs.active(the_run):
            function(**kwargs)
        if args.checkpoint_every:
            session.write(complete=True)
    except checkpoints.Stopped:
        if bar is not None:
            bar.close()
        where = session.where()
        command = [sys.executable, "-m", f"deeplearning_tutorial.{name}", *sys.argv[1:]]
        if not args.resume:
            command += ["--resume", path]
        print(f"stopped {where}; checkpoint written to {path}; to continue: {shlex.join(command)}", file=sys.stderr)
        raise
    finally:
        if bar is not None:
            bar.close()
    # Said to a person at a terminal; a captured log stays the historical one.
    if sys.stderr.isatty():
        for written, what in the_run.written.items():
            print(f"{what}: {os.path.abspath(written)}", file=sys.stderr)
    return the_run


def keep_results(name, args, kwargs, the_run):
    """Write the plots and the saved model that the options asked for."""
    record = the_run.record
    if args.save_model:
        if record.best_params is None:
            raise UsageError("--save-model: the run validated no model, so there is nothing to save")
        saved_models.save(args.save_model, name, kwargs, pytensor.config.floatX, record.best_params)
        print(f"best model saved to {args.save_model}", file=sys.stderr)
    if args.plots:
        from deeplearning_tutorial import plots

        # The best model's weights, as saved; the last ones if none was validated.
        weights = record.best_params or [p.get_value() for p in the_run.session.params]
        module = tutorials.chapter_module(name)
        write_plots = getattr(module, "write_plots", None)
        if write_plots is not None:
            paths = write_plots(args.plots, record.rows, weights)
        else:
            paths = plots.plot_run(args.plots, name, record.rows, weights)
        for path in paths:
            print(f"wrote {path}", file=sys.stderr)


def main(name, argv=None):
    """Parse the command line of tutorial ``name`` and run it; exit status 2 on a bad option."""
    parser = build_parser(name)
    args = parser.parse_args(argv)
    kwargs = {parameter: getattr(args, parameter) for parameter in tutorials.defaults(name)}
    # The dataset parameter; logistic_cg's keeps its historical name; None for a chapter without data (hmc).
    dataset = next((kwargs[k] for k in ("dataset", "mnist_pkl_gz") if k in kwargs), None)
    try:
        if dataset is not None:
            check_dataset(dataset)
        check_outputs(name, args)
        configure(args)

        @functools.cache  # the dataset is read once, at the first checkpoint
        def identity():
            mode = args.mode or str(pytensor.config.mode)
            path = data.resolve_path(dataset) if dataset is not None else None
            return checkpoints.identity(name, kwargs, pytensor.config.floatX, mode, path)

        keep_results(name, args, kwargs, run(name, args, kwargs, identity))
    except checks.ResultCheckFailed as e:
        # The chapter ran to the end and its own final check failed: say which, as one line.
        parser.exit(1, f"{parser.prog}: check failed: {e}\n")
    except (UsageError, ValueError, OSError) as e:
        if isinstance(e, BrokenPipeError):
            exit_on_closed_pipe()
        # Bad input, bad data, an unwritable folder or a full disk: what we
        # write is written atomically, so nothing already there is damaged.
        parser.exit(2, f"{parser.prog}: error: {e}\n")


def exit_on_closed_pipe():
    """The reader of stdout went away (``... | head``): not an error, so leave quietly.

    The status is the one a process killed by SIGPIPE reports, 128 + 13, as
    for any program whose reader closed the pipe.  Python would otherwise
    complain once more, flushing stdout at exit.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.exit(141)
