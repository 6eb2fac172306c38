"""Training LeNet-5 (or an article's variant) on MNIST: `train_lenet5`.

Its loop is the tutorials' early-stopping loop, extended with what the
paper's training needs: a learning rate per pass, SDLM's second-derivative
estimate before each pass, and the paper's protocol (``train_on_all``),
which trains on the training and validation images and tests after every
pass instead of stopping early.
"""

import os
import sys
import timeit

import numpy
import pytensor
import pytensor.tensor as T

from deeplearning_tutorial import checks, runs
from deeplearning_tutorial.data import load_data
from deeplearning_tutorial.lenet5.layers import shared
from deeplearning_tutorial.lenet5.model import VARIANT_SETTINGS, ArticleNet, LeNet5, format_summary, summary_rows
from deeplearning_tutorial.lenet5.optimizers import DEFAULT_RATES, OPTIMIZERS, parse_schedule, rate_for_epoch, updates
from deeplearning_tutorial.lenet5.rewrites import compile_mode

#: LeNet-5's own settings, used where an argument is None and no variant is chosen.
LENET5_SETTINGS = dict(optimizer="sdlm", learning_rate=None, batch_size=5, n_epochs=20)

#: Examples per evaluation minibatch: evaluation has no updates, so it can take larger batches.
EVAL_SIZE = 1000


def resolve(arguments):
    """``arguments`` of `train_lenet5` with each None setting replaced by the one a run uses.

    ``n_epochs``, ``batch_size``, ``optimizer`` and ``learning_rate`` default
    to the chosen variant's own settings (`model.VARIANT_SETTINGS`), or
    LeNet-5's (`LENET5_SETTINGS`); a learning rate left None is then the
    optimiser's default (`optimizers.DEFAULT_RATES`).  An unknown variant or
    optimiser raises ValueError.
    """
    variant = arguments.get("variant")
    if variant is not None and variant not in ArticleNet.VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; choose one of {', '.join(ArticleNet.VARIANTS)}")
    resolved = dict(arguments)
    own = VARIANT_SETTINGS[variant] if variant is not None else LENET5_SETTINGS
    for key, value in own.items():
        if resolved.get(key) is None:
            resolved[key] = value
    if resolved["optimizer"] not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {resolved['optimizer']!r}; choose one of {', '.join(OPTIMIZERS)}")
    if resolved["learning_rate"] is None:
        resolved["learning_rate"] = DEFAULT_RATES[resolved["optimizer"]]
    return resolved


def join_splits(a, b):
    """One shared split from two (training + validation, for ``train_on_all``)."""
    (ax, ay), (bx, by) = a, b
    x = numpy.concatenate([ax.get_value(borrow=True), bx.get_value(borrow=True)])
    # The labels are int32 casts of shared float vectors (see data.load_data);
    # join the stored values, so that a minibatch does not join them again.
    y = numpy.concatenate([ay.owner.inputs[0].get_value(borrow=True), by.owner.inputs[0].get_value(borrow=True)])
    return pytensor.shared(x, borrow=True), T.cast(pytensor.shared(y, borrow=True), "int32")


def check_images(datasets):
    """Raise ValueError unless every split holds flattened 28x28 images."""
    for split, (x, _) in zip(("training", "validation", "test"), datasets):
        shape = x.get_value(borrow=True).shape
        if len(shape) != 2 or shape[1] != 28 * 28:
            raise ValueError(
                f"the {split} set holds rows of {shape[1:] if len(shape) != 2 else shape[1]} values, "
                "not 28x28 = 784 pixel images; give an MNIST-format dataset"
            )


def train_lenet5(
    learning_rate=None,
    n_epochs=None,
    dataset="mnist.pkl.gz",
    batch_size=None,
    seed=23455,
    optimizer=None,
    variant=None,
    train_on_all=False,
    mu=0.02,
    hessian_examples=500,
    j=1.0,
    max_minibatches=None,
):
    """Train LeNet-5 (or an article's variant) on MNIST and print the tutorial's log.

    Every function is compiled through the current run's ``function`` and
    every line printed through its ``print`` (`runs.current`).

    :param learning_rate: a rate, or a schedule ``"RATE:PASSES,...,RATE"``;
        None for the optimizer's default (`optimizers.DEFAULT_RATES`)
    :param n_epochs: number of passes over the training set; None for 20,
        or the variant's own
    :param batch_size: examples per minibatch; None for 5, or the
        variant's own.  The paper updates after every example; LeNet-5
        updates after a few, with the *sum* of their gradients under SDLM,
        which is the first-order equivalent of the paper's updates at a
        fraction of the calls
    :param optimizer: ``sdlm`` (the paper's), ``sgd`` or ``adam``; None for
        sdlm, or the variant's own
    :param variant: None for LeNet-5, or ``keras``, ``pytorch``, ``tensorflow``
    :param train_on_all: train on training + validation images (60 000), as
        the paper did, and report the test error after every pass instead
        of early stopping on the validation set
    :param mu: SDLM's safety term added to each second derivative
    :param hessian_examples: images for each second-derivative estimate
    :param j: the constant of the loss's competitive term
    :param max_minibatches: stop after this many minibatches (for quick checks)
    :returns: dict with the best validation error, test error, the training
        costs of each minibatch, the per-epoch errors, the seconds taken,
        the passes made and the model
    """
    settings = resolve(
        dict(
            variant=variant, n_epochs=n_epochs, batch_size=batch_size, optimizer=optimizer, learning_rate=learning_rate
        )
    )
    n_epochs, batch_size = settings["n_epochs"], settings["batch_size"]
    optimizer, learning_rate = settings["optimizer"], settings["learning_rate"]
    checks.positive_int("n_epochs", n_epochs)
    checks.positive_int("batch_size", batch_size)
    checks.positive_int("hessian_examples", hessian_examples)
    schedule = parse_schedule(learning_rate)
    if optimizer == "sdlm" and variant is not None:
        raise ValueError("SDLM needs LeNet-5's second-derivative estimate; the variants train with sgd or adam")

    run = runs.current()
    rng = numpy.random.RandomState(seed)

    datasets = load_data(dataset)
    check_images(datasets)
    if train_on_all:
        datasets = [join_splits(datasets[0], datasets[1]), datasets[1], datasets[2]]
    checks.batch_fits(batch_size, datasets)

    train_set_x, train_set_y = datasets[0]
    valid_set_x, valid_set_y = datasets[1]
    test_set_x, test_set_y = datasets[2]

    n_train = train_set_x.get_value(borrow=True).shape[0]
    n_train_batches = n_train // batch_size
    n_valid_batches = -(-valid_set_x.get_value(borrow=True).shape[0] // EVAL_SIZE)
    n_test_batches = -(-test_set_x.get_value(borrow=True).shape[0] // EVAL_SIZE)

    index = T.lscalar()
    x = T.matrix("x")
    y = T.ivector("y")

    run.print("... building the model")
    model = LeNet5(rng, x, j=j) if variant is None else ArticleNet(rng, x, variant)
    run.print(format_summary(summary_rows(model)))

    dtype = pytensor.config.floatX
    rate = pytensor.shared(numpy.asarray(schedule[0][0], dtype=dtype), name="learning_rate")
    cost = model.cost(y)
    hessians = None
    if optimizer == "sdlm":
        # The paper's step for one example, summed over the minibatch.
        grads = pytensor.grad(T.sum(model.losses(y)), model.params)
        hessians = [shared(numpy.zeros_like(p.get_value(borrow=True)), p.name + ".h") for p in model.params]
    else:
        grads = pytensor.grad(cost, model.params)
    step_updates = updates(optimizer, model.params, grads, rate, hessians, mu)

    def split_model(set_x, set_y):
        return run.function(
            [index],
            model.errors(y),
            givens={
                x: set_x[index * EVAL_SIZE : (index + 1) * EVAL_SIZE],
                y: set_y[index * EVAL_SIZE : (index + 1) * EVAL_SIZE],
            },
            mode=compile_mode(),
        )

    test_model = split_model(test_set_x, test_set_y)
    validate_model = split_model(valid_set_x, valid_set_y)

    def mean_error(fn, n_batches, set_x):
        # Weighted by batch length: the last batch may be short.
        n = set_x.get_value(borrow=True).shape[0]
        return sum(fn(i) * min(EVAL_SIZE, n - i * EVAL_SIZE) for i in range(n_batches)) / n

    train_model = run.function(
        [index],
        cost,
        updates=step_updates,
        givens={
            x: train_set_x[index * batch_size : (index + 1) * batch_size],
            y: train_set_y[index * batch_size : (index + 1) * batch_size],
        },
        mode=compile_mode(),
    )

    if optimizer == "sdlm":
        start = T.lscalar()
        estimate = model.hessian_diagonal(hessian_examples)
        estimate_hessian = run.function(
            [start],
            [],
            # (C1's estimate knows that its kernels have one input map, the
            # shared variable does not: reshaping forgets the static size.)
            updates=[(h, e.reshape(h.shape)) for h, e in zip(hessians, estimate)],
            givens={x: train_set_x[start : start + hessian_examples]},
            mode=compile_mode(),
        )
        h_rng = numpy.random.RandomState(seed + 1)

    def begin_pass(epoch):
        """Set the pass's learning rate and, under SDLM, its second derivatives."""
        rate.set_value(numpy.asarray(rate_for_epoch(schedule, epoch), dtype=dtype))
        if optimizer == "sdlm":
            # Fresh second derivatives from a random window of examples.
            estimate_hessian(h_rng.randint(0, n_train - hessian_examples + 1))

    run.print("... training")
    # Early stopping, as in the other tutorials; with train_on_all there is
    # no validation set, so every pass runs and is tested.
    patience = 10000
    patience_increase = 2
    improvement_threshold = 0.995
    validation_frequency = min(n_train_batches, patience // 2)

    best_validation_loss = numpy.inf
    best_iter = 0
    test_score = 0.0
    costs, history = [], []
    start_time = timeit.default_timer()

    epoch = 0
    done_looping = False

    while (epoch < n_epochs) and (not done_looping):
        epoch = epoch + 1
        begin_pass(epoch)
        for minibatch_index in range(n_train_batches):
            iter = (epoch - 1) * n_train_batches + minibatch_index

            cost_ij = train_model(minibatch_index)
            if iter % 1000 == 0:
                # The tutorial's progress line, with the minibatch's mean loss.
                run.print("training @ iter = ", iter, ", cost %f" % cost_ij)
            costs.append(float(cost_ij))
            if not numpy.isfinite(cost_ij):
                raise FloatingPointError(
                    f"the training cost became {cost_ij} at iteration {iter}; lower the learning rate"
                )

            if max_minibatches is not None and iter + 1 >= max_minibatches:
                done_looping = True
                break

            if train_on_all:
                continue
            if (iter + 1) % validation_frequency == 0:
                this_validation_loss = mean_error(validate_model, n_valid_batches, valid_set_x)
                run.print(
                    "epoch %i, minibatch %i/%i, validation error %f %%"
                    % (epoch, minibatch_index + 1, n_train_batches, this_validation_loss * 100.0)
                )
                history.append((epoch, this_validation_loss, None))

                if this_validation_loss < best_validation_loss:
                    if this_validation_loss < best_validation_loss * improvement_threshold:
                        patience = max(patience, iter * patience_increase)
                    best_validation_loss = this_validation_loss
                    best_iter = iter

                    test_score = mean_error(test_model, n_test_batches, test_set_x)
                    history[-1] = (epoch, this_validation_loss, test_score)
                    run.print(
                        "     epoch %i, minibatch %i/%i, test error of best model %f %%"
                        % (epoch, minibatch_index + 1, n_train_batches, test_score * 100.0)
                    )

            if patience <= iter:
                done_looping = True
                break

        if train_on_all:
            test_score = mean_error(test_model, n_test_batches, test_set_x)
            history.append((epoch, None, test_score))
            run.print("epoch %i, learning rate %g, test error %f %%" % (epoch, rate.get_value(), test_score * 100.0))

    end_time = timeit.default_timer()
    run.print("Optimization complete.")
    if train_on_all:
        run.print("Test error after %i passes over %i examples: %f %%" % (epoch, n_train, test_score * 100.0))
    else:
        run.print(
            "Best validation score of %f %% obtained at iteration %i, with test performance %f %%"
            % (best_validation_loss * 100.0, best_iter + 1, test_score * 100.0)
        )
    seconds = end_time - start_time
    run.print(
        "The code for file lenet5/" + os.path.split(__file__)[1] + " ran for %.2fm" % (seconds / 60.0),
        file=sys.stderr,
    )
    return dict(
        best_validation_loss=best_validation_loss,
        test_score=test_score,
        costs=costs,
        history=history,
        seconds=seconds,
        epochs=epoch,
        model=model,
    )
