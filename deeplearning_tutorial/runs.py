"""The seam between a chapter and the program that runs it.

A chapter's training function compiles its functions and prints its lines
through the *run* it is part of::

    run = runs.current()
    train_model = run.function(inputs=[index], outputs=cost, updates=updates, givens=...)
    ...
    run.print("epoch %i, minibatch %i/%i, validation error %f %%" % (...))

Called from Python, or as a plain script, the current run is a `Run`:
``run.function`` is ``pytensor.function`` and ``run.print`` is ``print``,
so the chapter reads, and computes, exactly as the historical code did.
The command line (`deeplearning_tutorial.cli`) makes its own run current
for the length of the training function.  Through the same two methods it
sees every call of every compiled function (training steps, evaluations,
samples) and every printed line, which is all it needs for the progress
bar, ``--history``, the best model, and an exact stop and resume.

These are the only two ways in which a chapter and the machinery touch:
no library function is replaced and no stream is swapped.  See
``docs/design.md`` for why the seam sits here.
"""

import builtins
import contextlib

import pytensor


class Run:
    """A run with nothing watching it: compile with PyTensor, print to the terminal."""

    #: True while a resumed run re-executes the part of the loop that the
    #: stopped run had done: compiled calls then return recorded values, and
    #: nothing is printed or written.
    replaying = False

    def function(self, *args, **kwargs):
        """Compile a function; the arguments are those of ``pytensor.function``."""
        return pytensor.function(*args, **kwargs)

    def print(self, *values, sep=" ", end="\n", file=None, flush=False):
        """Print a line of the tutorial's log; the arguments are those of ``print``."""
        builtins.print(*values, sep=sep, end=end, file=file, flush=flush)

    def write_file(self, path, write, what=None):
        """Write a file that the chapter keeps (its best model, a picture) by calling ``write(path)``.

        :param what: a few words saying what the file is, for the message
            that tells a command-line user where it went
        """
        write(path)


_PLAIN = Run()
_active = [_PLAIN]


def current():
    """The run that the chapter's code is part of."""
    return _active[-1]


@contextlib.contextmanager
def active(run):
    """Make ``run`` the current run while the block runs."""
    _active.append(run)
    try:
        yield run
    finally:
        _active.remove(run)
