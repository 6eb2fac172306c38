"""LeNet-5 as published: the network of LeCun, Bottou, Bengio and Haffner (1998).

`convolutional_mlp` trains the Theano tutorial's simplified LeNet.  This
package builds the network of the paper itself, layer by layer:

    32x32 image -> C1: 6 maps of 28x28, 5x5 convolutions
                -> S2: 6 maps of 14x14, trainable 2x2 subsampling
                -> C3: 16 maps of 10x10, 5x5 convolutions of chosen S2 maps
                -> S4: 16 maps of 5x5, trainable 2x2 subsampling
                -> C5: 120 maps of 1x1, 5x5 convolutions of all S4 maps
                -> F6: 84 units, fully connected
                -> 10 RBF units: squared distance to a fixed +-1 bitmap per digit

Every hidden unit squashes its weighted sum with the paper's scaled tanh,
``f(a) = A tanh(S a)`` with A = 1.7159 and S = 2/3, so that f(1) = 1 and
f(-1) = -1.  A subsampling unit adds the four inputs of its 2x2 window,
multiplies the sum by a trainable coefficient, adds a trainable bias (one of
each per map) and squashes.  C3 is a convolution whose kernels are
multiplied by a 0/1 mask: the weights of an unconnected (C3 map, S2 map)
pair are zero and, since their gradient is multiplied by the same mask,
stay zero.  The output layer computes, for each digit, the squared
Euclidean distance between F6's 84 outputs and that digit's prototype, a
7x12 bitmap of +-1 drawn by hand (`prototypes.PROTOTYPES`); the smallest
distance wins.

The loss is the paper's: the penalty of the correct class plus a
competitive term that pushes the other penalties up,

    y_D + log(exp(-j) + sum_i exp(-y_i)),

and training is the paper's stochastic diagonal Levenberg-Marquardt
method: each parameter k takes steps of ``eps / (mu + h_kk)``, where h_kk
is an estimate of the loss's second derivative with respect to it,
re-estimated on 500 training images before each pass (see
`model.LeNet5.hessian_diagonal`), and eps follows a fixed schedule over the
passes.  ``--variant keras|pytorch|tensorflow`` trains instead the small
LeNets of three widely read articles, with their optimisers, for comparison.

The modules: `prototypes` (the bitmaps and C3's table), `layers`, `model`
(the networks and their layer table), `optimizers` (updates and the
schedule), `rewrites` (the compilation mode), `training` (`train_lenet5`)
and `plots`.  Run it as ``python -m deeplearning_tutorial.lenet5`` on the
shared command line (``--help``); ``python -m deeplearning_tutorial.demos
lenet5-summary`` prints the layer table without training, and ``demos
prototypes`` draws the prototypes.  docs/lenet5.md has the results.
"""

import argparse

import numpy

from deeplearning_tutorial import checks
from deeplearning_tutorial.lenet5.layers import (
    ConvLayer,
    FullLayer,
    MaxPoolLayer,
    RBFOutput,
    SoftmaxOutput,
    SubsamplingLayer,
    init_values,
    squash,
    squash_slope,
)
from deeplearning_tutorial.lenet5.model import VARIANT_SETTINGS, ArticleNet, LeNet5, format_summary, summary_rows
from deeplearning_tutorial.lenet5.optimizers import (
    DEFAULT_RATES,
    DEFAULT_SCHEDULE,
    OPTIMIZERS,
    PAPER_SCHEDULE,
    parse_schedule,
    rate_for_epoch,
)
from deeplearning_tutorial.lenet5.prototypes import PROTOTYPES, c3_connections, prototype_bitmaps
from deeplearning_tutorial.lenet5.rewrites import compile_mode
from deeplearning_tutorial.lenet5.training import LENET5_SETTINGS, resolve, train_lenet5

__all__ = [
    "ArticleNet",
    "ConvLayer",
    "DEFAULT_RATES",
    "DEFAULT_SCHEDULE",
    "FLAGS",
    "FullLayer",
    "LENET5_SETTINGS",
    "LeNet5",
    "MaxPoolLayer",
    "OPTIMIZERS",
    "PAPER_SCHEDULE",
    "PROTOTYPES",
    "RBFOutput",
    "SoftmaxOutput",
    "SubsamplingLayer",
    "VARIANT_SETTINGS",
    "build_classifier",
    "c3_connections",
    "compile_mode",
    "format_summary",
    "init_values",
    "parse_schedule",
    "prototype_bitmaps",
    "rate_for_epoch",
    "resolve",
    "squash",
    "squash_slope",
    "summary_rows",
    "train_lenet5",
    "write_plots",
]


# -- the command line's flags for the parameters of train_lenet5 ------------------


def checked(convert, check, name):
    """An argparse type: ``convert`` the text, then ``check(name, value)`` (a `checks` validator).

    A text that does not convert is handed to the validator as it is, so
    that both failures give the validator's one-line message.
    """

    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            value = text
        try:
            check(name, value)
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e)) from None
        return value

    return parse


def schedule(text):
    """An argparse type: a learning rate or a schedule, kept as the text `train_lenet5` takes."""
    try:
        parse_schedule(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


#: Parameter of `train_lenet5` -> (flag, argparse options, help), for the shared
#: command line.  ``learning_rate``, ``n_epochs`` and ``batch_size`` replace the
#: shared flags of the same names: a schedule is not a number, and unset (None) means
#: LeNet-5's or the variant's own setting.
FLAGS = {
    "learning_rate": (
        "--learning-rate",
        {"type": schedule, "metavar": "SCHEDULE"},
        f"a rate, or a schedule RATE:PASSES,...,RATE (the paper's is {PAPER_SCHEDULE}); "
        f"None: the optimizer's default (sdlm {DEFAULT_SCHEDULE}, sgd 0.01, adam 0.001) or the variant's",
    ),
    "n_epochs": (
        "--n-epochs",
        {"type": checked(int, checks.positive_int, "n_epochs"), "metavar": "N"},
        "passes over the training set; unset, 20 or the variant's own",
    ),
    "batch_size": (
        "--batch-size",
        {"type": checked(int, checks.positive_int, "batch_size"), "metavar": "N"},
        "examples per minibatch; unset, 5 or the variant's own",
    ),
    "optimizer": (
        "--optimizer",
        {"choices": OPTIMIZERS},
        "sdlm (the paper's), sgd or adam; unset, sdlm or the variant's own",
    ),
    "variant": (
        "--variant",
        {"choices": ArticleNet.VARIANTS},
        "train an article's LeNet instead of LeNet-5: keras, pytorch or tensorflow",
    ),
    "train_on_all": (
        "--train-on-all",
        {"action": "store_true"},
        "the paper's protocol: train on the 60 000 training + validation images, test after every pass",
    ),
    "mu": (
        "--mu",
        {"type": checked(float, checks.positive_number, "mu"), "metavar": "MU"},
        "SDLM's safety term, added to each second derivative",
    ),
    "hessian_examples": (
        "--hessian-examples",
        {"type": checked(int, checks.positive_int, "hessian_examples"), "metavar": "N"},
        "images for each second-derivative estimate (SDLM)",
    ),
    "j": (
        "--j",
        {"type": checked(float, checks.non_negative, "j"), "metavar": "J"},
        "the constant of the loss's competitive term",
    ),
    "max_minibatches": (
        "--max-minibatches",
        {"type": checked(int, checks.positive_int, "max_minibatches"), "metavar": "N"},
        "stop after this many minibatches (for quick checks); unset, no limit",
    ),
}


def build_classifier(x, arguments):
    """The network of a run with ``arguments`` (as given to `train_lenet5`) on input ``x``.

    Returns ``(model, params)``: the model has ``y_pred`` and ``errors(y)``,
    and ``params`` are its parameters in the order of the run's training
    updates (the first ``len(params)`` of them; Adam's state follows).
    The initial weights are drawn as in the run, to be replaced by saved ones.
    """
    arguments = resolve(arguments)
    rng = numpy.random.RandomState(arguments.get("seed", 23455))
    variant = arguments.get("variant")
    model = LeNet5(rng, x, j=arguments.get("j", 1.0)) if variant is None else ArticleNet(rng, x, variant)
    return model, model.params


def write_plots(folder, rows, params):
    """LeNet-5's pictures (`plots.write_plots`); imports matplotlib only when called."""
    from deeplearning_tutorial.lenet5 import plots

    return plots.write_plots(folder, rows, params)
