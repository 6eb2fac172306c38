"""Tests of DBN: pretraining and fine-tuning against the historical code, its streams, its command line and resume.

The historical records (``tests/legacy/DBN.<config>.<floatX>.json``, see
the README there) hold the first 100 outputs of each compiled function, in
compile order (the three RBMs' CD-1 steps, then fine-tuning ``train``,
``test``, ``valid``), and digests of every updated shared variable at the
end of the run, the random streams' states included.

Tolerances, stated before any comparison:

- float64: the Gibbs samples are Theano's bit for bit (the uniforms are
  the same integers, the probabilities round as Theano's did), so the runs
  differ only in rounding.  A CD step's cost (the mean over 300 examples
  of a sum of 784 or 1 000 cross-entropies) agrees to 1e-13 relative for
  the first steps (`RTOL`; measured 4e-14), and over every layer's 166
  steps, fine-tuning's and the printed full-precision epoch costs to
  `RTOL_DRIFT`, 1e-12, the issue's 12 significant digits (measured
  3.3e-16 on test.py's run, 6.7e-16 on the longer one), as do the exact
  sums of the parameters after the run, against the sum of their
  magnitudes.  (`RTOL_TOP` names the same bound for the top layer and
  fine-tuning, whose costs amplify the lower layers' last bits: before the
  ``NUMPY`` mode computed the RBM update as Theano did, docs/parity.md,
  they drifted to 3.2e-11.)  Lines printed with ``%f`` and the error rates
  are identical; the streams' states are compared byte for byte.
- float32: the first steps agree to float32 rounding of sums of some
  300 000 terms in another order: 1e-6 relative (about 16 units of
  2**-24).  After that a probability one float32 unit away from Theano's
  turns a binary sample the other way now and then (one draw in about
  2**24, and a CD-1 step of the upper layers makes 900 000 of them), and
  from there the chain is another sample path, and so is the trained
  network.  Three such paths are known: Theano's float64 and float32 runs
  and this package's float32 run (its float64 run is Theano's).  Their
  epoch costs spread by up to 6.9e-4 relative (the top layer: -134.3892,
  -134.4098, -134.3166), their validation errors by up to 7 of the 9 900
  images and their test errors by up to 12 (28.181818, 28.151515 and
  28.222222 %; 30.090909, 30.090909 and 30.212121 %).  So a float32 epoch
  cost is compared with Theano's float32 one to `EPOCH_RTOL32`, 5e-3
  (seven times that spread), and each error rate to `IMAGES32`, 40 images
  (about three times the spread: two networks that disagree on a few
  hundred images differ in their error count by the square root of that).
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
import time

import numpy
import pytensor
import pytensor.tensor as T
import pytest

from deeplearning_tutorial import DBN as chapter
from deeplearning_tutorial import checkpoints, cli, data, history, logs, predict, runs, saved_models
from deeplearning_tutorial.data import load_data
from deeplearning_tutorial.ops import rng_mrg
from tests.helpers import LEGACY_DIR, PERCENT, REPO, OutputsRun, golden_log

RECORD = "DBN.pretraining_epochs1.training_epochs1.batch_size300"
LONGER = "DBN.pretraining_epochs2.training_epochs6.batch_size300"
RTOL = {"float64": 1e-13, "float32": 1e-6}
RTOL_DRIFT = 1e-12
RTOL_TOP = RTOL_DRIFT
BOTTOM = 2  # functions 0 and 1: the two lower RBMs' steps
EPOCH_RTOL32 = 5e-3
IMAGES32 = 40
N_CHECKED = 9900  # images validated or tested at batch size 300: 33 minibatches
N_TRAIN_BATCHES = 50000 // 300
STREAM_SHAPE = [rng_mrg.MAX_STREAMS, 6]


def legacy_record(name, floatX):
    with open(os.path.join(LEGACY_DIR, f"{name}.{floatX}.json")) as f:
        return json.load(f)


def sha256(array):
    return hashlib.sha256(numpy.ascontiguousarray(array).tobytes()).hexdigest()


def build_like_test_DBN(train_set_x, batch_size=300, hidden_layers_sizes=(1000, 1000, 1000)):
    """The model and its pretraining steps as test_DBN builds them: same seed, same order.

    The bottom layer's weights and draws come first, so a network of its
    layer alone (``hidden_layers_sizes=[1000]``) trains it the same way.
    """
    dbn = chapter.DBN(
        numpy_rng=numpy.random.RandomState(123),
        n_ins=28 * 28,
        hidden_layers_sizes=list(hidden_layers_sizes),
        n_outs=10,
    )
    return dbn, dbn.pretraining_functions(train_set_x=train_set_x, batch_size=batch_size, k=1)


def layer_streams(dbn):
    """Each RBM's three draws' states in build order: the positive phase's, the Gibbs loop's visible and hidden."""
    streams = dbn.rbm_layers[0].theano_rng
    assert all(rbm.theano_rng is streams for rbm in dbn.rbm_layers)
    states = [state for state, _, _, _ in streams.state_updates]
    assert len(states) == 3 * dbn.n_layers
    return [states[3 * i : 3 * i + 3] for i in range(dbn.n_layers)]


# -- the model ----------------------------------------------------------------------


def test_first_pretraining_steps_match_legacy(mnist_path, floatX):
    """The bottom RBM's first three CD-1 steps: the costs, and the streams it reads advanced by three draws."""
    train_set_x = load_data(mnist_path)[0][0]
    dbn, pretraining_fns = build_like_test_DBN(train_set_x, hidden_layers_sizes=[1000])
    positive, visible, hidden = layer_streams(dbn)[0]
    before = [positive.get_value(), visible.get_value()]
    unread = hidden.get_value()
    got = [float(pretraining_fns[0](index=i, lr=0.01)) for i in range(3)]
    expected = [float(v) for v in legacy_record(RECORD, floatX)["functions"][0]["outputs"][:3]]
    numpy.testing.assert_allclose(got, expected, rtol=RTOL[floatX], atol=0)
    # a hidden sample of 300 x 1 000 units, then a visible one of 300 x 784, each step
    for state, var, n_values in zip(before, (positive, visible), (300 * 1000, 300 * 784)):
        for _ in range(3):
            state, _ = rng_mrg.mrg_draw(state, n_values, floatX)
        assert sha256(var.get_value()) == sha256(state)
    # CD-1 reads no hidden sample of the loop: the draw is pruned, its stream untouched, as in Theano
    numpy.testing.assert_array_equal(hidden.get_value(), unread)


@pytest.mark.slow
def test_streams_after_pretraining_are_the_historical_ones():
    """Each RBM's two streams that CD-1 reads, after 166 steps, are Theano's byte for byte (13 s of draws).

    They depend only on the seed, the order in which the draws are built
    and their sizes, so they are computed here without the model; the
    test.py run checks them again.  CD-1 never reads the hidden sample of
    the loop's last (only) step: Theano's scan dropped that draw, state
    and all, and PyTensor's does too (`test_first_pretraining_steps_match_legacy`).
    """
    rng = numpy.random.RandomState(123)
    theano_rng = chapter.MRG_RandomStreams(rng.randint(2**30))
    for _ in range(9):
        theano_rng.uniform(size=T.matrix().shape)
    states = [state.get_value() for state, _, _, _ in theano_rng.state_updates]
    digests = []
    for layer, (n_visible, n_hidden) in enumerate([(784, 1000), (1000, 1000), (1000, 1000)]):
        for state, n_values in zip(states[3 * layer : 3 * layer + 2], (300 * n_hidden, 300 * n_visible)):
            for _ in range(N_TRAIN_BATCHES):
                state, _ = rng_mrg.mrg_draw(state, n_values, "float64")
            digests.append((layer, sha256(state)))
    for floatX in ("float64", "float32"):
        recorded = [(s["function"], s["sha256"]) for s in legacy_record(RECORD, floatX)["shared"]]
        assert [r for r in recorded if r in digests] == digests
        assert len([s for s in legacy_record(RECORD, floatX)["shared"] if s["shape"] == STREAM_SHAPE]) == 6


def test_the_layers_share_their_weights_with_their_rbms():
    dbn = chapter.DBN(numpy_rng=numpy.random.RandomState(1), n_ins=6, hidden_layers_sizes=[5, 4], n_outs=3)
    assert dbn.n_layers == 2 and len(dbn.rbm_layers) == 2
    for layer, rbm in zip(dbn.sigmoid_layers, dbn.rbm_layers):
        assert rbm.W is layer.W and rbm.hbias is layer.b and rbm.vbias not in dbn.params
    assert dbn.rbm_layers[0].input is dbn.x and dbn.rbm_layers[1].input is dbn.sigmoid_layers[0].output
    assert (dbn.rbm_layers[1].n_visible, dbn.rbm_layers[1].n_hidden) == (5, 4)
    assert dbn.params == [p for layer in dbn.sigmoid_layers for p in layer.params] + dbn.logLayer.params
    # the sigmoid layers' weights: uniform in 4 sqrt(6 / (fan_in + fan_out)); the RBMs draw none of their own
    assert numpy.abs(dbn.sigmoid_layers[0].W.get_value()).max() <= 4 * math.sqrt(6 / 11)
    assert numpy.abs(dbn.sigmoid_layers[0].W.get_value()).max() > math.sqrt(6 / 11)
    # seed of the streams first, then the two layers' weights
    rng = numpy.random.RandomState(1)
    rng.randint(2**30)
    expected = rng.uniform(low=-4 * math.sqrt(6 / 11), high=4 * math.sqrt(6 / 11), size=(6, 5))
    numpy.testing.assert_array_equal(dbn.sigmoid_layers[0].W.get_value(), expected.astype(pytensor.config.floatX))


def test_the_pretraining_functions_default_to_a_learning_rate_of_0_1():
    """Called without a learning rate, a CD step uses 0.1, as Theano's In(value=0.1) did; k sets the Gibbs steps."""
    x = pytensor.shared((numpy.random.RandomState(0).uniform(size=(8, 6)) > 0.5).astype(pytensor.config.floatX))

    def step_with(k=1, **kwargs):
        dbn = chapter.DBN(numpy_rng=numpy.random.RandomState(2), n_ins=6, hidden_layers_sizes=[5], n_outs=3)
        cost = dbn.pretraining_functions(train_set_x=x, batch_size=4, k=k)[0](1, **kwargs)
        return float(cost), dbn.sigmoid_layers[0].W.get_value()

    default, explicit, other = step_with(), step_with(lr=0.1), step_with(lr=0.5)
    assert default[0] == explicit[0] and numpy.array_equal(default[1], explicit[1])
    assert not numpy.array_equal(default[1], other[1])
    assert not numpy.array_equal(default[1], step_with(k=3)[1])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"training_epochs": 0}, "training_epochs must be a positive integer"),
        ({"pretraining_epochs": 1.5}, "pretraining_epochs must be a positive integer"),
        ({"k": 0}, "k must be a positive integer"),
        ({"batch_size": 0}, "batch_size must be a positive integer"),
        ({"finetune_lr": -0.1}, "finetune_lr must be a finite number > 0"),
        ({"pretrain_lr": 0.0}, "pretrain_lr must be a finite number > 0"),
        ({"hidden_layers_sizes": []}, "must name at least one hidden layer"),
        ({"hidden_layers_sizes": [500, 0]}, "each of hidden_layers_sizes must be a positive integer"),
    ],
)
def test_bad_arguments(kwargs, message, monkeypatch):
    def no_data(*args):
        raise AssertionError("the data were loaded before the arguments were checked")

    monkeypatch.setattr(chapter, "load_data", no_data)
    with pytest.raises(ValueError, match=message):
        chapter.test_DBN(**kwargs)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--k", "0"], "--k: must be a positive integer, got '0'"),
        (["--hidden-layers-sizes", "500", "-3"], "--hidden-layers-sizes: must be a positive integer, got '-3'"),
        (["--hidden-layers-sizes"], "--hidden-layers-sizes: expected at least one argument"),
        (["--pretraining-epochs", "0"], "--pretraining-epochs: must be a positive integer, got '0'"),
        (["--pretrain-lr", "inf"], "--pretrain-lr: must be a finite number > 0, got 'inf'"),
    ],
)
def test_bad_flags_give_one_line_and_exit_2_before_the_data_load(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(chapter, "load_data", None)  # a call would fail with a traceback
    with pytensor.config.change_flags(floatX=pytensor.config.floatX, mode=pytensor.config.mode):
        with pytest.raises(SystemExit) as exit:
            cli.main("DBN", argv)
    assert exit.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("python -m deeplearning_tutorial.DBN: error:")
    assert os.listdir(tmp_path) == []


def test_the_log_grammar_reads_the_lines():
    kinds = [logs.parse(line).kind for line in logs.golden_text(f"{RECORD}.float64.log").splitlines()]
    assert kinds == ["stage"] * 4 + ["pretraining_cost"] * 3 + ["timing"] + ["stage"] * 2 + [
        "validation",
        "test",
        "summary_finetune",
        "timing",
    ]
    line = logs.parse("Pre-training layer 0, epoch 0, cost  -165.61303664406296")
    assert (line.kind, line.values) == ("pretraining_cost", {"layer": 0, "epoch": 0, "cost": -165.61303664406296})
    line = logs.parse(golden_log(f"{RECORD}.float64.log")[-1])
    assert (line.kind, line.values) == (
        "summary_finetune",
        {"validation_error": 28.181818, "iteration": 166, "test_error": 30.090909},
    )


def test_history_rows_of_the_pretraining_and_the_fine_tuning():
    """A row per layer's pretraining epoch, then a row per validation, whose mean cost is fine-tuning's alone."""
    record = history.RunRecord()
    for text in logs.golden_text(f"{RECORD}.float64.log").splitlines():
        if logs.parse(text).kind == "pretraining_cost":
            record.step(-100.0)
        elif text.startswith("epoch 1,"):
            record.step(2.0)
        record.line(text)
    costs = [-165.61303664406296, -620.4213006128427, -134.38918350137155]
    assert [{k: r[k] for k in ("phase", "layer", "epoch", "cost")} for r in record.rows[:3]] == [
        {"phase": "pretraining", "layer": layer, "epoch": 0, "cost": cost} for layer, cost in enumerate(costs)
    ]
    assert len(record.rows) == 4
    assert {k: record.rows[3][k] for k in ("epoch", "minibatch", "validation_error", "test_error", "train_cost")} == {
        "epoch": 1,
        "minibatch": 166,
        "validation_error": 28.181818,
        "test_error": 30.090909,
        "train_cost": 2.0,
    }


# -- save, predict, stop and resume --------------------------------------------------

# A small dataset in the tutorial's format (the first 1 000 / 100 / 100
# images of MNIST) and smaller layers, so that a run takes seconds: 100
# minibatches of 10 an epoch, each layer pretrained for one epoch, then
# four epochs of fine-tuning (the least the patience allows), each phase
# lasting seconds, far longer than a signal takes to arrive.
SMALL = (1000, 100, 100)
N_SMALL = SMALL[0] // 10
SIZES = [500, 400, 300]
PRETRAINING_STEPS = 3 * N_SMALL
FINE_TUNING_STEPS = 4 * N_SMALL
ARGS = ["--dataset", "small.pkl.gz", "--batch-size", "10", "--hidden-layers-sizes", *map(str, SIZES)]
ARGS += ["--pretraining-epochs", "1", "--training-epochs", "4"]
ARGS += ["--floatX", "float64", "--quiet", "--checkpoint-every", "1000"]
ENV = dict(os.environ, PYTHONPATH=REPO, PYTHONUNBUFFERED="1")


def write_small_dataset(folder, mnist_path):
    splits = data.read_dataset(mnist_path)
    small = tuple((x[:n], y[:n]) for (x, y), n in zip(splits, SMALL))
    with gzip.open(os.path.join(folder, "small.pkl.gz"), "wb") as f:
        pickle.dump(small, f, protocol=2)
    return os.path.join(folder, "small.pkl.gz")


def command(*args):
    return [sys.executable, "-m", "deeplearning_tutorial.DBN", *args]


@pytest.fixture(scope="module")
def whole_run(mnist_path, tmp_path_factory):
    """One uninterrupted small run that saves its best model: (folder, stdout)."""
    folder = tmp_path_factory.mktemp("whole")
    write_small_dataset(folder, mnist_path)
    done = subprocess.run(
        command(*ARGS, "--save-model", "model.npz"), cwd=folder, env=ENV, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return folder, done.stdout


def run_until(cwd, args, when):
    """Run the chapter; after the first output line for which ``when(line)`` holds, wait 0.2 s and send SIGINT.

    Returns the output, the stderr and the number of training steps the
    checkpoint says were taken.
    """
    proc = subprocess.Popen(command(*args), cwd=cwd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if when(line):
            time.sleep(0.2)  # some steps on; the stop is taken before the next step
            proc.send_signal(signal.SIGINT)
            break
    lines.extend(proc.stdout)
    err = proc.stderr.read()
    assert proc.wait() == checkpoints.EXIT_STATUS[signal.SIGINT], err
    assert "checkpoint written to DBN.checkpoint.npz" in err
    header, _, _, _ = checkpoints.load(os.path.join(cwd, "DBN.checkpoint.npz"))
    assert not header["complete"]
    return "".join(lines), err, header["steps"]


def test_stopped_in_pretraining_and_in_fine_tuning_resumes_exactly(mnist_path, tmp_path, whole_run):
    """Ctrl-C while the RBMs train, then again while fine-tuning: the same lines and the same bits as one run.

    The first stop is sent when pretraining begins, the second when
    fine-tuning begins (each phase's functions are compiled before its
    line is printed): each lands somewhere in the 300 (or 400) steps that
    follow, seconds of work, however late the signal arrives, which the
    checkpoints' step counts confirm.  The resumed runs must put back the
    streams, the weights and the loop's place part-way through a phase.
    """
    write_small_dataset(tmp_path, mnist_path)
    first, _, steps = run_until(tmp_path, ARGS, lambda line: line == "... pre-training the model\n")
    assert 0 < steps < PRETRAINING_STEPS, steps
    second, err, steps = run_until(tmp_path, ARGS + ["--resume"], lambda line: line == "... finetuning the model\n")
    assert err.startswith("resuming DBN.checkpoint.npz after epoch ")
    assert PRETRAINING_STEPS < steps < PRETRAINING_STEPS + FINE_TUNING_STEPS, steps
    third = subprocess.run(command(*ARGS, "--resume"), cwd=tmp_path, env=ENV, capture_output=True, text=True)
    assert third.returncode == 0, third.stderr
    assert third.stderr.startswith("resuming DBN.checkpoint.npz after epoch "), third.stderr
    folder, expected = whole_run

    lines = logs.result_lines(first + second + third.stdout)
    assert lines == logs.result_lines(expected)
    kinds = [logs.parse(line).kind for line in lines]
    assert kinds.count("pretraining_cost") == 3 and kinds.count("validation") == 4
    assert lines[-1].startswith("Optimization complete with best validation score of ")

    finals = [checkpoints.load(str(f / "DBN.checkpoint.npz")) for f in (tmp_path, folder)]
    assert all(header["complete"] for header, _, _, _ in finals)
    (_, state, calls, _), (_, expected_state, expected_calls, _) = finals
    # every updated shared variable: weights, biases, the six streams' states; the same bits
    assert [s.shape for s in state].count(tuple(STREAM_SHAPE)) == 6
    assert len(state) == len(expected_state)
    for value, want in zip(state, expected_state):
        assert value.dtype == want.dtype
        numpy.testing.assert_array_equal(value, want)
    # every output of every compiled call, in the same order
    assert [number for number, _ in calls] == [number for number, _ in expected_calls]
    for (_, value), (_, want) in zip(calls, expected_calls):
        numpy.testing.assert_array_equal(value, want)


def test_save_model_and_predict(whole_run):
    """The saved DBN (its fine-tuning parameters, in the order of its updates) labels images as its layers compute."""
    folder, out = whole_run
    best_test = [line for line in out.splitlines() if "test error of best model" in line][-1]
    header, values = saved_models.load(str(folder / "model.npz"))
    assert header["tutorial"] == "DBN" and header["arguments"]["hidden_layers_sizes"] == SIZES
    assert [v.shape for v in values] == [(784, 500), (500,), (500, 400), (400,), (400, 300), (300,), (300, 10), (10,)]
    dataset = str(folder / "small.pkl.gz")
    with pytensor.config.change_flags(floatX="float64"):
        labels, score = predict.predict("DBN", header["arguments"], values, dataset, 20)
    x, y = data.read_dataset(dataset)[2]
    h = x.astype("float64")
    for W, b in zip(values[:-2:2], values[1:-2:2]):
        h = 1 / (1 + numpy.exp(-(h @ W + b)))
    expected = numpy.argmax(h @ values[-2] + values[-1], axis=1)
    assert len(set(expected)) > 1
    numpy.testing.assert_array_equal(labels, expected[:20])
    assert score == pytest.approx(numpy.mean(expected != y), abs=1e-12)
    # the best model's test error, over the whole test split, as the run printed it
    assert best_test.endswith(" %f %%" % (100 * score))


# -- whole runs against the historical ones ----------------------------------------


def check_against_legacy(name, floatX, kwargs, capsys, rtol_bottom=RTOL_DRIFT):
    """Run test_DBN(**kwargs) and compare its lines, outputs, streams and parameters with the record ``name``.

    ``rtol_bottom``: the tolerance on the two lower layers' printed epoch
    costs (their first 100 outputs, all in their first epoch, keep `RTOL_DRIFT`).
    """
    run = OutputsRun()
    with pytensor.config.change_flags(floatX=floatX), runs.active(run):
        chapter.test_DBN(**kwargs)
    out, err = capsys.readouterr()
    lines = logs.result_lines(out + err)
    golden = golden_log(f"{name}.{floatX}.log")
    record = legacy_record(name, floatX)

    assert len(lines) == len(golden)
    for line, expected in zip(lines, golden):
        parsed, want = logs.parse(line), logs.parse(expected)
        assert parsed.kind == want.kind, (line, expected)
        if parsed.kind == "pretraining_cost":
            # printed at full precision: 12 significant digits in float64
            if floatX == "float32":
                rtol = EPOCH_RTOL32
            else:
                rtol = rtol_bottom if parsed.values["layer"] < BOTTOM else RTOL_TOP
            assert {k: v for k, v in parsed.values.items() if k != "cost"} == {
                k: v for k, v in want.values.items() if k != "cost"
            }
            assert parsed.values["cost"] == pytest.approx(want.values["cost"], rel=rtol), (line, expected)
        elif floatX == "float64":
            assert line == expected
        else:
            assert PERCENT.sub("%", line) == PERCENT.sub("%", expected)
            for key in set(parsed.values) & {"error", "validation_error", "test_error"}:
                images = abs(parsed.values[key] - want.values[key]) / 100 * N_CHECKED
                assert images <= IMAGES32 + 1e-6, (line, expected)

    assert [len(outputs) for _, outputs in run.functions] == [f["calls"] for f in record["functions"]]
    if floatX == "float32":
        # only the bottom RBM's first steps come before the first flipped sample
        want = [float(v) for v in record["functions"][0]["outputs"][:3]]
        numpy.testing.assert_allclose(run.functions[0][1][:3], want, rtol=RTOL[floatX], atol=0)
        return
    # float64: every output the record keeps, the first 100 steps of each phase and all error rates
    for number, ((_, outputs), expected) in enumerate(zip(run.functions, record["functions"])):
        want = [float(v) for v in expected["outputs"]]
        got = outputs[: len(want)]
        if expected["has_updates"] and number < BOTTOM:
            numpy.testing.assert_allclose(got[:3], want[:3], rtol=RTOL[floatX], atol=0)
            numpy.testing.assert_allclose(got, want, rtol=RTOL_DRIFT, atol=0)
        elif expected["has_updates"]:
            numpy.testing.assert_allclose(got, want, rtol=RTOL_TOP, atol=0)
        else:
            assert got == want  # error rates: counts of misclassified images over 300

    # The streams byte for byte (two a layer: the positive phase's and the loop's
    # visible draw), the parameters to the drift tolerance through their exact sums.
    recorded = {}
    for s in record["shared"]:
        if s["updated"]:
            recorded.setdefault((s["function"], s["name"], tuple(s["shape"])), []).append(s)
    got = {}
    for n, var in run.updated():
        shape = var.get_value().shape
        got.setdefault((n, None if list(shape) == STREAM_SHAPE else var.name, shape), []).append(var)
    assert set(got) == set(recorded)
    for key, variables in got.items():
        expected = recorded[key]
        if key[2] == tuple(STREAM_SHAPE):
            assert len(variables) == len(expected) == 2, key
            assert {s["sha256"] for s in expected} == {sha256(var.get_value()) for var in variables}, key
            continue
        (var,), (want,) = variables, expected
        value = var.get_value()
        scale = math.fsum(numpy.abs(value).ravel().tolist())
        error = abs(math.fsum(value.ravel().tolist()) - float(want["sum"]))
        assert error <= RTOL_TOP * scale, (key, error, scale)


@pytest.mark.slow
@pytest.mark.parametrize("floatX", ["float64", "float32"])
def test_test_py_run_matches_legacy(floatX, mnist_path, capsys):
    """test.py's run, ``test_DBN(pretraining_epochs=1, training_epochs=1, batch_size=300)`` (2-3 min a float type)."""
    check_against_legacy(RECORD, floatX, {"pretraining_epochs": 1, "training_epochs": 1, "batch_size": 300}, capsys)


@pytest.mark.slow
def test_longer_run_matches_legacy(mnist_path, capsys):
    """Two pretraining epochs a layer and six fine-tuning epochs, float64 (32 minutes on a busy 2-core machine)."""
    kwargs = {"pretraining_epochs": 2, "training_epochs": 6, "batch_size": 300}
    check_against_legacy(LONGER, "float64", kwargs, capsys)
