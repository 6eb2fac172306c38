"""Stopping a tutorial run and resuming it exactly where it stopped.

The whole state of a run is its shared parameters and the local variables
of its training loop (epoch, minibatch, patience, best scores).  The loop
stays written out in each tutorial, as in the historical code, so its
locals cannot be saved from outside.  They can be recomputed, though: they
depend only on what the compiled functions returned.  So a checkpoint
holds the parameters and every value the validation and test functions
returned, and a resumed run *replays* its loop up to the stopping point:
training steps do nothing, validation and test functions return the
recorded values, and the printed lines are held back.  At the stopping
point the saved parameters are put back and the run goes on for real,
printing the lines, and computing the numbers, of an uninterrupted run.

A stop (Ctrl-C or SIGTERM) is taken at the end of the minibatch that is
running, validation and test passes included: the run writes a checkpoint
and exits with status 130 (SIGINT) or 143 (SIGTERM).  Further signals while
it writes are ignored, and the file is written atomically (temporary file,
fsync, rename), so a checkpoint on disk is always a whole one.

A checkpoint is an ``.npz`` file (no pickle) with a JSON header that names
the tutorial, its arguments, the float type, the mode, the package version
and a digest of the dataset; a resumed run must match all of them.
"""

import contextlib
import hashlib
import importlib.metadata
import math
import signal

import numpy
from pytensor.compile.sharedvalue import SharedVariable
from pytensor.graph.traversal import graph_inputs

from deeplearning_tutorial import observe, saved_models

FORMAT = "deeplearning_tutorial checkpoint 1"

#: Exit status of a run stopped by each signal (128 + the signal's number).
EXIT_STATUS = {signal.SIGINT: 130, signal.SIGTERM: 143}


class CheckpointError(ValueError):
    """A checkpoint that cannot be used; the message says why and what to do."""


class NonFiniteCost(ValueError):
    """Training produced a NaN or infinite cost."""


class Stopped(SystemExit):
    """The run stopped on a signal after writing a checkpoint."""


def package_version():
    try:
        return importlib.metadata.version("deeplearning-tutorial")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def dataset_digest(path):
    """SHA-256 of the dataset file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def identity(tutorial, arguments, dtype, mode, dataset_path):
    """What a run must share with the run whose checkpoint it resumes."""
    return {
        "tutorial": tutorial,
        "arguments": arguments,
        "floatX": dtype,
        "mode": mode,
        "version": package_version(),
        "dataset_sha256": dataset_digest(dataset_path),
    }


def save(path, header, params, calls, extra=()):
    """Write a checkpoint atomically: ``header`` (JSON), the parameters, the recorded calls, ``extra`` arrays."""
    values = numpy.array([value for _, value in calls], dtype=header["call_dtype"])
    functions = numpy.array([number for number, _ in calls], dtype=numpy.int16)
    arrays = {f"param{i}": p for i, p in enumerate(params)} | {f"extra{i}": a for i, a in enumerate(extra)}
    saved_models.write_archive(
        path, dict(header, format=FORMAT), call_values=values, call_functions=functions, **arrays
    )


def load(path):
    """Return ``(header, params, calls, extra)``; `CheckpointError` for anything that is not a whole checkpoint."""
    header, arrays = saved_models.read_archive(path, FORMAT, CheckpointError, "a checkpoint of a stopped run")
    params, extra = saved_models.numbered(arrays, "param"), saved_models.numbered(arrays, "extra")
    calls = list(zip(arrays["call_functions"].tolist(), arrays["call_values"]))
    return header, params, calls, extra


def check_same_run(header, expected):
    """`CheckpointError` naming the first thing in which ``expected`` differs from the checkpoint's run."""
    for key, want in expected.items():
        have = header.get(key)
        if key == "arguments":
            for name in sorted(set(want) | set(have or {})):
                if (have or {}).get(name) != want.get(name):
                    raise CheckpointError(
                        f"the checkpoint was made with {name}={(have or {}).get(name)!r}, this run has "
                        f"{name}={want.get(name)!r}; resume with the same arguments"
                    )
        elif have != want:
            what = {"dataset_sha256": "the dataset's content", "version": "the package version"}.get(key, key)
            raise CheckpointError(
                f"{what} differs from the checkpoint's run ({have!r} there, {want!r} here); "
                "resume with the same settings and data"
            )


def training_set_size(givens):
    """Examples in the shared dataset that a training function's ``givens`` slice."""
    for replacement in (givens or {}).values():
        for var in graph_inputs([replacement]):
            if isinstance(var, SharedVariable) and var.type.ndim == 2:
                return var.get_value(borrow=True).shape[0]
    return None


class Session:
    """Watches every function a tutorial compiles: records, replays, stops.

    :param resume: what `load` returned for a checkpoint to replay, or None
    :param path: where a stop (or ``every`` epochs) writes a checkpoint
    :param identity: returns the run's identity (`identity`), stored in each checkpoint
    :param batch_size: examples per training minibatch
    :param every: also write a checkpoint every this many epochs (0: only on a stop)
    :param hooks: an object told of the run: ``step(cost)`` after each live
        training step, ``before_live()`` when the replay ends; ``state()``
        returns extra JSON-able state to store in a checkpoint, and
        ``restore(state)`` receives it back.
    """

    def __init__(self, path, identity, batch_size, resume=None, every=0, hooks=None):
        self.path = path
        self.identity = identity
        self.batch_size = batch_size
        self.every = every
        self.hooks = hooks
        self.calls = []  # (function number, value) of every non-training call, in order
        self.steps = 0  # training steps done
        self.params = []
        self.n_train_batches = None
        self.stop_signal = None
        self.replay = None
        if resume is not None:
            resume_header, self.resume_params, replay_calls, self.resume_arrays = resume
            self.replay_steps = resume_header["steps"]
            self.replay = list(reversed(replay_calls))
            self.resume_state = resume_header.get("state")

    @property
    def replaying(self):
        return self.replay is not None

    # -- signals --------------------------------------------------------------

    def _on_signal(self, signum, frame):
        # Only note it: the stop is taken between two minibatches.
        if self.stop_signal is None:
            self.stop_signal = signum

    @contextlib.contextmanager
    def signals(self):
        previous = {s: signal.signal(s, self._on_signal) for s in EXIT_STATUS}
        try:
            yield
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)

    # -- the compiled functions --------------------------------------------------

    def watching(self):
        """While active, the functions the tutorial compiles are watched by this session."""
        numbers = iter(range(1 << 15))

        def wrap(fn, kwargs):
            number = next(numbers)
            updates = kwargs.get("updates")
            if updates:
                self.params = [param for param, _ in updates]
                n_examples = training_set_size(kwargs.get("givens"))
                self.n_train_batches = n_examples // self.batch_size if n_examples else None
                return lambda *inputs: self._train(fn, inputs)
            return lambda *inputs: self._evaluate(fn, number, inputs)

        return observe.wrap_compiled(wrap)

    def _evaluate(self, fn, number, inputs):
        if self.replaying:
            recorded_number, value = self.replay.pop()
            if recorded_number != number:
                raise CheckpointError("the replayed run called its functions in another order; the code has changed")
        else:
            value = fn(*inputs)
        self.calls.append((number, value))
        return value

    def _train(self, fn, inputs):
        if self.replaying:
            if self.steps < self.replay_steps:
                self.steps += 1
                return numpy.nan
            self._go_live()
        self._between_minibatches()
        cost = fn(*inputs)
        self.steps += 1
        if not math.isfinite(float(cost)):
            epoch, minibatch = self.position(self.steps - 1)
            raise NonFiniteCost(
                f"the training cost became {float(cost)} at epoch {epoch}, minibatch {minibatch}: "
                "the learning rate is probably too large; the last saved model was kept"
            )
        if self.hooks:
            self.hooks.step(cost)
        return cost

    def position(self, step):
        """(epoch, minibatch), both counted from 1, of training step ``step`` (counted from 0)."""
        n = self.n_train_batches or 1
        return step // n + 1, step % n + 1

    def _go_live(self):
        if self.replay:
            raise CheckpointError("the replay ended before all recorded calls were used; the code has changed")
        for param, value in zip(self.params, self.resume_params):
            param.set_value(value)
        self.replay = None
        if self.hooks:
            self.hooks.restore(self.resume_state, self.resume_arrays)
            self.hooks.before_live()

    def _between_minibatches(self):
        """Before a training step: take a stop, or a periodic checkpoint, that is due."""
        if self.stop_signal is not None:
            signum = self.stop_signal
            self.write()
            raise Stopped(EXIT_STATUS[signum])
        n = self.n_train_batches
        if self.every and n and self.steps and self.steps % n == 0 and (self.steps // n) % self.every == 0:
            self.write()

    def write(self, complete=False):
        """Write the state after the last training step (and the calls that followed it)."""
        # Signals during the write are noted and do not interrupt it.
        header = dict(self.identity(), steps=self.steps, complete=complete)
        header["call_dtype"] = numpy.asarray(self.calls[0][1]).dtype.name if self.calls else "float64"
        header["state"] = self.hooks.state() if self.hooks else None
        extra = self.hooks.arrays() if self.hooks else ()
        save(self.path, header, [p.get_value() for p in self.params], self.calls, extra)
