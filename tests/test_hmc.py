"""Tests of the HMC chapter: the draws, bit for bit, and the printed lines of the historical test.

The records (``tests/legacy/hmc.<config>.<floatX>.npz``, made by
``tests/legacy/hmc_record.py`` under Theano 1.0.5) hold the first and last
200 draws of the historical chain, a digest of all of them, and the step
size and average acceptance rate after every draw.  No tolerance is used,
in float64 or in float32: the port rounds every operation of a draw as
Theano's compiled code did, so the draws are the same bits.
"""

import hashlib
import os
import re
import signal
import subprocess
import sys
import time
from fractions import Fraction

import numpy
import pytensor
import pytensor.tensor as TT
import pytest

from deeplearning_tutorial import checkpoints, checks, cli, hmc
from deeplearning_tutorial.link.numba.mode import NUMBA_BLAS, NumbaBlasLinker
from deeplearning_tutorial.logs import result_lines
from deeplearning_tutorial.ops.rng_mrg import MulAdd
from tests.helpers import LEGACY_DIR, REPO, golden_log


def record(config, floatX):
    with numpy.load(os.path.join(LEGACY_DIR, f"hmc.{config}.{floatX}.npz")) as f:
        return {key: f[key] for key in f.files}


def chain(burnin, n_samples, dim):
    """Run ``sampler_on_nd_gaussian`` as test_hmc does; return its draws, step sizes and acceptance rates."""
    draws, stepsizes, rates = [], [], []

    def recording_sampler(*args, **kwargs):
        sampler = hmc.HMC_sampler.new_from_shared_positions(*args, **kwargs)
        draw = sampler.draw

        def recorded_draw():
            draws.append(draw())
            stepsizes.append(sampler.stepsize.get_value())
            rates.append(sampler.avg_acceptance_rate.get_value())
            return draws[-1]

        sampler.draw = recorded_draw
        return sampler

    hmc.sampler_on_nd_gaussian(recording_sampler, burnin=burnin, n_samples=n_samples, dim=dim)
    return numpy.stack(draws), numpy.array(stepsizes), numpy.array(rates)


def test_first_draws_are_the_historical_draws(floatX, capsys):
    expected = record("default", floatX)
    draws, stepsizes, rates = chain(burnin=99, n_samples=1, dim=5)
    assert draws.dtype == floatX
    numpy.testing.assert_array_equal(draws, expected["first"][:100])
    numpy.testing.assert_array_equal(stepsizes, expected["stepsize"][:100])
    numpy.testing.assert_array_equal(rates, expected["acceptance_rate"][:100])
    # the chains moved: a test of equal copies of the start would prove nothing
    assert len({d.tobytes() for d in draws}) > 90
    lines = capsys.readouterr().out.splitlines()
    assert lines[:9] == golden_log(f"hmc.default.{floatX}.log")[:9]  # the target's lines


def test_the_leapfrog_sums_are_fused_as_theano_fused_them():
    """``a + b * c`` is rounded once (the C library's fma), where NumPy would round twice."""
    a, b, c = TT.dvector("a"), TT.dscalar("b"), TT.dvector("c")
    f = pytensor.function([a, b, c], [a + b * c, a - 0.5 * b * c], mode=hmc.hmc_mode())
    assert sum(isinstance(node.op, MulAdd) for node in f.maker.fgraph.apply_nodes) == 2
    x = numpy.array([-1.0, -3.0])
    y = numpy.array([1 + 2.0**-30, 7.0])
    s = 1 - 2.0**-30
    plus, minus = f(x, s, y)
    # -1 + (1 - 2**-30)(1 + 2**-30) = -2**-60 exactly; rounding the product first gives 0
    assert plus[0] == -(2.0**-60) and (x + s * y)[0] == 0.0
    exact = [float(Fraction(a) - Fraction(0.5 * s) * Fraction(c)) for a, c in zip(x, y)]
    numpy.testing.assert_array_equal(minus, exact)


@pytest.fixture
def numba_blas():
    with pytensor.config.change_flags(mode=NUMBA_BLAS):
        yield


@pytest.mark.slow
def test_first_draws_under_numba_blas_are_the_historical_draws(numba_blas, floatX, capsys):
    """``--mode NUMBA_BLAS`` contracts the same sums (`hmc.hmc_mode`) and compiles the MRG ops: the same bits.

    Seconds on a warm Numba cache, but a minute or more of compiling on an empty one: ``slow``.
    """
    test_first_draws_are_the_historical_draws(floatX, capsys)


def test_the_leapfrog_sums_are_fused_under_numba_blas_too(numba_blas):
    """The contractions happen before element-wise fusion, which would otherwise hide the sums."""
    mode = hmc.hmc_mode()
    assert isinstance(mode.linker, NumbaBlasLinker)
    test_the_leapfrog_sums_are_fused_as_theano_fused_them()


def test_the_sampler_keeps_its_historical_defaults():
    sampler = hmc.HMC_sampler.new_from_shared_positions(pytensor.shared(numpy.zeros((2, 3))), lambda x: (x**2).sum(1))
    assert sampler.stepsize.get_value() == numpy.asarray(0.01, dtype=pytensor.config.floatX)
    assert sampler.avg_acceptance_rate.get_value() == numpy.asarray(0.9, dtype=pytensor.config.floatX)
    assert (sampler.stepsize_min, sampler.stepsize_max, sampler.target_acceptance_rate) == (0.001, 0.25, 0.9)
    assert sampler.s_rng.default_instance_seed == 12345


@pytest.mark.parametrize("kwargs", [{"burnin": -1}, {"n_samples": 0}, {"dim": 0}, {"burnin": 1.5}])
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        hmc.test_hmc(**kwargs)


def test_bad_flag_is_one_line_and_status_2():
    command = [sys.executable, "-m", "deeplearning_tutorial.hmc", "--burnin", "-3"]
    done = subprocess.run(command, env=dict(os.environ, PYTHONPATH=REPO), capture_output=True, text=True)
    assert done.returncode == 2 and done.stderr.strip().endswith("--burnin: must be an integer >= 0, got '-3'")


@pytest.mark.parametrize("flag, value", [("--plots", "pictures"), ("--history", "history.csv")])
def test_plots_and_history_are_refused_up_front(tmp_path, flag, value):
    """The sampler has no epochs or weights: the flag is refused before anything runs, and nothing is written."""
    command = [sys.executable, "-m", "deeplearning_tutorial.hmc", flag, value]
    done = subprocess.run(command, cwd=tmp_path, env=dict(os.environ, PYTHONPATH=REPO), capture_output=True, text=True)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        f"python -m deeplearning_tutorial.hmc: error: {flag}: {hmc.NO_TRAINING_RECORD}"
    ]
    assert list(tmp_path.iterdir()) == []


def test_a_failed_final_check_is_one_line_and_status_1(monkeypatch, capsys):
    """The historical test's asserts, on the command line: the message as one line, not a traceback."""
    message = "the average acceptance rate ended at 0.1987, more than 0.1 from its target 0.9"

    def test_hmc(burnin=1000, n_samples=1000, dim=5):
        raise checks.ResultCheckFailed(message)

    monkeypatch.setattr(hmc, "test_hmc", test_hmc)
    with pytest.raises(SystemExit) as stop:
        cli.main("hmc", ["--quiet"])
    assert stop.value.code == 1
    assert capsys.readouterr().err == f"python -m deeplearning_tutorial.hmc: check failed: {message}\n"


def _cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="needs /proc to time the signal")
def test_stopped_by_sigint_and_resumed_prints_the_golden_log_and_ends_on_the_historical_draw(tmp_path):
    """The default run (2 000 draws), stopped by a real SIGINT part-way, then resumed with --resume."""
    command = [sys.executable, "-m", "deeplearning_tutorial.hmc", "--floatX", "float64", "--quiet"]
    command += ["--checkpoint-every", "1000"]  # a checkpoint at the end too: the final state
    env = dict(os.environ, PYTHONPATH=REPO)  # this checkout's package, from any folder
    proc = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # Compiling takes about 2 s of CPU time and a draw a few milliseconds: stop among the draws.
    while proc.poll() is None and _cpu_seconds(proc.pid) < 3.5:
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    first, err = proc.communicate()
    assert proc.returncode == 130, err
    assert first == "" and "stopped after " in err and "before training" not in err  # among the draws
    resumed = subprocess.run(command + ["--resume"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stderr.startswith("resuming hmc.checkpoint.npz after ")
    assert result_lines(first + resumed.stdout) == golden_log("hmc.default.float64.log")
    header, state, _, _ = checkpoints.load(str(tmp_path / "hmc.checkpoint.npz"))
    expected = record("default", "float64")
    assert header["complete"] and header["steps"] == 2000
    positions, stepsize, rate = state[:3]
    numpy.testing.assert_array_equal(positions, expected["last"][-1])
    assert stepsize == expected["stepsize"][-1] and rate == expected["acceptance_rate"][-1]
    # the two random streams' states (velocities, acceptance) are Theano's too
    digests = {hashlib.sha256(numpy.ascontiguousarray(s).tobytes()).hexdigest() for s in state[3:]}
    assert len(state) == 5 and digests == set(expected["rstate_sha256"].tolist())


@pytest.mark.slow
@pytest.mark.parametrize(
    "config, kwargs",
    [
        ("default", {}),
        ("burnin1000.n_samples9000", {"burnin": 1000, "n_samples": 9000, "dim": 5}),
        ("burnin1000.n_samples4000.dim10", {"burnin": 1000, "n_samples": 4000, "dim": 10}),
    ],
)
def test_the_whole_chain_and_the_printed_lines_are_the_historical_ones(floatX, capsys, config, kwargs):
    expected = record(config, floatX)
    burnin, n_samples, dim = (int(expected[k]) for k in ("burnin", "n_samples", "dim"))
    assert kwargs == {} or kwargs == {"burnin": burnin, "n_samples": n_samples, "dim": dim}
    draws, stepsizes, rates = chain(burnin, n_samples, dim)
    assert hashlib.sha256(numpy.ascontiguousarray(draws).tobytes()).hexdigest() == str(expected["draws_sha256"])
    numpy.testing.assert_array_equal(draws[-200:], expected["last"])
    numpy.testing.assert_array_equal(stepsizes, expected["stepsize"])
    numpy.testing.assert_array_equal(rates, expected["acceptance_rate"])
    lines, golden = capsys.readouterr().out.splitlines(), golden_log(f"hmc.{config}.{floatX}.log")
    if config.endswith("dim10"):
        assert_same_report(lines, golden, STATS_RTOL[floatX])
    else:
        assert lines == golden


@pytest.mark.slow
@pytest.mark.parametrize(
    "config, kwargs",
    [
        ("default", {}),
        ("burnin1000.n_samples9000", {"burnin": 1000, "n_samples": 9000, "dim": 5}),
        ("burnin1000.n_samples4000.dim10", {"burnin": 1000, "n_samples": 4000, "dim": 10}),
    ],
)
def test_the_whole_chain_under_numba_blas_is_the_historical_one(numba_blas, floatX, capsys, config, kwargs):
    test_the_whole_chain_and_the_printed_lines_are_the_historical_ones(floatX, capsys, config, kwargs)


# The dim10 chain runs away (its "covariance" is not positive definite), to
# means in the thousands and variances in the millions.  Its draws are
# Theano's bit for bit, but the statistics printed from them are computed by
# NumPy, whose reductions add in another order than NumPy 1.23.5's did: the
# float32 mean of 12 000 float32 values comes out up to 2e-7 (two float32
# units in the last place) away, and a float64 covariance entry of -3989247.3
# one unit in its 15th digit away.  The other runs print identical lines.
STATS_RTOL = {"float64": 1e-12, "float32": 1e-6}
NUMBER = re.compile(r"-?\d+\.\d*(?:e[-+]\d+)?")


def assert_same_report(lines, golden, rtol):
    """The lines of two reports, identical but for the empirical statistics, which agree to ``rtol``."""

    def split(report):
        text = "\n".join(report)
        start, end = text.index("****** EMPIRICAL"), text.index("****** HMC INTERNALS")
        return text[:start] + text[end:], [float(v) for v in NUMBER.findall(text[start:end])]

    (rest, numbers), (golden_rest, golden_numbers) = split(lines), split(golden)
    assert rest == golden_rest
    assert len(numbers) == len(golden_numbers) == 10 + 100
    numpy.testing.assert_allclose(numbers, golden_numbers, rtol=rtol, atol=0)
