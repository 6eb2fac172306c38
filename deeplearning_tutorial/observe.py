"""Watching a tutorial's training steps without changing the tutorial.

The tutorials compile their functions inside one long function and call
them in a loop written out as in the historical code.  Tests, benchmarks
and the command line still need to see each training step (its cost, its
time).  `watch_training` replaces the library's ``function`` while it is
active, so that each function compiled *with updates* (the training step)
calls back after every call; the other functions are returned untouched.

It imports no library itself: by default it watches PyTensor's
``pytensor.function``, and the benchmarks hand it Theano's to time the
historical code the same way.
"""

import contextlib
import importlib


@contextlib.contextmanager
def wrap_compiled(wrap, library="pytensor"):
    """While active, each function that ``library.function`` compiles is replaced by ``wrap(fn, kwargs)``.

    ``kwargs`` are the keyword arguments it was compiled with (``updates``,
    ``givens``...).
    """
    if isinstance(library, str):
        library = importlib.import_module(library)
    compile_function = library.function

    def wrapped_function(*args, **kwargs):
        return wrap(compile_function(*args, **kwargs), kwargs)

    library.function = wrapped_function
    try:
        yield
    finally:
        library.function = compile_function


def watch_training(on_step, library="pytensor"):
    """While active, call ``on_step(cost, params)`` after each training step.

    :param on_step: called with the value the step returned and the list of
        shared variables it updates (in the order of its updates); an
        exception it raises ends the run, which tests use to stop early.
    :param library: the module (or its name) whose ``function`` compiles
        the tutorial's functions.
    """

    def wrap(fn, kwargs):
        updates = kwargs.get("updates")
        if not updates:
            return fn
        params = [param for param, _ in updates]

        def step(*inputs):
            cost = fn(*inputs)
            on_step(cost, params)
            return cost

        return step

    return wrap_compiled(wrap, library)
