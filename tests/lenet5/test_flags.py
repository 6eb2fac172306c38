"""LeNet-5's own flags (`lenet5.FLAGS`), parsed as the shared command line adds them."""

import argparse
import inspect

import pytest

from deeplearning_tutorial import lenet5

# Parameters whose flags the shared command line declares for every tutorial.
SHARED = {"dataset", "seed"}
DEFAULTS = {k: p.default for k, p in inspect.signature(lenet5.train_lenet5).parameters.items()}


class OneLineParser(argparse.ArgumentParser):
    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def parse(argv):
    """The flags of FLAGS as the command line adds them (``dest`` the parameter, its default)."""
    parser = OneLineParser(prog="lenet5")
    for parameter, (flag, options, text) in lenet5.FLAGS.items():
        parser.add_argument(flag, dest=parameter, default=DEFAULTS[parameter], help=text, **options)
    return vars(parser.parse_args(argv))


def one_line_exit_2(capsys, argv):
    with pytest.raises(SystemExit) as e:
        parse(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    return err


def test_every_parameter_has_a_flag_and_a_default():
    assert set(DEFAULTS) == set(lenet5.FLAGS) | SHARED
    assert all(default is not inspect.Parameter.empty for default in DEFAULTS.values())


def test_no_flags_are_the_function_defaults():
    assert parse([]) == {k: v for k, v in DEFAULTS.items() if k not in SHARED}


def test_every_flag_reaches_its_parameter():
    argv = ["--learning-rate", "0.001:2,0.0005", "--n-epochs", "3", "--batch-size", "10", "--optimizer", "adam"]
    argv += ["--variant", "pytorch", "--train-on-all", "--mu", "0.05", "--hessian-examples", "100", "--j", "0.5"]
    argv += ["--max-minibatches", "7"]
    assert parse(argv) == {
        "learning_rate": "0.001:2,0.0005",
        "n_epochs": 3,
        "batch_size": 10,
        "optimizer": "adam",
        "variant": "pytorch",
        "train_on_all": True,
        "mu": 0.05,
        "hessian_examples": 100,
        "j": 0.5,
        "max_minibatches": 7,
    }


def test_unknown_variant(capsys):
    err = one_line_exit_2(capsys, ["--variant", "caffe"])
    assert "caffe" in err and "keras" in err


def test_unparsable_schedule(capsys):
    err = one_line_exit_2(capsys, ["--learning-rate", "0.001:two,0.0001"])
    assert "RATE:PASSES" in err


@pytest.mark.parametrize(
    "flag, value, message",
    [
        ("--n-epochs", "0", "n_epochs must be a positive integer, got 0"),
        ("--batch-size", "five", "batch_size must be a positive integer, got 'five'"),
        ("--mu", "0", "mu must be a finite number > 0, got 0.0"),
        ("--mu", "inf", "mu must be a finite number > 0, got inf"),
        ("--hessian-examples", "2.5", "hessian_examples must be a positive integer, got '2.5'"),
        ("--j", "-1", "j must be a finite number >= 0, got -1.0"),
        ("--max-minibatches", "-3", "max_minibatches must be a positive integer, got -3"),
    ],
)
def test_bad_values_say_what_is_wrong(capsys, flag, value, message):
    err = one_line_exit_2(capsys, [flag, value])
    assert flag in err and message in err
