"""Tests of deeplearning_tutorial.compare: logs that cannot be found are all named, in one short line."""

import pytest

from deeplearning_tutorial import compare
from deeplearning_tutorial.logs import golden_names, golden_text

LIST = "python -m deeplearning_tutorial.compare --list names the golden logs"


def refusal(argv, capsys):
    with pytest.raises(SystemExit) as exit:
        compare.main(argv)
    assert exit.value.code == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    return err.removeprefix("python -m deeplearning_tutorial.compare: error: ").rstrip("\n")


def test_two_missing_logs_are_both_named_without_listing_the_golden_logs(capsys):
    message = refusal(["run.log", "other.log"], capsys)
    assert message == f"run.log, other.log: no such files, nor shipped golden logs ({LIST})"
    assert not any(name in message for name in golden_names())


def test_one_missing_log_is_named_and_a_near_golden_name_suggested(tmp_path, capsys):
    log = tmp_path / "run.log"
    log.write_text(golden_text("mlp.n_epochs1.float64.log"))
    message = refusal([str(log), "mlp.n_epoch1.float64.log"], capsys)
    assert message == (
        "mlp.n_epoch1.float64.log: no such file, nor a shipped golden log "
        f"(did you mean mlp.n_epochs1.float64.log? {LIST})"
    )


def test_a_folder_and_a_missing_log_are_told_apart(tmp_path, capsys):
    message = refusal([str(tmp_path), "nothing.log"], capsys)
    missing = f"nothing.log: no such file, nor a shipped golden log ({LIST})"
    assert message == f"{missing}; {tmp_path} is a folder; give a log file"


def test_the_list_option_names_every_golden_log_one_per_line(capsys):
    assert compare.main(["--list"]) == 0
    assert capsys.readouterr().out.splitlines() == list(golden_names())
