"""The tutorials of this package: one list that tests, benchmarks and the command line read.

Each entry names a tutorial module and its training function, as in the
historical code (``logistic_sgd.sgd_optimization_mnist`` and so on).
"""

import importlib
import inspect

#: Tutorial module -> its training function, in the order of the tutorial text.
TUTORIALS = {
    "logistic_sgd": "sgd_optimization_mnist",
    "logistic_cg": "cg_optimization_mnist",
    "mlp": "test_mlp",
    "convolutional_mlp": "evaluate_lenet5",
    "lenet5": "train_lenet5",
    "dA": "test_dA",
    "cA": "test_cA",
    "SdA": "test_SdA",
    "rbm": "test_rbm",
    "DBN": "test_DBN",
    "hmc": "test_hmc",
}

#: Examples in MNIST's training split.
N_TRAIN = 50000


def chapter_module(name):
    """The module (or package) of chapter ``name``: where its training function, ``FLAGS`` and hooks are."""
    return importlib.import_module(f"deeplearning_tutorial.{name}")


def training_function(name):
    """The training function of tutorial ``name`` (imports its module)."""
    return getattr(chapter_module(name), TUTORIALS[name])


def defaults(name):
    """The historical default arguments of tutorial ``name``'s training function."""
    signature = inspect.signature(training_function(name))
    return {key: p.default for key, p in signature.parameters.items() if p.default is not inspect.Parameter.empty}


def settings(name, kwargs):
    """The arguments a run of ``name`` uses: ``kwargs``, with what a None stands for where the chapter says.

    A chapter whose defaults depend on other arguments (lenet5's variants)
    has a ``resolve(kwargs)`` that fills them in.
    """
    resolve = getattr(chapter_module(name), "resolve", None)
    return resolve(kwargs) if resolve is not None else kwargs


def n_train_batches(name):
    """Training minibatches in one epoch of tutorial ``name`` at its default batch size."""
    return N_TRAIN // settings(name, defaults(name))["batch_size"]
