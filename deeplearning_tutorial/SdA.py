"""Stacked denoising autoencoders (SdA) on MNIST.

A deep network of sigmoid layers is trained in two phases.  First each
layer in turn, from the bottom up, is trained without labels as the
hidden layer of a denoising autoencoder (`deeplearning_tutorial.dA`): the
autoencoder reads the output of the layers below it, corrupts it (a
random fraction of its values set to 0, a larger fraction higher up), and
learns to reconstruct the clean values.  The layer and its autoencoder
share their weights and hidden biases, so this *pretraining* leaves the
network with weights that already encode the input.  Then a logistic
regression layer is put on top and the whole network is *fine-tuned* as
a multilayer perceptron, with labels, by minibatch gradient descent and
the early stopping of the earlier chapters.

The corruption masks come from one MRG31k3p random stream
(`deeplearning_tutorial.ops.rng_mrg`) seeded from the model's NumPy
generator, handed out to the layers in the order they are built, so they
are the historical code's masks bit for bit.

Ported from the Theano "Deep Learning Tutorials" with the historical names,
defaults, seeds, construction order, loops and printed lines.  Run it as
``python -m deeplearning_tutorial.SdA``.

References: P. Vincent, H. Larochelle, Y. Bengio, P.-A. Manzagol,
"Extracting and Composing Robust Features with Denoising Autoencoders",
ICML 2008; Y. Bengio, P. Lamblin, D. Popovici, H. Larochelle, "Greedy
Layer-Wise Training of Deep Networks", NIPS 2006.
"""

import functools
import os
import sys
import timeit

if __name__ == "__main__" and not __package__:
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy
import pytensor.tensor as T

from deeplearning_tutorial import checks, cli, runs
from deeplearning_tutorial.dA import dA
from deeplearning_tutorial.data import load_data
from deeplearning_tutorial.logistic_sgd import LogisticRegression
from deeplearning_tutorial.mlp import HiddenLayer
from deeplearning_tutorial.modes import tutorial_mode
from deeplearning_tutorial.ops.rng_mrg import MRG_RandomStreams as RandomStreams


class SdA:
    """A stack of sigmoid layers, each pretrained as a denoising autoencoder, under a logistic regression layer.

    Layer ``i`` reads the output of layer ``i - 1`` (the first reads the
    input).  Beside each layer stands a `dA` built on the same input and
    sharing the layer's ``W`` and ``b``; only its visible bias is its own.
    ``params`` holds the layers' and the output layer's parameters: those
    that fine-tuning trains (the autoencoders' visible biases are not in it).
    """

    def __init__(
        self,
        numpy_rng,
        theano_rng=None,
        n_ins=784,
        hidden_layers_sizes=[500, 500],
        n_outs=10,
        corruption_levels=[0.1, 0.1],
    ):
        """
        :param numpy_rng: numpy.random.RandomState drawing the initial weights
        :param theano_rng: MRG random streams for the corruption; when None,
            one seeded by ``numpy_rng.randint(2 ** 30)`` (drawn before any weight)
        :param n_ins: size of one input example
        :param hidden_layers_sizes: units of each hidden layer, bottom first (at least one)
        :param n_outs: number of classes
        :param corruption_levels: one level per layer; kept in the signature
            as the historical class has it, which does not use it either: the
            levels are given to the pretraining functions at each call
        """
        self.sigmoid_layers = []
        self.dA_layers = []
        self.params = []
        self.n_layers = len(hidden_layers_sizes)

        if self.n_layers < 1:
            raise ValueError("hidden_layers_sizes must name at least one hidden layer, got an empty list")
        for size in hidden_layers_sizes:
            checks.positive_int("each of hidden_layers_sizes", size)

        if not theano_rng:
            theano_rng = RandomStreams(numpy_rng.randint(2**30))
        self.x = T.matrix("x")  # images, one flattened image per row
        self.y = T.ivector("y")  # their labels

        # Each sigmoid layer and its autoencoder are built together, bottom
        # up, so the weights are drawn in the historical order.
        for i in range(self.n_layers):
            input_size = n_ins if i == 0 else hidden_layers_sizes[i - 1]
            layer_input = self.x if i == 0 else self.sigmoid_layers[-1].output

            sigmoid_layer = HiddenLayer(
                rng=numpy_rng,
                input=layer_input,
                n_in=input_size,
                n_out=hidden_layers_sizes[i],
                activation=T.sigmoid,
            )
            self.sigmoid_layers.append(sigmoid_layer)
            self.params.extend(sigmoid_layer.params)

            # The autoencoder trains the layer's own weights and hidden biases.
            dA_layer = dA(
                numpy_rng=numpy_rng,
                theano_rng=theano_rng,
                input=layer_input,
                n_visible=input_size,
                n_hidden=hidden_layers_sizes[i],
                W=sigmoid_layer.W,
                bhid=sigmoid_layer.b,
            )
            self.dA_layers.append(dA_layer)

        self.logLayer = LogisticRegression(
            input=self.sigmoid_layers[-1].output, n_in=hidden_layers_sizes[-1], n_out=n_outs
        )
        self.params.extend(self.logLayer.params)

        # Fine-tuning minimises the negative log-likelihood of the labels.
        self.finetune_cost = self.logLayer.negative_log_likelihood(self.y)
        self.errors = self.logLayer.errors(self.y)

    def pretraining_functions(self, train_set_x, batch_size):
        """One compiled training step per layer's autoencoder, bottom layer first.

        Each is called with the minibatch index and, by name, the corruption
        level (``corruption``, default 0.2) and learning rate (``lr``,
        default 0.1).  The corruption draws are built here, one per layer in
        this order, which fixes the substreams each layer gets.

        :param train_set_x: shared variable holding the training images
        :param batch_size: examples per minibatch
        """
        run = runs.current()
        index = T.lscalar("index")  # which minibatch
        corruption_level = T.scalar("corruption")  # fraction of the inputs set to 0
        learning_rate = T.scalar("lr")
        batch_begin = index * batch_size
        batch_end = batch_begin + batch_size

        pretrain_fns = []
        for dA_layer in self.dA_layers:
            cost, updates = dA_layer.get_cost_updates(corruption_level, learning_rate)
            fn = run.function(
                inputs=[index, corruption_level, learning_rate],
                outputs=cost,
                updates=updates,
                givens={self.x: train_set_x[batch_begin:batch_end]},
                mode=tutorial_mode(),
            )
            # PyTensor inputs take no default values (Theano's In(value=...)),
            # so the defaults are bound here; a call may still name both.
            fn = functools.partial(fn, corruption=0.2, lr=0.1)
            pretrain_fns.append(fn)

        return pretrain_fns

    def build_finetune_functions(self, datasets, batch_size, learning_rate):
        """The fine-tuning step, and the validation and test passes.

        Returns ``(train_fn, valid_score, test_score)``: ``train_fn(index)``
        takes one gradient step on training minibatch ``index`` and returns
        its cost; ``valid_score()`` and ``test_score()`` return the error
        rate of every minibatch of the validation and test sets.

        :param datasets: the ``(x, y)`` shared pairs of the training, validation and test sets
        :param batch_size: examples per minibatch
        :param learning_rate: step size of the gradient descent
        """
        run = runs.current()
        (train_set_x, train_set_y) = datasets[0]
        (valid_set_x, valid_set_y) = datasets[1]
        (test_set_x, test_set_y) = datasets[2]

        n_valid_batches = valid_set_x.get_value(borrow=True).shape[0]
        n_valid_batches //= batch_size
        n_test_batches = test_set_x.get_value(borrow=True).shape[0]
        n_test_batches //= batch_size

        index = T.lscalar("index")  # which minibatch

        gparams = T.grad(self.finetune_cost, self.params)
        updates = [(param, param - gparam * learning_rate) for param, gparam in zip(self.params, gparams)]

        train_fn = run.function(
            inputs=[index],
            outputs=self.finetune_cost,
            updates=updates,
            givens={
                self.x: train_set_x[index * batch_size : (index + 1) * batch_size],
                self.y: train_set_y[index * batch_size : (index + 1) * batch_size],
            },
            name="train",
            mode=tutorial_mode(),
        )

        test_score_i = run.function(
            [index],
            self.errors,
            givens={
                self.x: test_set_x[index * batch_size : (index + 1) * batch_size],
                self.y: test_set_y[index * batch_size : (index + 1) * batch_size],
            },
            name="test",
            mode=tutorial_mode(),
        )

        valid_score_i = run.function(
            [index],
            self.errors,
            givens={
                self.x: valid_set_x[index * batch_size : (index + 1) * batch_size],
                self.y: valid_set_y[index * batch_size : (index + 1) * batch_size],
            },
            name="valid",
            mode=tutorial_mode(),
        )

        def valid_score():
            return [valid_score_i(i) for i in range(n_valid_batches)]

        def test_score():
            return [test_score_i(i) for i in range(n_test_batches)]

        return train_fn, valid_score, test_score


#: The hidden layers of test_SdA's network (``predict`` rebuilds it from a saved model).
HIDDEN_LAYERS_SIZES = [1000, 1000, 1000]


def test_SdA(
    finetune_lr=0.1,
    pretraining_epochs=15,
    pretrain_lr=0.001,
    training_epochs=1000,
    dataset="mnist.pkl.gz",
    batch_size=1,
):
    """Pretrain a three-layer SdA (1 000 units a layer) on MNIST, then fine-tune it with early stopping.

    Layers are pretrained one after the other with corruption levels 0.1,
    0.2 and 0.3, for ``pretraining_epochs`` each; fine-tuning validates
    once an epoch.

    :param finetune_lr: step size of the fine-tuning gradient descent
    :param pretraining_epochs: passes over the training set for each layer's pretraining
    :param pretrain_lr: step size of the pretraining gradient descent
    :param training_epochs: largest number of fine-tuning passes over the training set
    :param dataset: the MNIST file (see `load_data`)
    :param batch_size: examples per minibatch, in both phases
    """
    run = runs.current()
    checks.positive_number("finetune_lr", finetune_lr)
    checks.positive_int("pretraining_epochs", pretraining_epochs)
    checks.positive_number("pretrain_lr", pretrain_lr)
    checks.positive_int("training_epochs", training_epochs)
    checks.positive_int("batch_size", batch_size)

    datasets = load_data(dataset)
    checks.batch_fits(batch_size, datasets)

    train_set_x, train_set_y = datasets[0]
    valid_set_x, valid_set_y = datasets[1]
    test_set_x, test_set_y = datasets[2]

    n_train_batches = train_set_x.get_value(borrow=True).shape[0]
    n_train_batches //= batch_size

    numpy_rng = numpy.random.RandomState(89677)
    run.print("... building the model")
    sda = SdA(numpy_rng=numpy_rng, n_ins=28 * 28, hidden_layers_sizes=HIDDEN_LAYERS_SIZES, n_outs=10)

    # -- pretraining, one layer after the other --------------------------------
    run.print("... getting the pretraining functions")
    pretraining_fns = sda.pretraining_functions(train_set_x=train_set_x, batch_size=batch_size)

    run.print("... pre-training the model")
    start_time = timeit.default_timer()
    corruption_levels = [0.1, 0.2, 0.3]
    for i in range(sda.n_layers):
        for epoch in range(pretraining_epochs):
            c = []
            for batch_index in range(n_train_batches):
                c.append(pretraining_fns[i](index=batch_index, corruption=corruption_levels[i], lr=pretrain_lr))
            run.print("Pre-training layer %i, epoch %d, cost %f" % (i, epoch, numpy.mean(c, dtype="float64")))

    end_time = timeit.default_timer()

    run.print(
        "The pretraining code for file "
        + os.path.split(__file__)[1]
        + " ran for %.2fm" % ((end_time - start_time) / 60.0),
        file=sys.stderr,
    )

    # -- fine-tuning: the whole network as an MLP, with early stopping ---------
    run.print("... getting the finetuning functions")
    train_fn, validate_model, test_model = sda.build_finetune_functions(
        datasets=datasets, batch_size=batch_size, learning_rate=finetune_lr
    )

    run.print("... finetunning the model")  # sic: the historical line
    patience = 10 * n_train_batches  # look at this many minibatches at least
    patience_increase = 2.0  # wait this much longer after a new best
    improvement_threshold = 0.995  # a relative improvement of this much is significant
    validation_frequency = min(n_train_batches, patience // 2)  # validate once an epoch

    best_validation_loss = numpy.inf
    test_score = 0.0
    start_time = timeit.default_timer()

    done_looping = False
    epoch = 0

    while (epoch < training_epochs) and (not done_looping):
        epoch = epoch + 1
        for minibatch_index in range(n_train_batches):
            train_fn(minibatch_index)
            iter = (epoch - 1) * n_train_batches + minibatch_index

            if (iter + 1) % validation_frequency == 0:
                validation_losses = validate_model()
                this_validation_loss = numpy.mean(validation_losses, dtype="float64")
                run.print(
                    "epoch %i, minibatch %i/%i, validation error %f %%"
                    % (epoch, minibatch_index + 1, n_train_batches, this_validation_loss * 100.0)
                )

                if this_validation_loss < best_validation_loss:
                    # a large enough improvement extends the patience
                    if this_validation_loss < best_validation_loss * improvement_threshold:
                        patience = max(patience, iter * patience_increase)

                    best_validation_loss = this_validation_loss
                    best_iter = iter

                    test_losses = test_model()
                    test_score = numpy.mean(test_losses, dtype="float64")
                    run.print(
                        "     epoch %i, minibatch %i/%i, test error of best model %f %%"
                        % (epoch, minibatch_index + 1, n_train_batches, test_score * 100.0)
                    )

            if patience <= iter:
                done_looping = True
                break

    end_time = timeit.default_timer()
    run.print(
        "Optimization complete with best validation score of %f %%, on iteration %i, with test performance %f %%"
        % (best_validation_loss * 100.0, best_iter + 1, test_score * 100.0)
    )
    run.print(
        "The training code for file "
        + os.path.split(__file__)[1]
        + " ran for %.2fm" % ((end_time - start_time) / 60.0),
        file=sys.stderr,
    )


#: Flags of test_SdA's own parameters (the others are shared: cli.PARAMETERS).
FLAGS = {
    "finetune_lr": (
        "--finetune-lr",
        {"type": cli._positive_float, "metavar": "RATE"},
        "step size of the fine-tuning gradient descent",
    ),
    "pretraining_epochs": (
        "--pretraining-epochs",
        {"type": cli.positive_int, "metavar": "N"},
        "passes over the training set for each layer's pretraining",
    ),
    "pretrain_lr": (
        "--pretrain-lr",
        {"type": cli._positive_float, "metavar": "RATE"},
        "step size of the pretraining gradient descent",
    ),
    "training_epochs": (
        "--training-epochs",
        {"type": cli.positive_int, "metavar": "N"},
        "largest number of fine-tuning passes over the training set",
    ),
}


def build_classifier(x, arguments):
    """The fine-tuned network of `test_SdA` on input ``x``, for ``predict``.

    After fine-tuning an SdA is a multilayer perceptron: the three sigmoid
    layers and the output layer, without the autoencoders.  Returns
    ``(output layer, params)``, the parameters in the order of the
    fine-tuning updates (``SdA.params``); the initial weights are drawn and
    then replaced by the saved ones.
    """
    rng = numpy.random.RandomState(89677)
    layer_input, params = x, []
    for n_in, n_out in zip([28 * 28] + HIDDEN_LAYERS_SIZES[:-1], HIDDEN_LAYERS_SIZES):
        layer = HiddenLayer(rng=rng, input=layer_input, n_in=n_in, n_out=n_out, activation=T.sigmoid)
        layer_input, params = layer.output, params + layer.params
    output = LogisticRegression(input=layer_input, n_in=HIDDEN_LAYERS_SIZES[-1], n_out=10)
    return output, params + output.params


if __name__ == "__main__":
    cli.main("SdA")
