"""The benchmarks' record, renderer, entry point and step watcher, on figures made up here (no benchmark runs)."""

import json
import os
import statistics
import subprocess
import sys
import types

import pytest

from benchmarks import render, results, timing, watch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def result(tutorial, runner, kind, epoch, epoch_cpu, cold=None, default=False):
    return {
        "tutorial": tutorial,
        "runner": runner,
        "kind": kind,
        "default": default,
        "cold_start_s": cold,
        "warm_start_s": 1.25,
        "epoch_s": epoch,
        "epoch_cpu_s": epoch_cpu,
        "epochs_s": [epoch],
        "epochs_cpu_s": [epoch_cpu],
        "peak_rss_mb": 437.4,
    }


@pytest.fixture
def record():
    """A record as `benchmarks.run` writes it: two chapters, two modes, PyTorch, a skipped chapter."""
    made = {
        "schema": results.SCHEMA,
        "date": "2026-01-02T03:04:05Z",
        "command": "python -m benchmarks run --tutorials mlp logistic_sgd --modes NUMPY NUMBA_BLAS --epochs 3",
        "runs": 1,
        "machine": {"cpu": "Test CPU 9000", "cores": 2, "memory_gib": 23.5, "system": "Linux 6 x86_64", "shared": True},
        "versions": {"python": "3.11.7", "pytensor": "3.0.7", "numpy": "2.4.6", "torch": "2.14.1", "jax": None},
        "settings": {"epochs": 3, "timed_epochs": 2, "floatX": "float32", "threads": 1},
        "notes": ["The machine was shared with other work."],
        "skipped": [{"tutorial": "SdA", "reason": "its training function has no n_epochs parameter"}],
        "failed": [],
        "results": [
            result("mlp", "NUMPY", "pytensor", 2.0, 1.5, cold=2.9, default=True),
            result("mlp", "NUMBA_BLAS", "pytensor", 1.0, 0.75, cold=96.9),
            result("mlp", "PyTorch", "pytorch", 4.0, 3.0),
            result("logistic_sgd", "NUMPY", "pytensor", 0.08, 0.05, cold=2.8, default=True),
        ],
    }
    results.add_ratios(made)
    return made


def test_ratios_are_to_pytorch_in_the_same_record(record):
    ratios = [row["ratio_to_pytorch"] for row in record["results"]]
    assert ratios == [
        {"epoch_s": 0.5, "epoch_cpu_s": 0.5},
        {"epoch_s": 0.25, "epoch_cpu_s": 0.25},
        {"epoch_s": 1.0, "epoch_cpu_s": 1.0},
        None,  # no PyTorch figures for logistic_sgd in this record
    ]


def test_the_page_has_the_table_of_the_record(record):
    text = render.page(record, "fixture.json docs/speed.md")
    table = [line for line in text.splitlines() if line.startswith("|")]
    assert table == [
        *render.COLUMNS,
        "| mlp | NUMPY (default) | 2.9 s | 1.2 s | 2.000 s | 1.500 s | 0.50 | 0.50 | 437 MB |",
        "| mlp | NUMBA_BLAS | 96.9 s | 1.2 s | 1.000 s | 0.750 s | 0.25 | 0.25 | 437 MB |",
        "| mlp | PyTorch 2.14.1 |  | 1.2 s | 4.000 s | 3.000 s | 1 | 1 | 437 MB |",
        "| logistic_sgd | NUMPY (default) | 2.8 s | 1.2 s | 0.080 s | 0.050 s |  |  | 437 MB |",
    ]


def test_the_page_says_where_when_and_how_often(record):
    text = render.page(record, "fixture.json docs/speed.md")
    assert text.startswith("# Speed\n")
    assert "`python -m benchmarks render fixture.json docs/speed.md`" in text
    assert f"Figures of one run of `{record['command']}` on 2026-01-02 at 03:04 UTC, in float32" in text
    assert "2 timed epochs per process, after one untimed epoch, every runner on 1 thread." in text
    assert "**Machine:** Test CPU 9000, 2 cores, 23.5 GiB of memory, Linux 6 x86_64; shared with other work." in text
    # A library that is not installed (JAX here) is left out of the versions.
    assert "**Versions:** Python 3.11.7, PyTensor 3.0.7, NumPy 2.4.6, PyTorch 2.14.1.\n" in text
    assert "- The machine was shared with other work.\n" in text
    assert "- SdA: its training function has no n_epochs parameter\n" in text


def test_render_writes_the_page_from_the_json_file(record, tmp_path, capsys):
    source, page = tmp_path / "record.json", tmp_path / "docs" / "speed.md"
    results.write(str(source), record)
    render.main([str(source), str(page)])
    assert page.read_text() == render.page(results.load(str(source)), f"{source} {page}")
    assert capsys.readouterr().out == f"wrote {page} from {source}\n"


@pytest.mark.parametrize(
    "content, complaint",
    [
        ("{not json", "not JSON"),
        ('{"schema": 99}', "not a benchmark record of schema 1"),
        ('{"schema": 1, "results": []}', "the record lacks date, command"),
    ],
)
def test_render_refuses_a_file_that_is_not_a_record_in_one_line(tmp_path, capsys, content, complaint):
    source = tmp_path / "bad.json"
    source.write_text(content)
    with pytest.raises(SystemExit) as stop:
        render.main([str(source), str(tmp_path / "speed.md")])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and complaint in err and "python -m benchmarks run" in err
    assert not (tmp_path / "speed.md").exists()


def test_a_record_lacking_a_result_figure_is_refused(record, tmp_path):
    del record["results"][1]["epoch_cpu_s"]
    source = tmp_path / "record.json"
    source.write_text(json.dumps(record))
    with pytest.raises(results.RecordError, match="lacks epoch_cpu_s"):
        results.load(str(source))


def test_the_entry_point_names_its_subcommands():
    command = [sys.executable, "-m", "benchmarks", "no-such-command"]
    proc = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2
    choices = "run, steps, render, step-time, jax-call, jax-conv"
    assert proc.stderr == f"error: no subcommand 'no-such-command'; choose one of {choices}\n"


def fake_library():
    """A module with a ``function`` that "compiles" by returning a function of the index that returns 2 * index."""
    return types.SimpleNamespace(function=lambda inputs, outputs, updates=None: lambda i: 2 * i)


def test_watch_training_sees_only_training_steps_and_puts_the_function_back():
    library = fake_library()
    original = library.function
    seen = []
    with watch.watch_training(lambda inputs, cost: seen.append((inputs, cost)), library=library):
        validate = library.function([], None)
        train = library.function([], None, updates=[("W", "W - 1")])
        assert [validate(3), train(0), train(1)] == [6, 0, 2]
    assert seen == [((0,), 0), ((1,), 2)]
    assert library.function is original


def test_first_training_step_stops_the_tutorial_after_its_first_step():
    library = fake_library()
    calls = []

    def tutorial():
        train = library.function([], None, updates=[("W", "W - 1")])
        for index in range(10):
            calls.append(train(index))

    step = watch.first_training_step(tutorial, library=library)
    assert calls == [] and step(5) == 10  # the step itself, unwatched
    with pytest.raises(RuntimeError, match="without calling a function compiled with updates"):
        watch.first_training_step(lambda: library.function([], None)(1), library=library)


def test_first_training_step_can_stop_at_a_named_function_called_by_name():
    """Conjugate gradients compiles no updates: the step to stop at is named; SdA calls its steps by keyword."""
    library = types.SimpleNamespace(
        function=lambda inputs, outputs, name=None: lambda index=None: ("called", name, index)
    )

    def tutorial():
        library.function([], None, name="validate")(index=1)
        library.function([], None, name="batch_cost")(index=2)
        raise AssertionError("the tutorial went on after its step")

    step = watch.first_training_step(
        tutorial, library=library, is_step=lambda kwargs: kwargs.get("name") == "batch_cost"
    )
    assert step(index=3) == ("called", "batch_cost", 3)


def test_an_epoch_begins_at_minibatch_zero():
    clock = timing.EpochClock(started=0.0)
    on_step = timing.marks_epochs(clock)
    for index in [0, 1, 2, 0, 1, 2, 0]:
        on_step((index,), 0.5)
    assert len(clock.wall) == 3
    report = clock.report()
    assert len(report["epoch_s"]) == len(report["epoch_cpu_s"]) == 2
    assert report["startup_s"] == clock.wall[0] and report["peak_rss_mb"] > 0


#: A stand-in for Theano and for a historical chapter that trains with it (three minibatches an epoch).
FAKE_THEANO = """
__version__ = "0.0-test"

def function(inputs, outputs, updates=None):
    return lambda index: 0.5
"""
FAKE_CHAPTER = """
import theano

def train(n_epochs=1000):
    step = theano.function([], None, updates=[("W", "W - 1")])
    validate = theano.function([], None)
    for epoch in range(n_epochs):
        for index in range(3):
            step(index)
        validate(0)
    print("done")
"""


def test_the_historical_code_is_timed_in_processes_of_its_own(tmp_path, monkeypatch):
    """`benchmarks.legacy` watches ``theano.function``; `benchmarks.run.measure` reads what it reports."""
    from benchmarks import run

    (tmp_path / "theano.py").write_text(FAKE_THEANO)
    (tmp_path / "chapter.py").write_text(FAKE_CHAPTER)
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    command = [sys.executable, "-m", "benchmarks.legacy", "chapter", "train", "3"]
    figures = run.measure(command, dict(os.environ), empty_caches=False)
    assert figures["cold_start_s"] is None and figures["warm_start_s"] > 0
    assert len(figures["epochs_s"]) == len(figures["epochs_cpu_s"]) == 2  # three epochs, the first untimed
    assert figures["epoch_s"] == pytest.approx(statistics.median(figures["epochs_s"]), abs=1e-4)
    assert run.theano_version(sys.executable) == "0.0-test"


def test_a_failed_measurement_says_the_last_line_of_its_error():
    from benchmarks import run

    command = [sys.executable, "-c", "import sys; print('Traceback ...', file=sys.stderr); sys.exit('broken chapter')"]
    with pytest.raises(run.MeasurementError, match="^broken chapter$"):
        run.measure(command, dict(os.environ), empty_caches=True)


def step_row(tutorial, step, runner, kind, seconds, cpu, default=False, cold=None):
    return {
        "tutorial": tutorial,
        "step": step,
        "runner": runner,
        "kind": kind,
        "default": default,
        "cold_start_s": cold,
        "step_s": seconds,
        "step_cpu_s": cpu,
        "calls": 300,
        "peak_rss_mb": 512.0,
    }


@pytest.fixture
def steps_record():
    """A record as `benchmarks.steps` writes it: the SdA's steps under NUMPY and PyTorch, Theano for one step."""
    from benchmarks import steps

    made = results.new_record(
        date="2026-01-02T03:04:05Z",
        command="python -m benchmarks steps --tutorials SdA",
        settings={"calls": 300, "budget_s": 10.0, "floatX": "float32", "threads": 1},
    )
    made["versions"] = {"python": "3.11.7", "pytensor": "3.0.7", "torch": "2.14.1", "theano": "1.0.5"}
    made["steps"] = [
        step_row("SdA", "SdA pretraining layer 0", "NUMPY", "pytensor", 0.0008, 0.0004, default=True, cold=4.25),
        step_row("SdA", "SdA pretraining layer 1", "NUMPY", "pytensor", 0.0006, 0.0006, default=True, cold=4.25),
        step_row("SdA", "SdA pretraining layer 2", "NUMPY", "pytensor", 0.0006, 0.0006, default=True, cold=4.25),
        step_row("SdA", "SdA fine-tuning", "NUMPY", "pytensor", 0.002, 0.002, default=True, cold=4.25),
        step_row("SdA", "SdA pretraining layer 0", "PyTorch", "pytorch", 0.0016, 0.0008),
        step_row("SdA", "SdA fine-tuning", "Theano", "theano", 0.004, 0.004),
    ]
    made["passes"] = [
        {"tutorial": "SdA", "pass": "SdA validation pass", "runner": "NUMPY", "kind": "pytensor"}
        | {"pass_s": 2.5, "pass_cpu_s": 2.0}
    ]
    made["step_descriptions"] = {"SdA fine-tuning": "SGD step of the whole network, batch 1"}
    steps.add_ratios(made)
    steps.add_estimates(made)
    return made


def test_a_full_run_is_its_steps_and_passes_times_their_times():
    from benchmarks import steps

    step_s, pass_s = {"a": 0.5, "b": 0.25}, {"valid": 3.0}
    assert steps.estimate_minutes({"a": 60, "b": 120}, {"valid": 10}, step_s, pass_s) == (30 + 30 + 30) / 60
    assert steps.estimate_minutes({"a": 60, "c": 1}, {}, step_s, pass_s) is None  # a step without a time


def test_step_ratios_are_to_the_same_step_in_pytorch(steps_record):
    ratios = [row["ratio_to_pytorch"] for row in steps_record["steps"]]
    assert ratios[0] == {"step_s": 0.5, "step_cpu_s": 0.5}
    assert ratios[1] is None  # no PyTorch figure for layer 1 in this record
    assert ratios[4] == {"step_s": 1.0, "step_cpu_s": 1.0}


def test_the_estimates_count_each_phase_of_the_full_run(steps_record):
    pretraining, finetuning = steps_record["estimates"]
    # 750 000 steps of each layer; Theano has no pretraining step here, so no estimate
    assert pretraining["minutes"] == {"NUMPY": round(750_000 * (0.0008 + 0.0006 + 0.0006) / 60, 4)}
    assert pretraining["steps"] == 2_250_000 and pretraining["published_minutes"] == 585.01
    assert pretraining["default_to_published"] == round(pretraining["minutes"]["NUMPY"] / 585.01, 4)
    # 1.8 million fine-tuning steps and 72 evaluation passes; Theano's passes were not timed
    assert finetuning["minutes"] == {"NUMPY": round((1_800_000 * 0.002 + 72 * 2.5) / 60, 4)}


def test_the_page_has_the_steps_and_the_estimates(steps_record):
    text = render.page(steps_record, "steps.json docs/speed.md")
    table = [line for line in text.splitlines() if line.startswith("| SdA |")]
    assert (
        table[0]
        == "| SdA | SdA pretraining layer 0 | NUMPY (default) | 4.2 s | 0.800 ms | 0.400 ms | 0.50 | 0.50 | 300 |"
    )
    assert table[5] == "| SdA | SdA fine-tuning | Theano 1.0.5 |  | 4.000 ms | 4.000 ms |  |  | 300 |"
    assert (
        table[6]
        == "| SdA | pretraining: 3 layers, 15 epochs of 50 000 steps each | 2,250,000 | 25.0 min | 585 min | 0.043 |"
    )
    assert "- **SdA fine-tuning**: SGD step of the whole network, batch 1\n" in text
    assert (
        "over at most 300 calls (fewer once 10 s had gone), after one untimed call, every runner on 1 thread." in text
    )
    assert "Published times: SdA, on an Intel Xeon E5430 at 2.66 GHz, single-threaded GotoBLAS" in text


def test_render_puts_several_records_on_one_page_in_their_order(record, steps_record, tmp_path):
    first, second, page = tmp_path / "epochs.json", tmp_path / "steps.json", tmp_path / "speed.md"
    results.write(str(first), record)
    results.write(str(second), steps_record)
    render.main([str(first), str(second), str(page)])
    text = page.read_text()
    assert f"`python -m benchmarks render {first} {second} {page}`" in text
    assert text.index("## Epochs of the first chapters") < text.index("## Training steps of the later chapters")
    assert "| mlp | NUMPY (default) |" in text and "| SdA | SdA fine-tuning | NUMPY (default) |" in text


def test_a_step_is_timed_after_one_untimed_call_until_its_calls_or_its_budget_run_out():
    from benchmarks.chapter_steps import MIN_CALLS, time_calls

    seen = []
    figures = time_calls(seen.append, calls=10, budget_s=0.0)  # the budget is gone at once: the fewest calls
    assert seen == list(range(MIN_CALLS + 1)) and figures["calls"] == MIN_CALLS
    assert figures["s"] >= 0 and figures["cpu_s"] >= 0
    seen.clear()
    assert time_calls(seen.append, calls=8, budget_s=60.0)["calls"] == 8 and seen == list(range(9))
