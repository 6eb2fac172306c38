"""Stopping a tutorial run and resuming it exactly where it stopped.

The whole state of a run is its shared variables (parameters, random
streams, persistent chains) and the local variables of its training loop
(epoch, minibatch, patience, best scores).  The loop stays written out in
each chapter, as in the historical code, so its locals cannot be saved
from outside.  They can be recomputed, though: they depend only on what
the compiled functions returned.  So a checkpoint holds the shared
variables that the compiled functions update and the outputs of every
compiled call, and a resumed run *replays* its loop up to the stopping
point: each compiled call returns its recorded outputs without computing
anything, and the printed lines are held back.  At the stopping point the
saved shared variables are put back and the run goes on for real,
printing the lines, and computing the numbers, of an uninterrupted run.

A stop (Ctrl-C or SIGTERM) is taken just before the next training step
(a call of a compiled function with updates), after the validation and
test passes of the minibatch that was running: the run writes a checkpoint
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

from deeplearning_tutorial import saved_models

FORMAT = "deeplearning_tutorial checkpoint 2"

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
    """What a run must share with the run whose checkpoint it resumes (``dataset_path`` None: no data)."""
    return {
        "tutorial": tutorial,
        "arguments": arguments,
        "floatX": dtype,
        "mode": mode,
        "version": package_version(),
        "dataset_sha256": dataset_digest(dataset_path) if dataset_path is not None else None,
    }


def save(path, header, state, calls, extra=()):
    """Write a checkpoint atomically: ``header`` (JSON), the shared state, the recorded calls, ``extra`` arrays."""
    functions, outputs = [], []
    for number, value in calls:
        functions.append(number)
        outputs.extend(value if isinstance(value, list) else [value])
    outputs = [numpy.asarray(v) for v in outputs]
    arrays = {f"param{i}": p for i, p in enumerate(state)} | {f"extra{i}": a for i, a in enumerate(extra)}
    saved_models.write_archive(
        path,
        dict(header, format=FORMAT),
        call_functions=numpy.array(functions, dtype=numpy.int32),
        output_ndims=numpy.array([v.ndim for v in outputs], dtype=numpy.int8),
        output_dims=numpy.array([d for v in outputs for d in v.shape], dtype=numpy.int64),
        output_bytes=numpy.frombuffer(b"".join(numpy.ascontiguousarray(v).tobytes() for v in outputs), numpy.uint8),
        **arrays,
    )


def load(path):
    """Return ``(header, state, calls, extra)``; `CheckpointError` for anything that is not a whole checkpoint."""
    header, arrays = saved_models.read_archive(path, FORMAT, CheckpointError, "a checkpoint of a stopped run")
    state, extra = saved_models.numbered(arrays, "param"), saved_models.numbered(arrays, "extra")
    try:
        calls = _decode_calls(header["functions"], arrays)
    except (KeyError, IndexError, ValueError, TypeError):
        raise CheckpointError(f"{path}: the recorded calls are damaged; start the run again") from None
    return header, state, calls, extra


def _decode_calls(functions, arrays):
    """The list of ``(function number, value)`` that `save` encoded."""
    ndims, dims, raw = arrays["output_ndims"].tolist(), arrays["output_dims"].tolist(), arrays["output_bytes"]
    calls, n_out, n_dim, offset = [], 0, 0, 0
    for number in arrays["call_functions"].tolist():
        signature = functions[str(number)]
        values = []
        for dtype in signature["dtypes"]:
            shape = tuple(dims[n_dim : n_dim + ndims[n_out]])
            n_dim, n_out = n_dim + ndims[n_out], n_out + 1
            size = int(numpy.prod(shape, dtype=numpy.int64)) * numpy.dtype(dtype).itemsize
            values.append(raw[offset : offset + size].view(dtype).reshape(shape).copy())
            offset += size
        calls.append((number, values if signature["list"] else values[0]))
    if n_out != len(ndims) or offset != raw.size:
        raise ValueError("trailing outputs")
    return calls


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
    """Records every compiled call of a run, replays them on resume, and takes stops.

    `watch` wraps each function the chapter compiles (`deeplearning_tutorial.cli`
    calls it from its run's ``function``).  A function with ``updates`` is a
    *step*: a stop is taken just before one, so that a checkpoint always
    lies between two steps.  Every call's outputs are recorded, in order.
    The state to restore is every shared variable that a compiled function
    updates (parameters, random streams, persistent chains).

    :param path: where a stop (or ``every`` epochs) writes a checkpoint
    :param identity: returns the run's identity (`identity`), stored in each checkpoint
    :param batch_size: examples per training minibatch
    :param resume: what `load` returned for a checkpoint to replay, or None
    :param every: also write a checkpoint every this many epochs (0: only on a stop)
    :param hooks: told of the run: ``step(number, value)`` after each live step,
        ``before_live()`` when the replay ends; ``state()`` returns extra JSON-able
        state for a checkpoint, ``arrays()`` extra arrays, and
        ``restore(state, arrays)`` receives both back.
    """

    def __init__(self, path, identity, batch_size, resume=None, every=0, hooks=None):
        self.path = path
        self.identity = identity
        self.batch_size = batch_size
        self.every = every
        self.hooks = hooks
        self.calls = []  # (function number, outputs) of every call, in order
        self.signatures = {}  # function number -> {"dtypes": [...], "list": bool}
        self.state_vars = []  # shared variables that some function updates, in compile order
        self.params = []  # those updated by the last step function called: the model
        self.n_batches = {}  # step function number -> minibatches in one pass over its data
        self.step_counts = {}  # step function number -> calls so far
        self.steps = 0  # steps done, all step functions together
        self.last_step_function = None
        self.any_step_function = False
        self.stop_signal = None
        self.replay = None
        if resume is not None:
            header, self.resume_state, replay_calls, self.resume_arrays = resume
            self.replay = list(reversed(replay_calls))
            self.resume_hook_state = header.get("state")

    @property
    def replaying(self):
        return self.replay is not None

    # -- signals --------------------------------------------------------------

    def _on_signal(self, signum, frame):
        # Only note it: the stop is taken before the next step.
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

    def watch(self, fn, kwargs):
        """``fn`` (compiled with ``kwargs``), recorded, replayed and stoppable."""
        number = len(self.signatures)
        self.signatures[number] = {"dtypes": [o.variable.type.dtype for o in fn.maker.outputs], "list": False}
        updates = kwargs.get("updates")
        if updates:
            self.any_step_function = True
            for var in (v for v, _ in (updates.items() if isinstance(updates, dict) else updates)):
                if var not in self.state_vars:
                    self.state_vars.append(var)
            n_examples = training_set_size(kwargs.get("givens"))
            self.n_batches[number] = n_examples // self.batch_size if n_examples else None
            params = [v for v, _ in (updates.items() if isinstance(updates, dict) else updates)]
        # Shared variables updated without being in ``updates``: the random
        # streams' states, which advance through their default updates.
        for var in (i.variable for i in fn.maker.inputs if i.update is not None):
            if var not in self.state_vars:
                self.state_vars.append(var)
        step = bool(updates)

        def call(*inputs, **named):
            if self.replaying and not self.replay:
                self._go_live()
            if self.replaying:
                recorded_number, value = self.replay.pop()
                if recorded_number != number:
                    raise CheckpointError(
                        "the replayed run called its functions in another order; the code has changed"
                    )
            else:
                if step or not self.any_step_function:
                    self._before_step()
                value = fn(*inputs, **named)
            self.signatures[number]["list"] = isinstance(value, list)
            self.calls.append((number, _copy(value)))
            if step:
                self.params = params
                self._count_step(number, value)
            return value

        return call

    def _count_step(self, number, value):
        self.steps += 1
        self.step_counts[number] = self.step_counts.get(number, 0) + 1
        self.last_step_function = number
        if self.replaying:
            return
        if not isinstance(value, list) and numpy.ndim(value) == 0 and not math.isfinite(float(value)):
            epoch, minibatch = self.position()
            raise NonFiniteCost(
                f"the training cost became {float(value)} at epoch {epoch}, minibatch {minibatch}: "
                "the learning rate is probably too large; the last saved model was kept"
            )
        if self.hooks:
            self.hooks.step(number, value)

    @property
    def n_train_batches(self):
        """Minibatches in one pass of the step function called last (None before any)."""
        return self.n_batches.get(self.last_step_function)

    def position(self):
        """(epoch, minibatch), both counted from 1, of the last step of the step function called last."""
        n = self.n_train_batches or 1
        done = self.step_counts.get(self.last_step_function, 1)
        return (done - 1) // n + 1, (done - 1) % n + 1

    def where(self):
        """Where the run is, in words: "after epoch 3, minibatch 1691", or what it has done when it has no epochs."""
        if not self.steps:
            return f"after {len(self.calls)} recorded calls" if self.calls else "before training started"
        if self.n_train_batches is None:
            # A step function that takes no minibatch: the RBM's sampling, say.
            done = self.step_counts[self.last_step_function]
            return f"after {done} calls of its last step function ({self.steps} steps in all)"
        return "after epoch %i, minibatch %i" % self.position()

    def _go_live(self):
        if len(self.state_vars) != len(self.resume_state):
            raise CheckpointError(
                f"the checkpoint holds {len(self.resume_state)} shared variables, this run updates "
                f"{len(self.state_vars)}; it was made by another version of the code: start the run again"
            )
        for var, value in zip(self.state_vars, self.resume_state):
            var.set_value(value)
        self.replay = None
        if self.hooks:
            self.hooks.restore(self.resume_hook_state, self.resume_arrays)
            self.hooks.before_live()

    def _before_step(self):
        """Take a stop, or a periodic checkpoint, that is due."""
        if self.stop_signal is not None:
            signum = self.stop_signal
            self.write()
            raise Stopped(EXIT_STATUS[signum])
        n = self.n_train_batches
        done = self.step_counts.get(self.last_step_function, 0)
        if self.every and n and done and done % n == 0 and (done // n) % self.every == 0:
            self.write()

    def write(self, complete=False):
        """Write the state before the next step (and every call so far)."""
        # Signals during the write are noted and do not interrupt it.
        header = dict(self.identity(), steps=self.steps, complete=complete)
        header["functions"] = {str(k): v for k, v in self.signatures.items()}
        header["state"] = self.hooks.state() if self.hooks else None
        extra = self.hooks.arrays() if self.hooks else ()
        save(self.path, header, [v.get_value() for v in self.state_vars], self.calls, extra)


def _copy(value):
    """A recorded output, safe from later in-place changes."""
    if isinstance(value, list):
        return [numpy.array(v) for v in value]
    return numpy.array(value)
