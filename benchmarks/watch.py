"""Seeing each training step of a tutorial from outside it: for measurement only.

A benchmark has to time the training loop of a chapter as the chapter
runs it, including the historical Theano code, which cannot be changed
to report its own steps.  While `watch_training` is active it puts a
stand-in for ``library.function`` (``pytensor.function`` by default,
``theano.function`` for the historical code): each function compiled
*with updates*, a training step, calls back after each of its calls;
every other function comes back as it was compiled.  On leaving, the
library's own ``function`` is put back.

This replaces a library function while it runs, which the package itself
never does: it belongs to the benchmarks, never to a tutorial or to the
command line, and no ordinary run goes through it.  It sees every call of
``pytensor.function`` made while it is active, so it sees a chapter that
compiles through the run seam too, as long as that seam, outside a
command-line run, calls ``pytensor.function`` when the chapter compiles.

It imports nothing at import time and only the standard library itself,
so that an interpreter with Theano and nothing of ours installed can use
it (``python -m benchmarks.legacy``).
"""

import contextlib
import importlib


@contextlib.contextmanager
def compiled_functions(wrap, library="pytensor"):
    """While active, ``library.function(...)`` returns ``wrap(fn, kwargs)`` for the ``fn`` it compiled.

    :param wrap: called with the compiled function and the keyword
        arguments it was compiled with (``updates``, ``givens``...);
        what it returns is handed to the caller.
    :param library: a module, or the name of one, with a ``function``.
    """
    if isinstance(library, str):
        library = importlib.import_module(library)
    original = library.function

    def stand_in(*args, **kwargs):
        return wrap(original(*args, **kwargs), kwargs)

    library.function = stand_in
    try:
        yield
    finally:
        library.function = original


def watch_training(on_step, library="pytensor"):
    """While active, call ``on_step(inputs, cost)`` after each call of a training step.

    :param on_step: called with the tuple of arguments the step was called
        with (the minibatch index, in the tutorials) and what it returned;
        an exception it raises leaves the tutorial, which ends a run early.
    :param library: the module (or its name) whose ``function`` the
        tutorial compiles with.
    """

    def wrap(fn, kwargs):
        if not kwargs.get("updates"):
            return fn

        def step(*inputs):
            cost = fn(*inputs)
            on_step(inputs, cost)
            return cost

        return step

    return compiled_functions(wrap, library)


class Stop(Exception):
    """Raised by an ``on_step`` callback to leave the tutorial (see `first_training_step`)."""


def first_training_step(train, library="pytensor", is_step=None):
    """Run ``train()`` until its first training step has been compiled and called; return that step.

    The tutorial builds its data, model and functions as it always does;
    its loop ends after the first step, which has then run once (so a JIT
    backend has compiled it).  The step is returned as compiled, without
    the watching wrapper.

    :param is_step: whether a function compiled with these keyword
        arguments is the step to stop at; by default, one with updates (a
        chapter that trains without updates, such as conjugate gradients,
        names its function instead)
    """
    found = []
    if is_step is None:

        def is_step(kwargs):
            return bool(kwargs.get("updates"))

    def wrap(fn, kwargs):
        if not is_step(kwargs):
            return fn

        def step(*inputs, **named):
            fn(*inputs, **named)
            found.append(fn)
            raise Stop

        return step

    with compiled_functions(wrap, library):
        try:
            train()
        except Stop:
            return found[0]
    raise RuntimeError("the tutorial ended without calling a function compiled with updates (or the one named)")
