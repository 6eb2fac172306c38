"""Label test images with a model saved by a tutorial's ``--save-model``.

    python -m deeplearning_tutorial.predict MODEL.npz [--dataset PATH] [--n N]

It rebuilds the tutorial's model around the saved parameters, prints the
label it predicts for each of the first N test images beside the true one
(and how many of those it got wrong), then its error over the whole test
set, computed as the run computed it (the mean over whole minibatches
of the run's batch size) and printed in the same format as the run's
``test error of best model`` line, so the two can be compared by eye.
"""

import argparse
import sys

import numpy
import pytensor
import pytensor.tensor as T

from deeplearning_tutorial import cli, data, saved_models, tutorials
from deeplearning_tutorial.modes import tutorial_mode


def build_classifier(tutorial, x, arguments):
    """The tutorial's output layer on input ``x``, and the model's parameters in the order of the training updates.

    The initial weights are drawn and then replaced by the saved ones.  A
    chapter other than the first three says how to rebuild its classifier
    with a ``build_classifier(x, arguments)`` of its own; one without it
    (an autoencoder) labels nothing.
    """
    from deeplearning_tutorial.convolutional_mlp import lenet_layers
    from deeplearning_tutorial.logistic_sgd import LogisticRegression
    from deeplearning_tutorial.mlp import MLP

    if not saved_models.is_classifier(tutorial):
        raise ValueError(f"a {tutorial} model is not a classifier: predict labels digits with a classifier's model")
    if tutorial not in saved_models.BUILT_IN_CLASSIFIERS:
        return tutorials.chapter_module(tutorial).build_classifier(x, arguments)
    if tutorial == "logistic_sgd":
        model = LogisticRegression(input=x, n_in=28 * 28, n_out=10)
        return model, model.params
    rng = numpy.random.RandomState(arguments.get("seed", 0))
    if tutorial == "mlp":
        model = MLP(rng=rng, input=x, n_in=28 * 28, n_hidden=arguments["n_hidden"], n_out=10)
        return model.logRegressionLayer, model.params
    layers = lenet_layers(rng, x, arguments["nkerns"], arguments["batch_size"])
    # evaluate_lenet5 updates the output layer's parameters first.
    return layers[-1], [p for layer in reversed(layers) for p in layer.params]


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m deeplearning_tutorial.predict", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("model", metavar="MODEL.npz", help="a model saved with --save-model")
    parser.add_argument("--dataset", metavar="PATH", help="the dataset (default: the one the model was trained on)")
    parser.add_argument("--n", type=cli.positive_int, default=10, help="test images to label (default: 10)")
    args = parser.parse_args(argv)
    try:
        header, values = saved_models.load(args.model)
        arguments = header["arguments"]
        dataset = args.dataset or arguments["dataset"]
        cli.check_dataset(dataset)
        pytensor.config.floatX = header["floatX"]
        predict(header["tutorial"], arguments, values, dataset, args.n)
    except (ValueError, data.DataError) as e:
        parser.exit(2, f"{parser.prog}: error: {e}\n")


def predict(tutorial, arguments, values, dataset, n):
    """Print the predicted and true labels of the first ``n`` test images and the test error.

    Returns the predicted labels and the test error (a fraction).
    """
    test_set_x, test_set_y = data.load_data(dataset)[2]
    batch_size = tutorials.settings(tutorial, arguments)["batch_size"]
    n_test_batches = test_set_x.get_value(borrow=True).shape[0] // batch_size
    if n > n_test_batches * batch_size:
        raise ValueError(
            f"--n {n}: at most {n_test_batches * batch_size} test images (whole minibatches of {batch_size})"
        )

    index = T.lscalar()
    x = T.matrix("x")
    y = T.ivector("y")
    classifier, params = build_classifier(tutorial, x, arguments)
    # The model's parameters come first; an optimiser's state (Adam's) may follow.
    values = values[: len(params)]
    if [v.shape for v in values] != [p.get_value(borrow=True).shape for p in params]:
        raise ValueError(f"the saved parameters do not fit the {tutorial} model they claim to be")
    for param, value in zip(params, values):
        param.set_value(value.astype(pytensor.config.floatX))

    batch = slice(index * batch_size, (index + 1) * batch_size)
    givens = {x: test_set_x[batch], y: test_set_y[batch]}
    test_model = pytensor.function([index], classifier.errors(y), givens=givens, mode=tutorial_mode())
    label_batch = pytensor.function([index], [classifier.y_pred, y], givens=givens, mode=tutorial_mode())

    # LeNet's graph takes whole minibatches, so label whole ones and keep n.
    batches = [label_batch(i) for i in range(-(-n // batch_size))]
    labels = numpy.concatenate([predicted for predicted, _ in batches])[:n]
    truth = numpy.concatenate([true for _, true in batches])[:n]
    test_score = numpy.mean([test_model(i) for i in range(n_test_batches)])
    print(f"Predicted values for the first {n} examples in test set:")
    print(labels_table(labels, truth))
    print("test error of saved model %f %%" % (test_score * 100.0))
    return labels, test_score


def labels_table(predicted, true):
    """One line per image: its index, the predicted and the true label, and ``wrong`` where they differ.

    The last line counts the wrong ones among those shown.
    """
    lines = ["image  predicted  true"]
    for i, (p, t) in enumerate(zip(predicted, true)):
        lines.append(f"{i:5d}  {p:9d}  {t:4d}" + ("  wrong" if p != t else ""))
    wrong = int(numpy.sum(predicted != true))
    lines.append(f"{wrong} of these {len(predicted)} wrong ({100.0 * wrong / len(predicted):.1f} %)")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
