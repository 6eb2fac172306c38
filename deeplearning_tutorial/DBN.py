"""Deep belief networks (DBN) on MNIST: RBMs stacked and pretrained with CD-k, then fine-tuned as an MLP.

A deep belief network is a stack of restricted Boltzmann machines
(`deeplearning_tutorial.rbm`): the hidden units of the RBM at level ``i``
are the visible units of the RBM at level ``i + 1``.  It is trained in two
phases.  First, from the bottom up and without labels, each RBM in turn
is trained by contrastive divergence (CD-k: ``k`` Gibbs steps started at
the minibatch) on the sigmoid activations of the layers below it.  Each
RBM shares its weights and hidden biases with one sigmoid layer of a
multilayer perceptron, so this *pretraining* leaves the perceptron with
weights that already model the input.  Then a logistic regression layer
is put on top and the perceptron is *fine-tuned* with labels, by minibatch
gradient descent and the early stopping of the earlier chapters.  The
RBMs' visible biases serve the pretraining only.

The Gibbs samples come from one MRG31k3p random stream object
(`deeplearning_tutorial.ops.rng_mrg`) seeded from the model's NumPy
generator and handed out to the RBMs' draws in the order their graphs are
built, so they are the historical code's samples bit for bit.

Ported from the Theano "Deep Learning Tutorials" with the historical names,
defaults, seeds, construction order, loops and printed lines.  Run it as
``python -m deeplearning_tutorial.DBN``.

References: G. Hinton, S. Osindero, Y.-W. Teh, "A Fast Learning Algorithm
for Deep Belief Nets", Neural Computation 2006; Y. Bengio, P. Lamblin,
D. Popovici, H. Larochelle, "Greedy Layer-Wise Training of Deep Networks",
NIPS 2006.
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
from deeplearning_tutorial.data import load_data
from deeplearning_tutorial.logistic_sgd import LogisticRegression
from deeplearning_tutorial.mlp import HiddenLayer
from deeplearning_tutorial.modes import tutorial_mode
from deeplearning_tutorial.ops.rng_mrg import MRG_RandomStreams
from deeplearning_tutorial.rbm import RBM


class DBN:
    """Sigmoid layers, each the hidden layer of an RBM pretrained on the layer below, under a logistic regression.

    Layer ``i`` reads the output of layer ``i - 1`` (the first reads the
    input).  Beside each layer stands an `RBM` whose visible units are the
    layer's input and which shares the layer's ``W`` (as its weights) and
    ``b`` (as its hidden biases); its visible biases are its own.
    ``params`` holds what fine-tuning trains: the layers' and the output
    layer's parameters, not the RBMs' visible biases.
    """

    def __init__(self, numpy_rng, theano_rng=None, n_ins=784, hidden_layers_sizes=[500, 500], n_outs=10):
        """
        :param numpy_rng: numpy.random.RandomState drawing the initial weights
        :param theano_rng: MRG random streams for the Gibbs samples; when
            None, one seeded by ``numpy_rng.randint(2 ** 30)`` (drawn before any weight)
        :param n_ins: size of one input example
        :param hidden_layers_sizes: units of each hidden layer, bottom first (at least one)
        :param n_outs: number of classes
        """
        self.sigmoid_layers = []
        self.rbm_layers = []
        self.params = []
        self.n_layers = len(hidden_layers_sizes)

        if self.n_layers < 1:
            raise ValueError("hidden_layers_sizes must name at least one hidden layer, got an empty list")
        for size in hidden_layers_sizes:
            checks.positive_int("each of hidden_layers_sizes", size)

        if not theano_rng:
            theano_rng = MRG_RandomStreams(numpy_rng.randint(2**30))

        self.x = T.matrix("x")  # images, one flattened image per row
        self.y = T.ivector("y")  # their labels

        # Each sigmoid layer and its RBM are built together, bottom up: the
        # layer draws its weights, and the RBM takes them (it draws nothing).
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
            # Only the layers' parameters belong to the network; the RBMs'
            # visible biases are a means of pretraining.
            self.params.extend(sigmoid_layer.params)

            rbm_layer = RBM(
                numpy_rng=numpy_rng,
                theano_rng=theano_rng,
                input=layer_input,
                n_visible=input_size,
                n_hidden=hidden_layers_sizes[i],
                W=sigmoid_layer.W,
                hbias=sigmoid_layer.b,
            )
            self.rbm_layers.append(rbm_layer)

        self.logLayer = LogisticRegression(
            input=self.sigmoid_layers[-1].output, n_in=hidden_layers_sizes[-1], n_out=n_outs
        )
        self.params.extend(self.logLayer.params)

        # Fine-tuning minimises the negative log-likelihood of the labels.
        self.finetune_cost = self.logLayer.negative_log_likelihood(self.y)
        self.errors = self.logLayer.errors(self.y)

    def pretraining_functions(self, train_set_x, batch_size, k):
        """One compiled CD-k step per layer's RBM, bottom layer first.

        Each is called with the minibatch index and, by name, the learning
        rate (``lr``, default 0.1); it returns the minibatch's
        reconstruction cross-entropy.  The RBMs' draws are built here, one
        layer after the other, which fixes the substreams each one gets.

        :param train_set_x: shared variable holding the training images
        :param batch_size: examples per minibatch
        :param k: Gibbs steps of each CD update
        """
        run = runs.current()
        index = T.lscalar("index")  # which minibatch
        learning_rate = T.scalar("lr")
        batch_begin = index * batch_size
        batch_end = batch_begin + batch_size

        pretrain_fns = []
        for rbm in self.rbm_layers:
            # CD-k: no persistent chain, each update starts from the data
            cost, updates = rbm.get_cost_updates(learning_rate, persistent=None, k=k)
            fn = run.function(
                inputs=[index, learning_rate],
                outputs=cost,
                updates=updates,
                givens={self.x: train_set_x[batch_begin:batch_end]},
                mode=tutorial_mode(),
            )
            # PyTensor inputs take no default values (Theano's In(value=...)),
            # so the default is bound here; a call may still name it.
            pretrain_fns.append(functools.partial(fn, lr=0.1))

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


def test_DBN(
    finetune_lr=0.1,
    pretraining_epochs=100,
    pretrain_lr=0.01,
    k=1,
    training_epochs=1000,
    dataset="mnist.pkl.gz",
    batch_size=10,
    hidden_layers_sizes=[1000, 1000, 1000],
):
    """Pretrain a three-layer DBN (1 000 units a layer) on MNIST with CD-1, then fine-tune it with early stopping.

    Layers are pretrained one after the other, ``pretraining_epochs`` each;
    fine-tuning validates once an epoch.

    :param finetune_lr: step size of the fine-tuning gradient descent
    :param pretraining_epochs: passes over the training set for each layer's pretraining
    :param pretrain_lr: step size of the pretraining (CD) updates
    :param k: Gibbs steps of each CD update
    :param training_epochs: largest number of fine-tuning passes over the training set
    :param dataset: the MNIST file (see `load_data`)
    :param batch_size: examples per minibatch, in both phases
    :param hidden_layers_sizes: units of each hidden layer, bottom first; not
        a parameter of the historical function, which always built
        ``[1000, 1000, 1000]`` (the default)
    """
    run = runs.current()
    checks.positive_number("finetune_lr", finetune_lr)
    checks.positive_int("pretraining_epochs", pretraining_epochs)
    checks.positive_number("pretrain_lr", pretrain_lr)
    checks.positive_int("k", k)
    checks.positive_int("training_epochs", training_epochs)
    checks.positive_int("batch_size", batch_size)
    if len(hidden_layers_sizes) < 1:
        raise ValueError("hidden_layers_sizes must name at least one hidden layer, got an empty list")
    for size in hidden_layers_sizes:
        checks.positive_int("each of hidden_layers_sizes", size)

    datasets = load_data(dataset)
    checks.batch_fits(batch_size, datasets)

    train_set_x, train_set_y = datasets[0]
    valid_set_x, valid_set_y = datasets[1]
    test_set_x, test_set_y = datasets[2]

    n_train_batches = train_set_x.get_value(borrow=True).shape[0] // batch_size

    numpy_rng = numpy.random.RandomState(123)
    run.print("... building the model")
    dbn = DBN(numpy_rng=numpy_rng, n_ins=28 * 28, hidden_layers_sizes=list(hidden_layers_sizes), n_outs=10)

    # -- pretraining, one RBM after the other ----------------------------------
    run.print("... getting the pretraining functions")
    pretraining_fns = dbn.pretraining_functions(train_set_x=train_set_x, batch_size=batch_size, k=k)

    run.print("... pre-training the model")
    start_time = timeit.default_timer()
    for i in range(dbn.n_layers):
        for epoch in range(pretraining_epochs):
            c = []
            for batch_index in range(n_train_batches):
                c.append(pretraining_fns[i](index=batch_index, lr=pretrain_lr))
            # the mean at full precision, after two spaces (the historical
            # code printed the words and the number with two print calls)
            run.print("Pre-training layer %i, epoch %d, cost " % (i, epoch), numpy.mean(c, dtype="float64"))

    end_time = timeit.default_timer()
    run.print(
        "The pretraining code for file "
        + os.path.split(__file__)[1]
        + " ran for %.2fm" % ((end_time - start_time) / 60.0),
        file=sys.stderr,
    )

    # -- fine-tuning: the whole network as an MLP, with early stopping ---------
    run.print("... getting the finetuning functions")
    train_fn, validate_model, test_model = dbn.build_finetune_functions(
        datasets=datasets, batch_size=batch_size, learning_rate=finetune_lr
    )

    run.print("... finetuning the model")
    patience = 4 * n_train_batches  # look at this many minibatches at least
    patience_increase = 2.0  # wait this much longer after a new best
    improvement_threshold = 0.995  # a relative improvement of this much is significant
    validation_frequency = min(n_train_batches, patience / 2)  # validate once an epoch

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
        "Optimization complete with best validation score of %f %%, obtained at iteration %i, "
        "with test performance %f %%" % (best_validation_loss * 100.0, best_iter + 1, test_score * 100.0)
    )
    run.print(
        "The fine tuning code for file "
        + os.path.split(__file__)[1]
        + " ran for %.2fm" % ((end_time - start_time) / 60.0),
        file=sys.stderr,
    )


#: Flags of test_DBN's own parameters (the others are shared: cli.PARAMETERS).
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
        "step size of the pretraining (contrastive divergence) updates",
    ),
    "k": ("--k", {"type": cli.positive_int, "metavar": "N"}, "Gibbs steps of each contrastive divergence update"),
    "training_epochs": (
        "--training-epochs",
        {"type": cli.positive_int, "metavar": "N"},
        "largest number of fine-tuning passes over the training set",
    ),
    "hidden_layers_sizes": (
        "--hidden-layers-sizes",
        {"type": cli.positive_int, "nargs": "+", "metavar": "N"},
        "units of each hidden layer, bottom first",
    ),
}


def build_classifier(x, arguments):
    """The fine-tuned network of `test_DBN` on input ``x``, for ``predict``.

    After fine-tuning a DBN is a multilayer perceptron: the sigmoid layers
    and the output layer, without the RBMs.  Returns ``(output layer,
    params)``, the parameters in the order of the fine-tuning updates
    (``DBN.params``); the initial weights are drawn and then replaced by
    the saved ones.
    """
    sizes = list(arguments.get("hidden_layers_sizes") or [1000, 1000, 1000])
    rng = numpy.random.RandomState(123)
    layer_input, params = x, []
    for n_in, n_out in zip([28 * 28] + sizes[:-1], sizes):
        layer = HiddenLayer(rng=rng, input=layer_input, n_in=n_in, n_out=n_out, activation=T.sigmoid)
        layer_input, params = layer.output, params + layer.params
    output = LogisticRegression(input=layer_input, n_in=sizes[-1], n_out=10)
    return output, params + output.params


if __name__ == "__main__":
    cli.main("DBN")
