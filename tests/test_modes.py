"""The tutorials' modes: named by an explicit call, and checked before anything is compiled."""

import subprocess
import sys

import pytensor
import pytest
from pytensor.compile.mode import get_mode, predefined_modes

from deeplearning_tutorial import modes
from deeplearning_tutorial.modes import NUMBA_BLAS, NUMPY, ModeError, check_mode


def test_importing_the_modes_names_none():
    program = (
        "from pytensor.compile.mode import predefined_modes\n"
        "from deeplearning_tutorial import modes\n"
        "print(sorted(set(modes.MODES) & set(predefined_modes)))\n"
    )
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_register_names_the_modes_once_and_keeps_a_users_mode(monkeypatch):
    mine = get_mode("FAST_COMPILE")
    monkeypatch.delitem(predefined_modes, "NUMPY", raising=False)
    monkeypatch.setitem(predefined_modes, "NUMBA_BLAS", mine)
    modes.register()
    modes.register()
    assert get_mode("NUMPY") is NUMPY
    assert predefined_modes["NUMBA_BLAS"] is mine
    monkeypatch.delitem(predefined_modes, "NUMBA_BLAS")
    modes.register()
    assert get_mode("NUMBA_BLAS") is NUMBA_BLAS


def test_tutorial_mode_names_the_modes(monkeypatch):
    for name in modes.MODES:
        monkeypatch.delitem(predefined_modes, name, raising=False)
    assert modes.tutorial_mode() is NUMPY
    assert all(predefined_modes[name] is mode for name, mode in modes.MODES.items())
    # get_mode now finds them by name, as --mode does.
    with pytensor.config.change_flags(mode=get_mode("NUMPY")):
        assert modes.tutorial_mode() is NUMPY


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
