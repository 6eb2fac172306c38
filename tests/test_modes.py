"""Checks of the chosen mode before anything is compiled: one clear line when it cannot run."""

import sys

import pytensor
import pytest
from pytensor.compile.mode import get_mode

from deeplearning_tutorial.modes import NUMPY, ModeError, check_mode


def test_modes_without_requirements_pass():
    for mode in (NUMPY, get_mode("CVM"), get_mode("NUMBA")):
        check_mode(mode)


def test_jax_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "jax", None)
    with pytest.raises(ModeError, match=r"^--mode JAX needs JAX: pip install -e '\.\[jax\]'$"):
        check_mode(get_mode("JAX"))


def test_jax_too_old(monkeypatch):
    jax = pytest.importorskip("jax")
    monkeypatch.setattr(jax, "__version__", "0.4.1")
    with pytest.raises(ModeError, match=r"needs JAX 0\.4\.35 or newer, found 0\.4\.1"):
        check_mode(get_mode("JAX"))


@pytest.mark.parametrize("value", ["0", "false", "False"])
def test_float64_with_64_bit_mode_turned_off(monkeypatch, value):
    pytest.importorskip("jax")
    monkeypatch.setenv("JAX_ENABLE_X64", value)
    with pytest.raises(ModeError, match="float64 needs JAX's 64-bit mode, which JAX_ENABLE_X64 turns off"):
        check_mode(get_mode("JAX"))
    with pytensor.config.change_flags(floatX="float32"):
        check_mode(get_mode("JAX"))
