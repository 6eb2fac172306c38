"""Backends are loaded only for the modes that need them."""

import os
import subprocess
import sys

import pytest

# Builds and runs, in the tutorials' default mode, a graph with every op of
# the package and its gradients, then lists what got imported.
PROGRAM = """
import sys

import pytest
import numpy, pytensor, pytensor.tensor as pt
from deeplearning_tutorial import convolutional_mlp, logistic_sgd, mlp
from deeplearning_tutorial.modes import tutorial_mode
from deeplearning_tutorial.ops import conv2d, pool_2d
X = pt.tensor4(shape=(1, 1, 6, 6))
out = pool_2d(conv2d(X, pt.constant(numpy.ones((2, 1, 3, 3)))), (2, 2), mode="average_inc_pad").sum()
pytensor.function([X], [out, pytensor.grad(out, X)], mode=tutorial_mode())(numpy.ones((1, 1, 6, 6)))
print(" ".join(sorted(sys.modules)))
"""


def imported_modules(flags=""):
    result = subprocess.run(
        [sys.executable, "-c", PROGRAM],
        env=dict(os.environ, PYTENSOR_FLAGS=flags),
        capture_output=True,
        text=True,
        check=True,
    )
    return set(result.stdout.split())


# The backends' packages and mode definitions, which load no implementation.
DEFINITIONS = {"deeplearning_tutorial.link.numba", "deeplearning_tutorial.link.numba.mode"}


def test_the_default_mode_loads_neither_numba_dispatch_nor_jax():
    modules = imported_modules()
    assert "deeplearning_tutorial.ops.conv" in modules
    # The implementation trees, less the mode definitions in them, which are plain Python.
    trees = {("deeplearning_tutorial", "link", "numba"), ("deeplearning_tutorial", "link", "jax")}
    loaded = {
        m for m in modules if m.startswith(("pytensor.link.numba.dispatch", "jax")) or tuple(m.split(".")[:3]) in trees
    }
    assert not loaded - DEFINITIONS


def test_a_numba_mode_loads_our_numba_implementations():
    modules = imported_modules("mode=NUMBA")
    assert {"deeplearning_tutorial.link.numba.ops.conv", "deeplearning_tutorial.link.numba.ops.pool"} <= modules


def test_a_jax_mode_loads_our_jax_implementations():
    pytest.importorskip("jax")
    modules = imported_modules("mode=JAX")
    assert {"deeplearning_tutorial.link.jax.ops.conv", "deeplearning_tutorial.link.jax.ops.pool"} <= modules
    assert not {m for m in modules if m.split(".")[:3] == ["deeplearning_tutorial", "link", "numba"]} - DEFINITIONS
    assert not {m for m in modules if m.startswith("pytensor.link.numba.dispatch")}
