"""The run seam (`deeplearning_tutorial.runs`): plain by default, the active run while one is active."""

import numpy
import pytensor.tensor as T
from pytensor.compile.executor import Function

from deeplearning_tutorial import runs


def test_the_plain_run_compiles_with_pytensor_and_prints(capsys, tmp_path):
    run = runs.current()
    assert type(run) is runs.Run and not run.replaying
    x = T.dscalar("x")
    f = run.function([x], 2 * x)
    assert isinstance(f, Function)
    assert f(1.5) == 3.0
    run.print("epoch %i" % 1, "done", sep=", ")
    assert capsys.readouterr().out == "epoch 1, done\n"
    run.write_file(str(tmp_path / "kept"), lambda path: open(path, "w").close(), what="a file")
    assert (tmp_path / "kept").exists()


class Counting(runs.Run):
    def __init__(self):
        self.lines = []

    def print(self, *values, **kwargs):
        self.lines.append(" ".join(map(str, values)))


def test_an_active_run_is_current_until_its_block_ends():
    outer, inner = Counting(), Counting()
    with runs.active(outer):
        assert runs.current() is outer
        with runs.active(inner):
            runs.current().print("a", 1)
        runs.current().print("b")
    assert runs.current() is runs._PLAIN
    assert (outer.lines, inner.lines) == (["b"], ["a 1"])


def test_a_chapter_prints_through_the_current_run(mnist_path, capsys):
    """load_data's line goes through the run, so a command-line run sees, or holds back, every line."""
    from deeplearning_tutorial.logistic_sgd import load_data

    run = Counting()
    with runs.active(run):
        datasets = load_data("mnist.pkl.gz")
    assert run.lines == ["... loading data"] and capsys.readouterr().out == ""
    assert numpy.asarray(datasets[0][0].get_value(borrow=True)).shape == (50000, 784)
