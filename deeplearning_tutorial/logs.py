"""What a tutorial prints: the grammar of its log, and the historical code's golden logs.

The printed log has been the tutorials' interface since the first version
of the historical code: people read it, compare it and paste it into
papers.  The command line keeps it that way and reads its results from the
lines a chapter prints (through `deeplearning_tutorial.runs.Run.print`),
so this module is the one place that knows what those lines look like.
`parse` turns one line into a `Line`: its kind and the numbers in it.
``--history``, the best model of ``--save-model`` and ``compare`` all read
lines through it, and the tests run it over every line of every shipped
golden log: a line that no rule knows is a test failure, not a silent gap
in a history file.

The golden logs are the stdout and stderr of the historical Theano code
(Theano 1.0.5; ``tests/legacy/README.md`` says how each was made), shipped
in ``legacy/``.  Only the lines that report elapsed time differ between two
runs of the same code.
"""

import re
from dataclasses import dataclass, field
from importlib import resources

_INT = r"(\d+)"
_FLOAT = r"(-?\d+\.\d+)"
_ANY_NUMBER = r"(\S+)"

#: kind -> (regular expression, names of its groups).  The order matters
#: only where two rules could match one line; none can today.
RULES = {
    # The early-stopping loop of logistic_sgd, mlp, convolutional_mlp, lenet5.
    "validation": (
        rf"epoch {_INT}, minibatch {_INT}/{_INT}, validation error {_FLOAT} %",
        ("epoch", "minibatch", "n_batches", "error"),
    ),
    "test": (
        rf"\s+epoch {_INT}, minibatch {_INT}/{_INT}, test error of best model {_FLOAT} %",
        ("epoch", "minibatch", "n_batches", "error"),
    ),
    "progress": (rf"training @ iter =\s+{_INT}(?: , cost {_FLOAT})?", ("iter", "cost")),
    # logistic_cg: one validation after each conjugate gradient iteration
    # (history.py numbers them as epochs, which is what n_epochs counts).
    "iteration_validation": (rf"validation error {_FLOAT} %", ("error",)),
    # LeNet-5 trained on all 60 000 images: one test error an epoch.
    "epoch_test": (
        rf"epoch {_INT}, learning rate {_ANY_NUMBER}, test error {_FLOAT} %",
        ("epoch", "learning_rate", "error"),
    ),
    # The last result lines, one wording per historical module.
    "summary": (
        rf"(?:Optimization complete\. )?Best validation score of {_FLOAT} % obtained at iteration {_INT}, "
        rf"with test performance {_FLOAT} %",
        ("validation_error", "iteration", "test_error"),
    ),
    "summary_logistic": (
        # logistic_sgd wrote no space after the comma, logistic_cg one.
        rf"Optimization complete with best validation score of {_FLOAT} %, ?with test performance {_FLOAT} %",
        ("validation_error", "test_error"),
    ),
    # SdA wrote "on iteration", DBN "obtained at iteration".
    "summary_finetune": (
        rf"Optimization complete with best validation score of {_FLOAT} %, (?:on|obtained at) iteration {_INT}, "
        rf"with test performance {_FLOAT} %",
        ("validation_error", "iteration", "test_error"),
    ),
    # The autoencoders and the RBM: a mean cost per epoch, printed at full
    # precision; SdA and DBN the same for each layer's pretraining.
    "epoch_cost": (rf"Training epoch {_INT}, cost(?: is)? +{_ANY_NUMBER}", ("epoch", "cost")),
    "epoch_contraction": (
        rf"Training epoch {_INT}, reconstruction cost +{_ANY_NUMBER} +jacobian norm +{_ANY_NUMBER}",
        ("epoch", "cost", "jacobian_norm"),
    ),
    "pretraining_cost": (
        rf"Pre-training layer {_INT}, epoch {_INT}, cost +{_ANY_NUMBER}",
        ("layer", "epoch", "cost"),
    ),
    "summary_all": (
        rf"Test error after {_INT} passes over {_INT} examples: {_FLOAT} %",
        ("epochs", "examples", "test_error"),
    ),
    # Elapsed time: the only lines that differ between two identical runs.
    "timing": (
        r"The code run for \d+ epochs, with \S+ epochs/sec|The (?:[\w%]+ )*?code for file \S+ ran for \S+"
        r"|Training took \S+ minutes",
        (),
    ),
    # Lines that say what the program is doing.
    "stage": (r" ?\.\.\. .+|Optimization complete\.|Optimizing using \S+\.\.\.", ()),
    # LeNet-5's table of layers (lenet5.model.format_summary).
    "layer_table": (r"layer +output +parameters +connections|\w+ +(?:\d+(?:x\d+)* +)?[\d ]*\d", ()),
}

_COMPILED = {kind: (re.compile(pattern + r"\Z"), names) for kind, (pattern, names) in RULES.items()}


@dataclass
class Line:
    """One printed line: its ``kind`` (a key of `RULES`, or ``None`` when no rule knows it) and its numbers."""

    text: str
    kind: str | None = None
    values: dict = field(default_factory=dict)


def _number(text):
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        return float(text)


def parse(text):
    """The `Line` of one printed line (without its newline)."""
    for kind, (pattern, names) in _COMPILED.items():
        match = pattern.match(text)
        if match:
            return Line(text, kind, {name: _number(value) for name, value in zip(names, match.groups())})
    return Line(text)


def is_timing(text):
    return parse(text).kind == "timing"


def result_lines(text):
    """The lines of a tutorial log that are results, i.e. all but timings."""
    return [line for line in text.splitlines() if not is_timing(line)]


def _legacy_dir():
    return resources.files("deeplearning_tutorial") / "legacy"


def golden_names():
    """Names of the shipped golden logs, such as ``mlp.n_epochs1.float64.log``."""
    return sorted(entry.name for entry in _legacy_dir().iterdir() if entry.name.endswith(".log"))


def golden_text(name):
    """The full text of a shipped golden log; KeyError if there is none of that name."""
    if name not in golden_names():
        raise KeyError(f"no golden log named {name!r}; `python -m deeplearning_tutorial.compare --list` names them")
    return (_legacy_dir() / name).read_text()
