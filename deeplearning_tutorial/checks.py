"""Argument checks shared by the tutorial functions and the ops.

They run before anything is compiled, so a typo costs a clear message
rather than a long compile followed by a shape error deep in a graph.
"""

import math
import numbers

import numpy as np


def is_int(value):
    """True for a Python or NumPy integer; booleans do not count."""
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def positive_int(name, value):
    """Raise ValueError unless ``value`` is an integer >= 1."""
    if not is_int(value) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def positive_number(name, value):
    """Raise ValueError unless ``value`` is a finite real number > 0."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) or not 0 < value < math.inf:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")


def non_negative(name, value):
    """Raise ValueError unless ``value`` is a finite real number >= 0."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) or not 0 <= value < math.inf:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")


def batch_fits(batch_size, datasets):
    """Raise ValueError if a split has fewer examples than one minibatch."""
    for split, (x, _) in zip(("training", "validation", "test"), datasets):
        n = x.get_value(borrow=True).shape[0]
        if batch_size > n:
            raise ValueError(
                f"batch_size={batch_size} is larger than the {split} set ({n} examples); "
                "use a batch size no larger than the smallest split"
            )


class ResultCheckFailed(AssertionError):
    """A chapter's own check of what it computed failed (the historical tests end with such asserts).

    An AssertionError, so that test runners report it as the historical
    assert did; the command line prints its message as one line, exit status 1.
    """
