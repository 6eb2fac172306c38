"""Tests of SdA: pretraining and fine-tuning against the historical code, its streams, its command line and resume.

The historical record (``tests/legacy/SdA.pretraining_epochs1.training_epochs1.batch_size300.<floatX>.json``)
holds the first 100 outputs of each compiled function, in compile order
(the three layers' pretraining steps, then fine-tuning ``train``, ``test``,
``valid``), and digests of every updated shared variable at the end of the
run, the three corruption streams' states included.

Tolerances, stated before any comparison:

- float64: a pretraining step's cost (the mean over 300 examples of a sum
  over 784 or 1 000 cross-entropies) agrees with Theano's to 1e-13 relative,
  the bound dA's tests use: only the order of the sums and the last bit of
  the element-wise functions differ.  Those last bits are carried from step
  to step, so the first 100 steps of each phase get `RTOL_DRIFT`, 1e-12,
  the issue's 12 significant digits (measured: 1.1e-15).  Lines printed
  with ``%f`` and the error rates are identical.
- float32: float32 sums of 235 200 or 300 000 terms, added in another
  order: 1e-6 relative for the first steps (about 16 units of 2**-24).
  Over 100 steps the rounding carried from step to step grows: 1e-5, about
  how far Theano's own float32 costs are from its float64 ones over these
  steps (5.2e-6; measured here against Theano's float32: 1.3e-7).  The
  pretraining lines, means of 166 such costs printed with ``%f``, to the
  same 1e-5 and the printed digits; every other line is identical.
- The streams' states are compared byte for byte: they are integers.
- Parameters after the run (fine-tuning included): the exact sum of each,
  against the recorded exact sum, to `RTOL_DRIFT` of the sum of magnitudes.
"""

import gzip
import hashlib
import json
import math
import os
import pickle
import signal
import subprocess
import sys

import numpy
import pytensor
import pytest

from deeplearning_tutorial import SdA as chapter
from deeplearning_tutorial import checkpoints, data, history, logs, predict, runs
from deeplearning_tutorial.data import load_data
from deeplearning_tutorial.ops import rng_mrg
from tests.helpers import LEGACY_DIR, REPO, OutputsRun, golden_log

RECORD = "SdA.pretraining_epochs1.training_epochs1.batch_size300"
RTOL = {"float64": 1e-13, "float32": 1e-6}
RTOL_DRIFT = {"float64": 1e-12, "float32": 1e-5}
N_TRAIN_BATCHES = 50000 // 300
CORRUPTION_LEVELS = [0.1, 0.2, 0.3]
STREAM_SHAPE = [60 * 256, 6]


def legacy_record(floatX, name=RECORD):
    with open(os.path.join(LEGACY_DIR, f"{name}.{floatX}.json")) as f:
        return json.load(f)


def sha256(array):
    return hashlib.sha256(numpy.ascontiguousarray(array).tobytes()).hexdigest()


def build_like_test_SdA(train_set_x, batch_size=300):
    """The model and its pretraining steps as test_SdA builds them: same seed, same order."""
    sda = chapter.SdA(
        numpy_rng=numpy.random.RandomState(89677), n_ins=28 * 28, hidden_layers_sizes=[1000, 1000, 1000], n_outs=10
    )
    return sda, sda.pretraining_functions(train_set_x=train_set_x, batch_size=batch_size)


def stream_states(sda):
    """The state variables of the corruption streams, one per layer, in build order."""
    streams = sda.dA_layers[0].theano_rng
    assert all(layer.theano_rng is streams for layer in sda.dA_layers)
    return [state for state, _ in streams.updates()]


def test_first_pretraining_steps_match_legacy(mnist_path, floatX):
    """The bottom layer's first two steps: the costs, and the stream advanced by exactly two draws."""
    train_set_x = load_data(mnist_path)[0][0]
    sda, pretraining_fns = build_like_test_SdA(train_set_x)
    state = stream_states(sda)[0]
    before = state.get_value()
    got = [float(pretraining_fns[0](index=i, corruption=0.1, lr=0.001)) for i in range(2)]
    expected = [float(v) for v in legacy_record(floatX)["functions"][0]["outputs"][:2]]
    numpy.testing.assert_allclose(got, expected, rtol=RTOL[floatX], atol=0)
    for _ in range(2):
        before, _ = rng_mrg.mrg_draw(before, 300 * 784, floatX)
    assert sha256(state.get_value()) == sha256(before)


def test_streams_after_pretraining_are_the_historical_ones(mnist_path):
    """Each layer's stream, advanced by its epoch of draws (166 of 300 x its inputs), is Theano's, byte for byte.

    The substreams a layer gets depend on the order in which the layers'
    corruption draws are built, so this checks the construction order.
    """
    train_set_x = load_data(mnist_path)[0][0]
    sda, _ = build_like_test_SdA(train_set_x)
    states = stream_states(sda)
    assert len(states) == 3
    digests = []
    for state, layer in zip(states, sda.dA_layers):
        value = state.get_value()
        assert list(value.shape) == STREAM_SHAPE and value.dtype == numpy.int32
        for _ in range(N_TRAIN_BATCHES):
            value, _ = rng_mrg.mrg_draw(value, 300 * layer.n_visible, "float64")
        digests.append(sha256(value))
    for floatX in ("float64", "float32"):
        recorded = [s["sha256"] for s in legacy_record(floatX)["shared"] if s["shape"] == STREAM_SHAPE]
        assert recorded == digests


def test_the_layers_share_their_weights_with_their_autoencoders():
    sda = chapter.SdA(numpy_rng=numpy.random.RandomState(1), n_ins=6, hidden_layers_sizes=[5, 4], n_outs=3)
    assert sda.n_layers == 2 and len(sda.dA_layers) == 2
    for layer, da in zip(sda.sigmoid_layers, sda.dA_layers):
        assert da.W is layer.W and da.b is layer.b and da.b_prime not in sda.params
    assert sda.params == [p for layer in sda.sigmoid_layers for p in layer.params] + sda.logLayer.params
    # sigmoid layers: weights uniform in 4 sqrt(6 / (fan_in + fan_out))
    assert numpy.abs(sda.sigmoid_layers[0].W.get_value()).max() <= 4 * math.sqrt(6 / 11)
    assert numpy.abs(sda.sigmoid_layers[0].W.get_value()).max() > math.sqrt(6 / 11)


def test_the_pretraining_functions_have_the_historical_defaults():
    """Called without corruption and learning rate, a step uses 0.2 and 0.1, as Theano's In(value=...) did."""
    x = pytensor.shared(numpy.random.RandomState(0).uniform(size=(8, 6)).astype(pytensor.config.floatX))

    def step_with(**kwargs):
        sda = chapter.SdA(numpy_rng=numpy.random.RandomState(2), n_ins=6, hidden_layers_sizes=[5], n_outs=3)
        cost = sda.pretraining_functions(train_set_x=x, batch_size=4)[0](1, **kwargs)
        return float(cost), sda.sigmoid_layers[0].W.get_value()

    default, explicit, other = step_with(), step_with(corruption=0.2, lr=0.1), step_with(corruption=0.0, lr=0.1)
    assert default[0] == explicit[0] and numpy.array_equal(default[1], explicit[1])
    assert default[0] != other[0]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"training_epochs": 0},
        {"pretraining_epochs": 0},
        {"batch_size": 0},
        {"finetune_lr": -0.1},
        {"pretrain_lr": 0.0},
        {"pretraining_epochs": 1.5},
    ],
)
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        chapter.test_SdA(**kwargs)


@pytest.mark.parametrize("sizes", [[], [500, 0], [500, 2.5]])
def test_bad_layer_sizes(sizes):
    with pytest.raises(ValueError, match="hidden_layers_sizes"):
        chapter.SdA(numpy_rng=numpy.random.RandomState(0), hidden_layers_sizes=sizes)


def test_the_log_grammar_reads_the_pretraining_lines():
    line = logs.parse("Pre-training layer 2, epoch 14, cost 529.058438")
    assert (line.kind, line.values) == ("pretraining_cost", {"layer": 2, "epoch": 14, "cost": 529.058438})
    line = logs.parse(golden_log(f"{RECORD}.float64.log")[-1])
    assert (line.kind, line.values) == (
        "summary_finetune",
        {"validation_error": 14.848485, "iteration": 166, "test_error": 15.727273},
    )
    assert logs.is_timing("The pretraining code for file SdA.py ran for 0.41m")


def test_history_rows_of_the_pretraining_and_the_fine_tuning():
    """A row per layer's pretraining epoch, then a row per validation, whose mean cost is fine-tuning's alone."""
    record = history.RunRecord()
    for text in logs.golden_text(f"{RECORD}.float64.log").splitlines():
        if logs.parse(text).kind == "pretraining_cost":
            record.step(1000.0)
        elif text.startswith("epoch 1,"):
            record.step(2.0)
        record.line(text)
    costs = [194.516149, 695.487634, 529.058440]
    assert [{k: r[k] for k in ("phase", "layer", "epoch", "cost")} for r in record.rows[:3]] == [
        {"phase": "pretraining", "layer": layer, "epoch": 0, "cost": cost} for layer, cost in enumerate(costs)
    ]
    assert len(record.rows) == 4
    assert {k: record.rows[3][k] for k in ("epoch", "minibatch", "validation_error", "test_error", "train_cost")} == {
        "epoch": 1,
        "minibatch": 166,
        "validation_error": 14.848485,
        "test_error": 15.727273,
        "train_cost": 2.0,
    }


# -- stop and resume --------------------------------------------------------------

# A small dataset in the tutorial's format (the first 600 / 20 / 20 images of
# MNIST), so that three runs take seconds: pretraining and fine-tuning have
# 30 minibatches of 20 an epoch, enough that a stop sent as the second layer's
# line is read lands before the top layer's epoch is over, however loaded the
# machine (the stopped process's steps slow down with it).
SMALL = (600, 20, 20)
ARGS = ["--dataset", "small.pkl.gz", "--batch-size", "20", "--pretraining-epochs", "1", "--training-epochs", "2"]
ARGS += ["--floatX", "float64", "--quiet", "--checkpoint-every", "1000"]


def write_small_dataset(folder, mnist_path):
    splits = data.read_dataset(mnist_path)
    small = tuple((x[:n], y[:n]) for (x, y), n in zip(splits, SMALL))
    with gzip.open(os.path.join(folder, "small.pkl.gz"), "wb") as f:
        pickle.dump(small, f)


def command(*args):
    return [sys.executable, "-m", "deeplearning_tutorial.SdA", *args]


def final_checkpoint(path):
    header, state, calls, _ = checkpoints.load(path)
    assert header["complete"]
    return header, state, calls


def test_a_run_stopped_during_pretraining_resumes_exactly(mnist_path, tmp_path):
    """SIGINT while the top layer pretrains; the resumed run prints the same lines and ends with the same bits.

    The stop is sent when the second layer's line is read, so it is taken
    before the top layer's epoch is over: the resumed run must put back the
    two lower layers' weights and the top layer's stream where the stopped
    run left it (after however many of its steps had run).
    """
    write_small_dataset(tmp_path, mnist_path)
    folder = tmp_path / "uninterrupted"
    folder.mkdir()
    write_small_dataset(folder, mnist_path)
    env = dict(os.environ, PYTHONPATH=REPO, PYTHONUNBUFFERED="1")

    proc = subprocess.Popen(
        command(*ARGS), cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    first = []
    for line in proc.stdout:
        first.append(line)
        if line.startswith("Pre-training layer 1,"):
            proc.send_signal(signal.SIGINT)
            break
    first.extend(proc.stdout)
    err = proc.stderr.read()
    assert proc.wait() == checkpoints.EXIT_STATUS[signal.SIGINT], err
    assert "checkpoint written to SdA.checkpoint.npz" in err
    header, _, _, _ = checkpoints.load(tmp_path / "SdA.checkpoint.npz")
    n = SMALL[0] // 20
    assert not header["complete"] and 2 * n <= header["steps"] < 3 * n, header["steps"]

    resumed = subprocess.run(command(*ARGS, "--resume"), cwd=tmp_path, env=env, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stderr.startswith("resuming SdA.checkpoint.npz after epoch 1, minibatch "), resumed.stderr
    whole = subprocess.run(command(*ARGS), cwd=folder, env=env, capture_output=True, text=True)
    assert whole.returncode == 0, whole.stderr

    lines = logs.result_lines("".join(first) + resumed.stdout)
    assert lines == logs.result_lines(whole.stdout)
    assert [logs.parse(line).kind for line in lines].count("pretraining_cost") == 3
    assert lines[-1].startswith("Optimization complete with best validation score of ")

    (_, state, calls), (_, expected_state, expected_calls) = (
        final_checkpoint(f / "SdA.checkpoint.npz") for f in (tmp_path, folder)
    )
    # Every updated shared variable (weights, biases, the three streams' states), the same bits.
    assert [s.shape for s in state].count(tuple(STREAM_SHAPE)) == 3
    assert len(state) == len(expected_state)
    for value, want in zip(state, expected_state):
        assert value.dtype == want.dtype
        numpy.testing.assert_array_equal(value, want)
    # Every output of every compiled call, in the same order.
    assert [number for number, _ in calls] == [number for number, _ in expected_calls]
    for (_, value), (_, want) in zip(calls, expected_calls):
        numpy.testing.assert_array_equal(value, want)


def test_predict_rebuilds_the_fine_tuned_network(mnist_path, tmp_path, capsys):
    """A saved SdA (its fine-tuning parameters, in the order of its updates) labels images as its layers compute."""
    write_small_dataset(tmp_path, mnist_path)
    rng = numpy.random.RandomState(5)
    sizes = [28 * 28] + chapter.HIDDEN_LAYERS_SIZES + [10]
    values = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        values += [rng.uniform(-1, 1, size=(n_in, n_out)), rng.uniform(-0.5, 0.5, size=n_out)]
    arguments = {"dataset": str(tmp_path / "small.pkl.gz"), "batch_size": 10}
    with pytensor.config.change_flags(floatX="float64"):
        labels, score = predict.predict("SdA", arguments, values, arguments["dataset"], 20)
    x, y = data.read_dataset(arguments["dataset"])[2]
    h = x.astype("float64")
    for W, b in zip(values[:-2:2], values[1:-2:2]):
        h = 1 / (1 + numpy.exp(-(h @ W + b)))
    expected = numpy.argmax(h @ values[-2] + values[-1], axis=1)
    assert len(set(expected)) > 1
    numpy.testing.assert_array_equal(labels, expected)
    assert score == pytest.approx(numpy.mean(expected != y), abs=1e-12)
    assert "test error of saved model" in capsys.readouterr().out


# -- the run of the historical test.py ------------------------------------------------


@pytest.mark.slow
def test_one_pretraining_and_fine_tuning_epoch_match_legacy(mnist_path, floatX, capsys):
    """test.py's run, ``test_SdA(pretraining_epochs=1, training_epochs=1, batch_size=300)``."""
    run = OutputsRun()
    with runs.active(run):
        chapter.test_SdA(pretraining_epochs=1, training_epochs=1, batch_size=300)
    assert_run_matches_legacy(run, capsys, RECORD, floatX)


LONGER = "SdA.pretraining_epochs2.training_epochs4.batch_size100"


@pytest.mark.slow
def test_a_longer_run_matches_legacy(mnist_path, capsys):
    """Two pretraining epochs a layer and four fine-tuning epochs at batch 100, float64: 5 000 steps."""
    run = OutputsRun()
    with pytensor.config.change_flags(floatX="float64"), runs.active(run):
        chapter.test_SdA(pretraining_epochs=2, training_epochs=4, batch_size=100)
    assert_run_matches_legacy(run, capsys, LONGER, "float64")


def assert_run_matches_legacy(run, capsys, name, floatX):
    """The printed lines, the recorded outputs, the streams and the parameters against the historical run ``name``."""
    out, err = capsys.readouterr()
    lines = logs.result_lines(out + err)
    golden = golden_log(f"{name}.{floatX}.log")
    record = legacy_record(floatX, name)

    # The printed lines: identical, but for float32 pretraining costs (to the printed digits and RTOL_DRIFT).
    assert len(lines) == len(golden)
    for line, expected in zip(lines, golden):
        if floatX == "float32" and logs.parse(line).kind == "pretraining_cost":
            head, _, value = line.rpartition(" ")
            ehead, _, evalue = expected.rpartition(" ")
            assert head == ehead
            assert float(value) == pytest.approx(float(evalue), rel=RTOL_DRIFT[floatX], abs=1e-6)
        else:
            assert line == expected

    # Every output the record keeps: the first 100 steps of each phase and all error rates.
    assert [len(outputs) for _, outputs in run.functions] == [f["calls"] for f in record["functions"]]
    for (_, outputs), expected in zip(run.functions, record["functions"]):
        want = [float(v) for v in expected["outputs"]]
        got = outputs[: len(want)]
        if expected["has_updates"]:
            numpy.testing.assert_allclose(got[:3], want[:3], rtol=RTOL[floatX], atol=0)
            numpy.testing.assert_allclose(got, want, rtol=RTOL_DRIFT[floatX], atol=0)
        else:
            assert got == want  # error rates: counts of misclassified images over 300

    # The streams, byte for byte; the parameters to the drift tolerance, through their exact sums.
    # (The record also keeps the small shared variables the functions only read: the labels.)
    recorded = {(s["function"], s["name"], tuple(s["shape"])): s for s in record["shared"] if s["shape"] != [50000]}
    recorded = {key: s for key, s in recorded.items() if key[0] < 4}
    updated = {(n, var.name, var.get_value().shape): var for n, var in run.updated()}
    assert set(updated) == set(recorded)
    for key, var in updated.items():
        value, expected = var.get_value(), recorded[key]
        if value.dtype == numpy.int32:
            assert sha256(value) == expected["sha256"], key
        else:
            scale = math.fsum(numpy.abs(value).ravel().tolist())
            error = abs(math.fsum(value.ravel().tolist()) - float(expected["sum"]))
            assert error <= RTOL_DRIFT[floatX] * scale, (key, error, scale)
