"""Tests of the command line: flags, bad input, history, plots, save/predict, and the output kept historical."""

import fcntl
import inspect
import json
import os
import pty
import struct
import subprocess
import sys
import termios

import matplotlib.image
import numpy
import pytensor
import pytest

from deeplearning_tutorial import cli, compare, predict, saved_models, tutorials
from deeplearning_tutorial.logs import golden_text, result_lines
from tests.helpers import golden_log


@pytest.fixture
def fake_tutorial(monkeypatch):
    """Replace each training function by one with the same signature that records its arguments."""
    calls = []
    real_function = tutorials.training_function

    def fake_for(name):
        real = real_function(name)

        def fake(**kwargs):
            calls.append(kwargs)

        fake.__signature__ = inspect.signature(real)
        fake.__module__, fake.__name__ = real.__module__, real.__name__
        return fake

    monkeypatch.setattr(tutorials, "training_function", fake_for)
    return calls


@pytest.fixture(autouse=True)
def restore_config():
    """The command line sets floatX and the mode for the process; put them back."""
    with pytensor.config.change_flags(floatX=pytensor.config.floatX, mode=pytensor.config.mode):
        yield


FLAGS = {
    "logistic_sgd": (
        ["--learning-rate", "0.5", "--n-epochs", "3", "--dataset", "mnist.pkl.gz", "--batch-size", "100"],
        {"learning_rate": 0.5, "n_epochs": 3, "dataset": "mnist.pkl.gz", "batch_size": 100},
    ),
    "mlp": (
        ["--learning-rate", "0.02", "--L1-reg", "0.001", "--L2-reg", "0", "--n-epochs", "2"]
        + ["--batch-size", "50", "--n-hidden", "30", "--seed", "7"],
        {"learning_rate": 0.02, "L1_reg": 0.001, "L2_reg": 0.0, "n_epochs": 2, "dataset": "mnist.pkl.gz"}
        | {"batch_size": 50, "n_hidden": 30, "seed": 7},
    ),
    "logistic_cg": (
        ["--n-epochs", "3", "--dataset", "mnist.pkl.gz"],
        {"n_epochs": 3, "mnist_pkl_gz": "mnist.pkl.gz"},
    ),
    "convolutional_mlp": (
        ["--learning-rate", "0.05", "--n-epochs", "4", "--nkerns", "6", "16", "--batch-size", "250", "--seed", "1"],
        {"learning_rate": 0.05, "n_epochs": 4, "dataset": "mnist.pkl.gz", "nkerns": [6, 16]}
        | {"batch_size": 250, "seed": 1},
    ),
    "lenet5": (
        ["--learning-rate", "0.001:2,0.0005", "--n-epochs", "3", "--batch-size", "10", "--optimizer", "sgd"]
        + ["--variant", "keras", "--train-on-all", "--mu", "0.05", "--hessian-examples", "100", "--j", "0.5"]
        + ["--max-minibatches", "7", "--seed", "2"],
        {"learning_rate": "0.001:2,0.0005", "n_epochs": 3, "dataset": "mnist.pkl.gz", "batch_size": 10}
        | {"seed": 2, "optimizer": "sgd", "variant": "keras", "train_on_all": True, "mu": 0.05}
        | {"hessian_examples": 100, "j": 0.5, "max_minibatches": 7},
    ),
    "dA": (
        ["--learning-rate", "0.2", "--training-epochs", "2", "--batch-size", "10", "--output-folder", "out"],
        {
            "learning_rate": 0.2,
            "training_epochs": 2,
            "dataset": "mnist.pkl.gz",
            "batch_size": 10,
            "output_folder": "out",
        },
    ),
    "cA": (
        ["--training-epochs", "3", "--batch-size", "5", "--contraction-level", "0.5", "--output-folder", "o"],
        {"learning_rate": 0.01, "training_epochs": 3, "dataset": "mnist.pkl.gz", "batch_size": 5}
        | {"output_folder": "o", "contraction_level": 0.5},
    ),
    "SdA": (
        ["--finetune-lr", "0.2", "--pretraining-epochs", "2", "--pretrain-lr", "0.01", "--training-epochs", "3"]
        + ["--dataset", "mnist.pkl.gz", "--batch-size", "300"],
        {"finetune_lr": 0.2, "pretraining_epochs": 2, "pretrain_lr": 0.01, "training_epochs": 3}
        | {"dataset": "mnist.pkl.gz", "batch_size": 300},
    ),
    "rbm": (
        ["--learning-rate", "0.05", "--training-epochs", "2", "--batch-size", "30", "--n-chains", "3"]
        + ["--n-samples", "4", "--output-folder", "r", "--n-hidden", "40"],
        {"learning_rate": 0.05, "training_epochs": 2, "dataset": "mnist.pkl.gz", "batch_size": 30}
        | {"n_chains": 3, "n_samples": 4, "output_folder": "r", "n_hidden": 40},
    ),
    "DBN": (
        ["--finetune-lr", "0.2", "--pretraining-epochs", "2", "--pretrain-lr", "0.05", "--k", "3"]
        + ["--training-epochs", "4", "--dataset", "mnist.pkl.gz", "--batch-size", "300"]
        + ["--hidden-layers-sizes", "30", "20"],
        {"finetune_lr": 0.2, "pretraining_epochs": 2, "pretrain_lr": 0.05, "k": 3, "training_epochs": 4}
        | {"dataset": "mnist.pkl.gz", "batch_size": 300, "hidden_layers_sizes": [30, 20]},
    ),
    "hmc": (["--burnin", "0", "--n-samples", "20", "--dim", "3"], {"burnin": 0, "n_samples": 20, "dim": 3}),
}


@pytest.mark.parametrize("name", list(tutorials.TUTORIALS))
def test_every_flag_reaches_the_function(name, fake_tutorial):
    argv, expected = FLAGS[name]
    cli.main(name, argv + ["--floatX", "float32", "--quiet"])
    assert fake_tutorial == [expected]
    assert pytensor.config.floatX == "float32"


@pytest.mark.parametrize("name", list(tutorials.TUTORIALS))
def test_no_flags_means_the_historical_defaults(name, fake_tutorial):
    cli.main(name, [])
    assert fake_tutorial == [tutorials.defaults(name)]


def test_help_shows_every_parameter_with_its_historical_default(capsys):
    with pytest.raises(SystemExit) as exit:
        cli.main("convolutional_mlp", ["--help"])
    assert exit.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for expected in ["--nkerns A B", "(default: 20 50)", "(default: 0.1)", "(default: 200)", "(default: 23455)"]:
        assert expected in text


@pytest.mark.parametrize(
    "name, argv, message",
    [
        ("mlp", ["--batch-size", "0"], "--batch-size: must be a positive integer, got '0'"),
        ("mlp", ["--n-epochs", "-1"], "--n-epochs: must be a positive integer, got '-1'"),
        ("convolutional_mlp", ["--nkerns", "5"], "--nkerns: expected 2 arguments"),
        ("logistic_sgd", ["--floatX", "float16"], "--floatX: invalid choice: 'float16'"),
        ("logistic_sgd", ["--learning-rate", "nan"], "--learning-rate: must be a finite number > 0, got 'nan'"),
        ("mlp", ["--L2-reg", "-1"], "--L2-reg: must be a finite number >= 0, got '-1'"),
        ("mlp", ["--mode", "bogus"], "--mode: invalid choice: 'BOGUS'"),
        ("mlp", ["--seed", "x"], "--seed: must be an integer from 0 to 2**32 - 1, got 'x'"),
        ("logistic_sgd", ["--dataset", "/nonexistent/mnist.pkl.gz"], "--dataset /nonexistent/mnist.pkl.gz: no such"),
        ("logistic_sgd", ["--history", "h.txt"], "must end in .json or .csv"),
        ("logistic_sgd", ["--history", "/nonexistent/h.json"], "the folder '/nonexistent' does not exist"),
        ("logistic_sgd", ["--save-model", "m.pkl"], "must end in .npz"),
    ],
)
def test_bad_values_give_one_line_and_exit_2_before_anything_runs(
    name, argv, message, fake_tutorial, capsys, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit:
        cli.main(name, argv)
    assert exit.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith(f"python -m deeplearning_tutorial.{name}: error:")
    assert fake_tutorial == [] and os.listdir(tmp_path) == []


def test_unwritable_plots_folder_fails_before_training(fake_tutorial, capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(SystemExit) as exit:
        cli.main("mlp", ["--plots", str(blocker / "plots")])
    assert exit.value.code == 2
    assert "--plots: cannot create the folder" in capsys.readouterr().err
    assert fake_tutorial == [] and blocker.read_text() == "not a folder"


def test_a_missing_backend_is_named_with_how_to_install_it(fake_tutorial, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "jax", None)  # as if JAX were not installed
    with pytest.raises(SystemExit) as exit:
        cli.main("mlp", ["--mode", "JAX"])
    assert exit.value.code == 2
    assert "--mode JAX needs JAX: pip install -e '.[jax]'" in capsys.readouterr().err
    assert fake_tutorial == []


def test_lenet_with_flags_prints_the_golden_log_and_keeps_history_plots_and_model(mnist_path, tmp_path, capsys):
    """float64 ``--n-epochs 1 --nkerns 5 5``: the historical code's log for those arguments, line for line."""
    history, plots, model = tmp_path / "h.json", tmp_path / "plots", tmp_path / "m.npz"
    argv = ["--n-epochs", "1", "--nkerns", "5", "5", "--floatX", "float64"]
    cli.main("convolutional_mlp", argv + ["--history", str(history), "--plots", str(plots), "--save-model", str(model)])
    out, err = capsys.readouterr()
    assert result_lines(out) == golden_log("convolutional_mlp.n_epochs1.nkerns5-5.float64.log")

    rows = json.loads(history.read_text())
    assert [(r["epoch"], r["minibatch"], r["validation_error"], r["test_error"]) for r in rows] == [
        (1, 100, 13.3, 13.69)
    ]
    assert rows[0]["train_cost"] > 0 and rows[0]["elapsed_s"] > 0

    names = sorted(os.listdir(plots))
    assert names == ["learning_curves.png", "weights_layer1.png", "weights_layer2.png"]
    for name in names:
        image = matplotlib.image.imread(plots / name)
        assert image.ndim == 3 and min(image.shape[:2]) > 200

    header, values = saved_models.load(model)
    assert header["tutorial"] == "convolutional_mlp" and header["floatX"] == "float64"
    assert header["arguments"]["nkerns"] == [5, 5]
    labels, score = predict.predict("convolutional_mlp", header["arguments"], values, mnist_path, 10)
    printed = capsys.readouterr().out
    assert "test error of saved model 13.690000 %" in printed
    assert labels.shape == (10,)


@pytest.mark.parametrize(
    "name, argv",
    [("logistic_sgd", ["--n-epochs", "1"]), ("mlp", ["--n-epochs", "1", "--n-hidden", "20", "--batch-size", "100"])],
)
def test_save_and_predict_round_trip(name, argv, mnist_path, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # logistic regression also writes best_model.pkl here
    model = tmp_path / "model.npz"
    cli.main(name, argv + ["--save-model", str(model), "--floatX", "float32"])
    run_test_line = [line for line in capsys.readouterr().out.splitlines() if "test error of best model" in line][-1]
    predict.main([str(model), "--n", "5"])
    printed = capsys.readouterr().out
    run_error = run_test_line.split("test error of best model ")[1]
    assert printed.splitlines()[-1] == f"test error of saved model {run_error}"
    assert "Predicted values for the first 5 examples in test set:" in printed


def test_predict_rejects_what_is_not_a_saved_model(tmp_path, capsys):
    for content in (b"", b"PK\x03\x04 truncated"):
        path = tmp_path / "bad.npz"
        path.write_bytes(content)
        with pytest.raises(SystemExit) as exit:
            predict.main([str(path)])
        assert exit.value.code == 2
        assert "is not a model saved by --save-model, or is truncated or damaged" in capsys.readouterr().err


# -- the output of a run, with and without a terminal ---------------------------

RUN = [sys.executable, "-m", "deeplearning_tutorial.logistic_sgd", "--n-epochs", "2"]


def run_script(cwd, stderr_on_terminal, stdout_to_file=False):
    """Run the logistic regression script; return its stdout, and its stderr (read from a terminal if asked).

    stdout goes to a pipe, or with ``stdout_to_file`` to a file (as with ``> run.log``).
    """
    if not stderr_on_terminal:
        done = subprocess.run(RUN, cwd=cwd, capture_output=True, text=True, check=True)
        return done.stdout, done.stderr
    leader, follower = pty.openpty()
    # A terminal of 30 rows and 100 columns (a new pseudo-terminal has none).
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    out_path = cwd / "stdout.log"
    with open(out_path, "w") as out_file:
        stdout = out_file if stdout_to_file else subprocess.PIPE
        proc = subprocess.Popen(RUN, cwd=cwd, stdout=stdout, stderr=follower, text=True)
    os.close(follower)
    terminal = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the script closed the terminal
            break
        if not chunk:
            break
        terminal += chunk
    stdout = out_path.read_text() if stdout_to_file else proc.stdout.read()
    assert proc.wait() == 0
    os.close(leader)
    return stdout, terminal.decode(errors="replace")


def test_output_is_the_same_with_and_without_a_terminal(mnist_path, tmp_path):
    """The progress bar goes to the terminal only; the printed lines do not change."""
    piped_out, piped_err = run_script(tmp_path, stderr_on_terminal=False)
    file_out, terminal_err = run_script(tmp_path, stderr_on_terminal=True, stdout_to_file=True)
    assert result_lines(piped_out) == result_lines(file_out)
    lines = result_lines(piped_out)
    assert lines[:7] == result_lines(golden_text("logistic_sgd.default.float64.log"))[:7]
    final = "Optimization complete with best validation score of 11.010417 %,with test performance 10.958333 %"
    assert lines[7:] == [final]
    assert "minibatch" not in piped_err  # no bar in a file or pipe
    assert "epoch 2/2" in terminal_err and "/83" in terminal_err
    # No bar that was never filled in: it appears with the first step, its total known.
    assert ": 0minibatch" not in terminal_err and "epoch 1/2: : " not in terminal_err
    # A person at the terminal is told where the historical pickle of the best model went.
    assert f"pickled for logistic_sgd.predict(): {tmp_path / 'best_model.pkl'}" in terminal_err


def test_no_bar_when_stdout_is_a_pipe_to_the_terminal(mnist_path, tmp_path):
    """``... | tee run.log``: tee writes the lines whenever it likes, so a bar would be glued to them."""
    piped_out, terminal_err = run_script(tmp_path, stderr_on_terminal=True)
    assert "minibatch" not in terminal_err
    assert result_lines(piped_out)[-1].startswith("Optimization complete with best validation score")


# -- compare ---------------------------------------------------------------------


def test_compare_accepts_a_matching_log(tmp_path, capsys):
    log = tmp_path / "run.log"
    log.write_text(golden_text("mlp.n_epochs1.float64.log").replace("ran for 0.", "ran for 9."))
    assert compare.main([str(log), "mlp.n_epochs1.float64.log"]) == 0
    assert "identical: all" in capsys.readouterr().out


def test_compare_rejects_a_log_one_image_away_and_shows_the_line(tmp_path, capsys):
    text = golden_text("convolutional_mlp.n_epochs1.float64.log")
    assert "test error of best model 9.520000 %" in text
    log = tmp_path / "run.log"
    log.write_text(text.replace("test error of best model 9.520000 %", "test error of best model 9.530000 %"))
    assert compare.main([str(log), "convolutional_mlp.n_epochs1.float64.log"]) == 1
    out = capsys.readouterr().out
    assert "epoch 1: error differs by 1 image of 10000" in out
    assert "9.530000 %" in out and "9.520000 %" in out
    assert out.splitlines()[-1] == "different: 1 of 8 common result lines differ"


def test_compare_counts_images_of_logistic_regression_minibatches(tmp_path, capsys):
    """Batches of 600 measure the error on 9 600 of the 10 000 images."""
    text = golden_text("logistic_sgd.default.float64.log")
    log = tmp_path / "run.log"
    log.write_text(text.replace("validation error 7.500000 %", "validation error 7.510417 %"))
    assert compare.main([str(log), "logistic_sgd.default.float64.log"]) == 1
    assert "error differs by 1 image of 9600" in capsys.readouterr().out


def test_compare_lists_the_golden_logs_and_refuses_unknown_ones(capsys):
    assert compare.main(["--list"]) == 0
    assert "mlp.n_epochs1.float64.log" in capsys.readouterr().out.split()
    with pytest.raises(SystemExit) as exit:
        compare.main(["nothing.log", "mlp.n_epochs1.float64.log"])
    assert exit.value.code == 2
    assert "nothing.log: no such file, nor a shipped golden log" in capsys.readouterr().err


def test_saved_models_round_trip(tmp_path):
    params = [numpy.arange(6.0).reshape(2, 3), numpy.ones(3, dtype="float32")]
    path = str(tmp_path / "m.npz")
    saved_models.save(path, "mlp", {"n_hidden": 3}, "float64", params)
    header, values = saved_models.load(path)
    assert header["tutorial"] == "mlp" and header["arguments"] == {"n_hidden": 3}
    for value, param in zip(values, params):
        numpy.testing.assert_array_equal(value, param)
        assert value.dtype == param.dtype


def test_float16_from_the_environment_is_refused(fake_tutorial, capsys):
    with pytensor.config.change_flags(floatX="float16"), pytest.raises(SystemExit) as exit:
        cli.main("mlp", [])
    assert exit.value.code == 2
    assert "floatX=float16 (from PYTENSOR_FLAGS) is not supported by the tutorials" in capsys.readouterr().err
    assert fake_tutorial == []


# -- what the environment can get wrong --------------------------------------------


def test_a_bad_pytensor_flag_is_one_line_and_exit_2(tmp_path):
    env = dict(os.environ, PYTENSOR_FLAGS="floatX=bogus")
    done = subprocess.run(RUN, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "PYTENSOR_FLAGS: Invalid value ('bogus')" in done.stderr
    assert done.stdout == ""


def test_a_reader_that_goes_away_is_not_an_error(mnist_path, tmp_path):
    """``... | head -3``: the run ends quietly with the status of a closed pipe, 128 + SIGPIPE."""
    proc = subprocess.Popen(RUN, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert first == b"... loading data\n"
    assert proc.wait() == 141 and err == ""


def test_lenet5_saves_a_model_that_predict_rebuilds(mnist_path, tmp_path, capsys):
    """LeNet-5 trained on all 60 000 images prints a test error each epoch; that model is the one saved."""
    model = tmp_path / "lenet5.npz"
    argv = ["--train-on-all", "--n-epochs", "1", "--max-minibatches", "30", "--hessian-examples", "50"]
    cli.main("lenet5", argv + ["--save-model", str(model), "--floatX", "float32", "--quiet"])
    run_line = [line for line in capsys.readouterr().out.splitlines() if ", test error " in line][-1]
    predict.main([str(model), "--n", "5"])
    printed = capsys.readouterr().out
    assert printed.splitlines()[-1] == "test error of saved model " + run_line.split("test error ")[1]


def test_predict_refuses_an_autoencoder_in_one_line(tmp_path, capsys):
    model = tmp_path / "dA.npz"
    saved_models.save(str(model), "dA", {"dataset": "mnist.pkl.gz", "batch_size": 20}, "float64", [numpy.zeros(3)])
    with pytest.raises(SystemExit) as stopped:
        predict.main([str(model)])
    assert stopped.value.code == 2
    assert "a dA model is not a classifier" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["dA", "cA", "rbm", "logistic_cg"])
def test_save_model_is_refused_before_training_for_a_chapter_predict_cannot_use(name, fake_tutorial, capsys, tmp_path):
    with pytest.raises(SystemExit) as stopped:
        cli.main(name, ["--save-model", str(tmp_path / "m.npz")])
    assert stopped.value.code == 2 and fake_tutorial == []
    assert f"--save-model: {name} trains no classifier" in capsys.readouterr().err
