"""Tests of the RBM chapter: its graphs, its random streams and its runs against the historical code.

The historical run is test.py's: ``test_rbm(training_epochs=1, batch_size=300,
n_chains=1, n_samples=1, n_hidden=20)`` under Theano 1.0.5; its log, the
first 100 values returned by ``train_rbm``, checksums of every shared
variable the compiled functions update, and digests of its two pictures are
in ``tests/legacy/`` (see the README there).
"""

import gzip
import hashlib
import json
import os
import pickle
import re
import signal
import subprocess
import sys
import time

import numpy
import pytensor
import pytensor.tensor as T
import pytest

from deeplearning_tutorial import checkpoints, runs
from deeplearning_tutorial import rbm as chapter
from deeplearning_tutorial.data import load_data, read_dataset
from deeplearning_tutorial.link.numba.mode import NUMBA_BLAS
from deeplearning_tutorial.logs import parse, result_lines
from deeplearning_tutorial.modes import tutorial_mode
from deeplearning_tutorial.ops import rng_mrg
from tests.helpers import LEGACY_DIR, REPO, golden_log

RUN = "rbm.training_epochs1.batch_size300.n_chains1.n_samples1.n_hidden20"
TEST_PY = {"training_epochs": 1, "batch_size": 300, "n_chains": 1, "n_samples": 1, "n_hidden": 20}

# Tolerances on a cost printed or returned by the port, against the historical one.
# float64: the chains are the historical ones bit for bit, and the parameters differ from
#   Theano's only in how the BLAS products round (a few units of 1e-16 after a step); the
#   costs agree to 1e-14 and the test asks for the 12 significant digits of the printed line.
# float32: the first steps agree to float32 rounding (1e-6).  The weight updates round in
#   another order than Theano's float32 gemm (one float32 ulp on a fifth of the weights
#   after one step); a one-ulp probability turns a binary sample the other way once in
#   about 2**24 draws, and with 2.4 million draws a step the chains part from Theano's
#   after some 25 steps on this machine.  From there a float32 run is another sample path:
#   its epoch cost is compared with the historical float32 one to 1e-3, four times the
#   gap between the historical float32 and float64 epoch costs (2.6e-4), which are two
#   such paths.
RTOL = {"float64": 1e-12, "float32": 1e-6}
EPOCH_COST_RTOL32 = 1e-3


def legacy_record(floatX):
    with open(os.path.join(LEGACY_DIR, f"{RUN}.{floatX}.json")) as f:
        return json.load(f)


def legacy_images(floatX):
    with open(os.path.join(LEGACY_DIR, f"{RUN}.{floatX}.images.json")) as f:
        return json.load(f)


def sha256(array):
    return hashlib.sha256(numpy.ascontiguousarray(array).tobytes()).hexdigest()


def build_like_test_rbm(train_set_x, batch_size=300, n_hidden=20):
    """The RBM and its training step exactly as test_rbm builds them (same seeds, same order)."""
    index = T.lscalar()
    x = T.matrix("x")
    rng = numpy.random.RandomState(123)
    theano_rng = chapter.RandomStreams(rng.randint(2**30))
    persistent_chain = pytensor.shared(numpy.zeros((batch_size, n_hidden), dtype=pytensor.config.floatX))
    rbm = chapter.RBM(input=x, n_visible=28 * 28, n_hidden=n_hidden, numpy_rng=rng, theano_rng=theano_rng)
    cost, updates = rbm.get_cost_updates(lr=0.1, persistent=persistent_chain, k=15)
    train_rbm = pytensor.function(
        [index],
        cost,
        updates=updates,
        givens={x: train_set_x[index * batch_size : (index + 1) * batch_size]},
        mode=tutorial_mode(),
    )
    return rbm, persistent_chain, updates, train_rbm


# -- the training step -----------------------------------------------------------


def test_first_steps_match_legacy(mnist_path, floatX):
    train_set_x = load_data(mnist_path)[0][0]
    _, _, _, train_rbm = build_like_test_rbm(train_set_x)
    expected = [float(v) for v in legacy_record(floatX)["functions"][0]["outputs"][:3]]
    got = [float(train_rbm(i)) for i in range(3)]
    numpy.testing.assert_allclose(got, expected, rtol=RTOL[floatX], atol=0)


def test_the_gibbs_steps_continue_the_historical_streams(mnist_path):
    """The loop's draws are the second and third handed out, and each call takes them on where the last left them.

    PyTensor 3.0's scan turns the default update of a draw made inside the
    loop into an update of the loop (`chapter.scan`); this is what the
    training function must get for its streams to advance as Theano's did.
    """
    train_set_x = load_data(mnist_path)[0][0]
    rbm, persistent_chain, updates, train_rbm = build_like_test_rbm(train_set_x)
    draws = rbm.theano_rng.state_updates
    # the positive phase's draw (out of the PCD graph), then the loop's visible and hidden draws
    assert len(draws) == 3 and all(size is not None for _, _, size, _ in draws)
    first, visible, hidden = (state for state, _, _, _ in draws)
    assert first not in updates and visible in updates and hidden in updates
    assert visible.default_update is None and hidden.default_update is None
    assert set(updates) == {visible, hidden, rbm.W, rbm.hbias, rbm.vbias, persistent_chain} | {
        v for v in updates if v.name == "bit_i_idx"
    }
    start = [visible.get_value(), hidden.get_value()]
    assert start[0].shape == start[1].shape == (rng_mrg.MAX_STREAMS, 6)
    train_rbm(0)
    # 15 Gibbs steps, each a 300 x 784 visible draw and a 300 x 20 hidden one
    for state, n_values, var in zip(start, (300 * 784, 300 * 20), (visible, hidden)):
        for _ in range(15):
            state, _ = rng_mrg.mrg_draw(state, n_values, "float64")
        numpy.testing.assert_array_equal(var.get_value(), state)


@pytest.mark.slow
def test_the_streams_after_training_and_sampling_are_the_historical_ones():
    """The states of the four streams of test.py's run, after its 166 steps and its sampling, byte for byte.

    They depend only on the seed, the order in which the draws were built
    and their sizes, so they are computed here without the model (20 s of
    draws; the whole run in float64, in the default tests, checks them too).
    """
    rng = numpy.random.RandomState(123)
    theano_rng = chapter.RandomStreams(rng.randint(2**30))
    for _ in range(3):  # the positive phase and the training loop's two draws
        theano_rng.uniform(size=T.matrix().shape)
    for _ in range(2):  # the sampling loop's two draws
        theano_rng.uniform(size=T.matrix().shape)
    states = [state.get_value() for state, _, _, _ in theano_rng.state_updates]
    runs = [(states[1], 166 * 15, 300 * 784), (states[2], 166 * 15, 300 * 20)]
    runs += [(states[3], 1000, 20), (states[4], 1000, 784)]
    digests = []
    for state, n_draws, n_values in runs:
        for _ in range(n_draws):
            state, _ = rng_mrg.mrg_draw(state, n_values, "float64")
        digests.append(sha256(state))
    for floatX in ("float64", "float32"):
        recorded = [s for s in legacy_record(floatX)["shared"] if s["shape"] == [rng_mrg.MAX_STREAMS, 6]]
        # train_rbm updates the first two, sample_fn the last two
        assert {s["sha256"] for s in recorded if s["function"] == 0} == set(digests[:2])
        assert {s["sha256"] for s in recorded if s["function"] == 1} == set(digests[2:])


def test_free_energy_and_pseudo_likelihood(floatX):
    rng = numpy.random.RandomState(5)
    x = T.matrix("x")
    rbm = chapter.RBM(input=x, n_visible=6, n_hidden=4, numpy_rng=rng)
    rbm.hbias.set_value(rng.uniform(-1, 1, 4).astype(floatX))
    rbm.vbias.set_value(rng.uniform(-1, 1, 6).astype(floatX))
    W, b, c = rbm.W.get_value(), rbm.vbias.get_value(), rbm.hbias.get_value()
    v = rng.uniform(0, 1, size=(3, 6)).astype(floatX)

    def free_energy(v):
        return -numpy.log1p(numpy.exp(v @ W + c)).sum(axis=1) - v @ b

    fe = pytensor.function([x], rbm.free_energy(x), mode=tutorial_mode())(v)
    numpy.testing.assert_allclose(fe, free_energy(v.astype("float64")), rtol=RTOL[floatX])

    updates = {}
    cost = rbm.get_pseudo_likelihood_cost(updates)
    (bit,) = updates
    f = pytensor.function([x], cost, updates=updates, mode=tutorial_mode())
    for i in range(7):  # the bit index goes round the 6 visible units
        xi = numpy.round(v).astype("float64")
        flipped = xi.copy()
        flipped[:, i % 6] = 1 - flipped[:, i % 6]
        expected = numpy.mean(6 * -numpy.log1p(numpy.exp(-(free_energy(flipped) - free_energy(xi)))))
        numpy.testing.assert_allclose(f(v), expected, rtol=RTOL[floatX])
        assert bit.get_value() == (i + 1) % 6


def test_contrastive_divergence_monitors_the_reconstruction():
    """CD-k (no persistent chain): the chain starts at the positive phase's sample, whose draw is now used."""
    rng = numpy.random.RandomState(7)
    x = T.matrix("x")
    rbm = chapter.RBM(input=x, n_visible=784, n_hidden=10, numpy_rng=rng)
    cost, updates = rbm.get_cost_updates(lr=0.1, persistent=None, k=2)
    streams = [state for state, _, _, _ in rbm.theano_rng.state_updates]
    assert len(streams) == 3 and streams[0] not in updates  # the positive phase's draw is outside the loop
    assert set(updates) == {rbm.W, rbm.hbias, rbm.vbias, streams[1], streams[2]}
    f = pytensor.function([x], cost, updates=updates, mode=tutorial_mode())
    assert streams[0].default_update is not None  # its state advances through the function's default update
    data = (rng.uniform(size=(5, 784)) > 0.5).astype(pytensor.config.floatX)
    before = streams[0].get_value()
    value = float(f(data))
    # a mean over examples of a sum of 784 log-probabilities: negative, and above 784 log(1e-6)
    assert 784 * numpy.log(1e-6) < value < 0
    assert not numpy.array_equal(streams[0].get_value(), before)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"k": 0}, "k must be a positive integer"),
        ({"persistent": "chain"}, "must be a shared variable"),
        ({"persistent": pytensor.shared(numpy.zeros((20, 7)))}, "must hold one row per example and 10 columns"),
    ],
)
def test_bad_cost_arguments(kwargs, message):
    rbm = chapter.RBM(n_visible=784, n_hidden=10)
    with pytest.raises((ValueError, TypeError), match=message):
        rbm.get_cost_updates(**kwargs)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"training_epochs": 0}, "training_epochs must be a positive integer"),
        ({"n_chains": 0}, "n_chains must be a positive integer"),
        ({"n_samples": -1}, "n_samples must be a positive integer"),
        ({"n_hidden": 2.5}, "n_hidden must be a positive integer"),
        ({"learning_rate": 0}, "learning_rate must be a finite number > 0"),
        ({"n_chains": 10000}, "there must be fewer chains than the 10000 test images"),
    ],
)
def test_bad_arguments(mnist_path, kwargs, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        chapter.test_rbm(output_folder=str(tmp_path / "out"), **kwargs)
    assert not (tmp_path / "out").exists()


def test_write_plots(tmp_path):
    rng = numpy.random.RandomState(0)
    chains = (rng.uniform(size=(3, 784)) > 0.5).astype("float64")
    W = rng.uniform(-1, 1, size=(784, 20))
    state = rng.randint(1, 2**30, size=(15360, 6)).astype("int32")
    paths = chapter.write_plots(str(tmp_path), [], [state, state, chains, W])
    assert paths == [str(tmp_path / "chains.png"), str(tmp_path / "filters.png")]
    from PIL import Image

    pixels = numpy.asarray(Image.open(paths[0]))
    assert pixels.shape == (28, 3 * 29 - 1)
    numpy.testing.assert_array_equal(pixels[:, 29:57] > 0, chains[1].reshape(28, 28) > 0)
    expected = chapter.tile_raster_images(W.T, img_shape=(28, 28), tile_shape=(10, 10), tile_spacing=(1, 1))
    numpy.testing.assert_array_equal(numpy.asarray(Image.open(paths[1])), expected)


def test_the_lines_are_known_to_the_log_grammar():
    kinds = [parse(line).kind for line in golden_log(f"{RUN}.float64.log")]
    assert kinds == ["stage", "epoch_cost", "stage"]
    assert parse("Training took 0.342667 minutes").kind == "timing"


# -- test.py's run, whole ----------------------------------------------------------


def images_digests(folder):
    from PIL import Image

    return {name: sha256(numpy.asarray(Image.open(os.path.join(folder, name)))) for name in legacy_images("float64")}


class WatchedRun(runs.Run):
    """A run that keeps what each compiled function returns and which shared variables it updates."""

    def __init__(self):
        self.updated, self.outputs = [], []

    def function(self, *args, **kwargs):
        fn = super().function(*args, **kwargs)
        outputs = []
        self.updated.append(list(kwargs["updates"]))
        self.outputs.append(outputs)

        def call(*inputs):
            outputs.append(fn(*inputs))
            return outputs[-1]

        return call


@pytest.mark.parametrize("floatX", ["float64", pytest.param("float32", marks=pytest.mark.slow)])
def test_test_py_run_matches_legacy(mnist_path, floatX, capsys, tmp_path):
    """test.py's run (40-60 s a float type): log, costs, chains, streams, samples and pictures.

    float32 is behind the ``slow`` marker, for the time of the default test run.
    """
    with pytensor.config.change_flags(floatX=floatX):
        watched = WatchedRun()
        with runs.active(watched):
            chapter.test_rbm(output_folder=str(tmp_path), **TEST_PY)
    lines = result_lines(capsys.readouterr().out)
    golden = golden_log(f"{RUN}.{floatX}.log")
    record = legacy_record(floatX)
    assert [line.split(" is ")[0] for line in lines] == [line.split(" is ")[0] for line in golden]
    cost, expected_cost = (float(line.split()[-1]) for line in (lines[1], golden[1]))
    # the historical code printed a float64 mean at full precision and a float32 one as float32
    costs = [float(c) for c in watched.outputs[0]]
    expected_costs = [float(c) for c in record["functions"][0]["outputs"]]
    assert len(costs) == record["functions"][0]["calls"] == 166
    recorded = {}
    for number, variables in enumerate(watched.updated):
        for var in variables:
            recorded.setdefault(number, set()).add(sha256(var.get_value()))
    legacy_states = [(s["function"], s["shape"], s["sha256"]) for s in record["shared"]]
    streams = [(f, digest) for f, shape, digest in legacy_states if shape == [rng_mrg.MAX_STREAMS, 6]]
    assert len(streams) == 4 and all(digest in recorded[f] for f, digest in streams)
    vis_mf, vis_sample = watched.outputs[1][0]
    expected_mf, expected_sample = record["functions"][1]["outputs"][0]
    if floatX == "float64":
        assert cost == pytest.approx(expected_cost, rel=RTOL[floatX])
        numpy.testing.assert_allclose(costs[:100], expected_costs, rtol=RTOL[floatX])
        # the Gibbs chains, bit for bit: the persistent chain after 166 PCD-15 steps, and the sampling chain
        chains = [digest for f, shape, digest in legacy_states if shape in ([300, 20], [1, 784])]
        assert chains[0] in recorded[0] and chains[1] in recorded[1]
        assert numpy.sum(vis_sample, dtype="float64") == float(expected_sample["fsum"])
        assert numpy.sum(vis_mf, dtype="float64") == pytest.approx(float(expected_mf["fsum"]), rel=RTOL[floatX])
        assert images_digests(tmp_path) == {name: e["sha256"] for name, e in legacy_images(floatX).items()}
    else:
        numpy.testing.assert_allclose(costs[:3], expected_costs[:3], rtol=RTOL[floatX])
        assert cost == pytest.approx(expected_cost, rel=EPOCH_COST_RTOL32)
        assert vis_mf.shape == vis_sample.shape == (1, 784) and set(numpy.unique(vis_sample)) <= {0.0, 1.0}


LONGER = "rbm.training_epochs3.batch_size100.n_chains5.n_samples3.n_hidden100"


@pytest.mark.slow
def test_a_longer_run_matches_legacy(mnist_path, capsys, tmp_path):
    """Three PCD-15 epochs at batch 100 with 100 hidden units, then 5 chains x 3 samples (float64).

    Every printed cost to 12 digits; the final persistent chain, the final
    sampling chain and the four streams' states byte for byte; all four
    pictures pixel for pixel.  About 3 000 Gibbs steps of 100 x 100 hidden
    and 100 x 784 visible units, then 3 000 steps of 5 chains: a single
    flipped binary sample anywhere would part the chains.
    """
    kwargs = {"training_epochs": 3, "batch_size": 100, "n_chains": 5, "n_samples": 3, "n_hidden": 100}
    with pytensor.config.change_flags(floatX="float64"):
        watched = WatchedRun()
        with runs.active(watched):
            chapter.test_rbm(output_folder=str(tmp_path), **kwargs)
    lines = result_lines(capsys.readouterr().out)
    golden = golden_log(f"{LONGER}.float64.log")
    assert len(lines) == len(golden)
    for line, expected in zip(lines, golden):
        head, _, value = line.rpartition(" ")
        ehead, _, evalue = expected.rpartition(" ")
        assert head == ehead
        if head.startswith("Training epoch"):
            assert float(value) == pytest.approx(float(evalue), rel=RTOL["float64"])
        else:
            assert value == evalue
    with open(os.path.join(LEGACY_DIR, f"{LONGER}.float64.json")) as f:
        record = json.load(f)
    ours = {}
    for number, variables in enumerate(watched.updated):
        for var in variables:
            ours.setdefault(number, set()).add(sha256(var.get_value()))
    kept = [
        (s["function"], s["sha256"])
        for s in record["shared"]
        if s["shape"] in ([rng_mrg.MAX_STREAMS, 6], [100, 100], [5, 784])
    ]
    assert len(kept) == 4 + 2
    assert all(digest in ours[number] for number, digest in kept)
    with open(os.path.join(LEGACY_DIR, f"{LONGER}.float64.images.json")) as f:
        images = json.load(f)
    from PIL import Image

    assert len(images) == 4
    for name, expected in images.items():
        assert sha256(numpy.asarray(Image.open(os.path.join(tmp_path, name)))) == expected["sha256"], name


# -- under NUMBA_BLAS ---------------------------------------------------------------
# The mode compiles the Gibbs loop, Theano's sigmoid and softplus and the MRG
# draws with Numba, keeping the NUMPY mode's BLAS products inside the loop, so
# it computes what NUMPY computes.  Compiling these graphs on an empty cache
# takes minutes, hence the slow marker.


@pytest.fixture
def numba_blas():
    with pytensor.config.change_flags(mode=NUMBA_BLAS):
        yield


@pytest.mark.slow
def test_first_steps_under_numba_blas_match_legacy(mnist_path, numba_blas, floatX):
    test_first_steps_match_legacy(mnist_path, floatX)


@pytest.mark.slow
@pytest.mark.parametrize("floatX", ["float64", "float32"])
def test_test_py_run_under_numba_blas_matches_legacy(mnist_path, numba_blas, floatX, capsys, tmp_path):
    test_test_py_run_matches_legacy(mnist_path, floatX, capsys, tmp_path)


# -- stop and resume ------------------------------------------------------------------


def small_mnist(path, mnist_path, n=(1500, 300, 300)):
    """The first images of each MNIST split, as a dataset file of the same format."""
    splits = tuple((x[:k], y[:k]) for (x, y), k in zip(read_dataset(mnist_path), n))
    with gzip.open(path, "wb") as f:
        pickle.dump(splits, f, protocol=2)
    return str(path)


# This checkout's package, whichever is installed; lines as they are printed.
ENV = dict(os.environ, PYTHONPATH=REPO, PYTHONUNBUFFERED="1")


def script(*args):
    return [sys.executable, "-m", "deeplearning_tutorial.rbm", *args]


def run_until(cwd, command, when):
    """Run ``command``; send SIGINT when ``when(line)`` is true of an output line; return stdout, stderr."""
    proc = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if when(line):
            proc.send_signal(signal.SIGINT)
            break
    lines.extend(proc.stdout)
    err = proc.stderr.read()
    assert proc.wait() == checkpoints.EXIT_STATUS[signal.SIGINT], err
    assert "checkpoint written to rbm.checkpoint.npz" in err
    return "".join(lines), err


def test_stopped_in_training_and_in_sampling_resumes_exactly(mnist_path, tmp_path):
    """Ctrl-C early in the second epoch, then again between two samples: the same lines, states and pictures."""
    dataset = small_mnist(tmp_path / "small.pkl.gz", mnist_path)
    args = ["--dataset", dataset, "--training-epochs", "3", "--batch-size", "100", "--n-hidden", "20"]
    args += ["--n-chains", "2", "--n-samples", "3", "--floatX", "float64", "--checkpoint-every", "1000", "--quiet"]

    def in_second_epoch(line):
        if line.startswith("Training epoch 0,"):
            time.sleep(0.1)  # a few minibatches into the next epoch, if the machine is not too slow to take any
            return True
        return False

    stopped = tmp_path / "stopped"
    stopped.mkdir()
    first, _ = run_until(stopped, script(*args), in_second_epoch)
    second, err = run_until(stopped, script(*args, "--resume"), lambda line: line.startswith(" ... plotting sample 0"))
    # The second epoch has 15 minibatches: the stop lands before its first (a loaded machine) or within it.
    where = r"after epoch (1, minibatch 15|2, minibatch ([1-9]|1[0-4]))\n"
    assert re.match(r"resuming rbm\.checkpoint\.npz " + where, err), err
    third = subprocess.run(script(*args, "--resume"), cwd=stopped, capture_output=True, text=True, env=ENV, check=True)
    whole = tmp_path / "whole"
    whole.mkdir()
    expected = subprocess.run(script(*args), cwd=whole, capture_output=True, text=True, env=ENV, check=True)

    assert result_lines(first + second + third.stdout) == result_lines(expected.stdout)
    assert [line.split(" is ")[0] for line in result_lines(expected.stdout)] == (
        ["... loading data"] + ["Training epoch %d, cost" % e for e in range(3)]
    ) + [" ... plotting sample %d" % i for i in range(3)]
    for name in ["filters_at_epoch_%d.png" % e for e in range(3)] + ["samples.png"]:
        assert (stopped / "rbm_plots" / name).read_bytes() == (whole / "rbm_plots" / name).read_bytes(), name
    finals = [checkpoints.load(str(folder / "rbm.checkpoint.npz")) for folder in (stopped, whole)]
    assert all(header["complete"] for header, _, _, _ in finals)
    assert len(finals[0][1]) == len(finals[1][1]) == 7 + 3  # training: 7 shared variables; sampling: 3
    for value, want in zip(finals[0][1], finals[1][1]):
        assert value.dtype == want.dtype
        numpy.testing.assert_array_equal(value, want)
