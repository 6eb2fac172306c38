"""The log grammar (`deeplearning_tutorial.logs`) over every line of every shipped golden log."""

import pytest

from deeplearning_tutorial import history, logs


@pytest.mark.parametrize("name", logs.golden_names())
def test_every_line_of_every_golden_log_has_a_kind(name):
    for text in logs.golden_text(name).splitlines():
        assert logs.parse(text).kind is not None, f"{name}: no rule for {text!r}"


@pytest.mark.parametrize("name", logs.golden_names())
def test_the_history_of_a_golden_log_has_a_row_per_validation_and_the_printed_errors(name):
    text = logs.golden_text(name)
    record = history.RunRecord()
    for line in text.splitlines():
        record.line(line)
    validations = [
        line for line in text.splitlines() if logs.parse(line).kind in ("validation", "iteration_validation")
    ]
    tests = [line for line in text.splitlines() if "test error of best model" in line]
    costs = [line for line in text.splitlines() if logs.parse(line).kind.endswith(("_cost", "_contraction"))]
    rows = [row for row in record.rows if "validation_error" in row]
    assert len(rows) == len(validations) and len(record.rows) == len(validations) + len(costs)
    assert sum(row["test_error"] is not None for row in rows) == len(tests)
    for number, (row, line) in enumerate(zip(rows, validations), 1):
        if logs.parse(line).kind == "iteration_validation":
            # logistic_cg: one line per conjugate gradient iteration, numbered as epochs.
            assert (line, row["epoch"]) == ("validation error %f %%" % row["validation_error"], number)
            continue
        assert line == "epoch %i, minibatch %i/%i, validation error %f %%" % (
            row["epoch"],
            row["minibatch"],
            int(line.split("/")[1].split(",")[0]),
            row["validation_error"],
        )


def test_the_numbers_of_each_kind_of_line():
    assert logs.parse("epoch 3, minibatch 83/83, validation error 10.312500 %").values == {
        "epoch": 3,
        "minibatch": 83,
        "n_batches": 83,
        "error": 10.3125,
    }
    line = logs.parse("     epoch 1, minibatch 2500/2500, test error of best model 9.620000 %")
    assert (line.kind, line.values["error"]) == ("test", 9.62)
    line = logs.parse(
        "Best validation score of 0.910000 % obtained at iteration 18600, with test performance 0.920000 %"
    )
    assert (line.kind, line.values) == ("summary", {"validation_error": 0.91, "iteration": 18600, "test_error": 0.92})
    # LeNet-5's lines.
    assert logs.parse("training @ iter =  1000 , cost 0.123456").values == {"iter": 1000, "cost": 0.123456}
    line = logs.parse("epoch 4, learning rate 0.0002, test error 1.020000 %")
    assert (line.kind, line.values["error"]) == ("epoch_test", 1.02)
    assert logs.parse("C1         28x28x6           156       122 304").kind == "layer_table"


def test_timing_lines_are_the_only_ones_left_out_of_results():
    text = (
        "... loading data\nThe code run for 74 epochs, with 1.5 epochs/sec\nThe code for file mlp.py ran for 0.84m\nx"
    )
    assert logs.result_lines(text) == ["... loading data", "x"]


def test_an_unknown_line_has_no_kind():
    assert logs.parse("something else entirely").kind is None


def test_the_history_of_a_cost_per_epoch_log_has_a_row_per_epoch(tmp_path):
    """dA prints a mean cost per epoch; SdA also a cost per layer and epoch before its validations."""
    record = history.RunRecord(str(tmp_path / "h.csv"))
    for name in (
        "dA.training_epochs1.float64.log",
        "SdA.pretraining_epochs1.training_epochs1.batch_size300.float64.log",
    ):
        for text in logs.golden_text(name).splitlines():
            record.line(text)
    first = record.rows[0]
    assert first["phase"] == "training" and first["epoch"] == 0 and first["cost"] == 63.28916942011244
    pretraining = [row for row in record.rows if row.get("phase") == "pretraining"]
    assert [row["layer"] for row in pretraining] == [0, 1, 2]
    assert record.rows[-1]["validation_error"] is not None
    header = (tmp_path / "h.csv").read_text().splitlines()[0].split(",")
    assert {"phase", "layer", "cost", "validation_error", "test_error"} <= set(header)
