"""LeNet-5 and the articles' LeNets: the paper's layer counts, the loss, the second-derivative estimate."""

import numpy
import pytensor
import pytensor.tensor as T
from pytensor.gradient import verify_grad

from deeplearning_tutorial import lenet5
from deeplearning_tutorial.lenet5.layers import RBFOutput
from deeplearning_tutorial.lenet5.model import ArticleNet, LeNet5, summary_rows
from deeplearning_tutorial.lenet5.prototypes import prototype_bitmaps

MODE = lenet5.compile_mode()

# LeCun et al. 1998, section II-B: trainable parameters and connections per layer.
PUBLISHED = {
    "C1": (156, 122304),
    "S2": (12, 5880),
    "C3": (1516, 151600),
    "S4": (32, 2000),
    "C5": (48120, 48120),
    "F6": (10164, 10164),
}


def build(variant=None, seed=23455):
    x = T.matrix("x")
    rng = numpy.random.RandomState(seed)
    model = LeNet5(rng, x) if variant is None else ArticleNet(rng, x, variant)
    return x, model


def test_summary_matches_the_paper():
    _, model = build()
    rows = {name: (shape, params, conns) for name, shape, params, conns in summary_rows(model)}
    for name, (params, conns) in PUBLISHED.items():
        assert rows[name][1:] == (params, conns), name
    # The output layer: 84 x 10 connections, its prototypes fixed by hand.
    assert rows["OUTPUT"][1:] == (0, 840)
    # The paper's totals: 60 000 trainable parameters, 340 908 connections.
    assert rows["total"][1:] == (60000, 340908)
    assert [rows[n][0] for n in ("C1", "S2", "C3", "S4", "C5", "F6")] == [
        (6, 28, 28),
        (6, 14, 14),
        (16, 10, 10),
        (16, 5, 5),
        (120, 1, 1),
        (84,),
    ]


def test_summary_counts_only_connected_kernels():
    # The counts come from the model: C3's parameters are its mask's.
    _, model = build()
    c3 = model.layers[2]
    assert c3.W.get_value().size == 16 * 6 * 25  # stored as a full kernel bank
    assert c3.n_params() == int(c3.mask.sum()) * 25 + 16 == 1516


def test_keras_variant_has_the_articles_counts():
    # The Keras article's model.summary(): 156, 2 416, 30 840, 10 164, 850.
    _, model = build("keras")
    params = [r[2] for r in summary_rows(model)]
    assert params == [156, 0, 2416, 0, 30840, 10164, 850, 44426]


def test_rbf_loss_gradient_and_value():
    rng = numpy.random.RandomState(3)
    y = numpy.array([3, 7, 0], dtype="int32")
    x = T.matrix()
    model = LeNet5.__new__(LeNet5)  # only the output layer and loss

    def loss(f6):
        model.j = 1.0
        model.penalties = RBFOutput(f6).output
        return model.losses(T.as_tensor_variable(y)).sum()

    f6 = rng.uniform(-1.7, 1.7, (3, 84))
    verify_grad(loss, [f6], rng=rng, mode=MODE)

    value = pytensor.function([x], loss(x), mode=MODE)(f6)
    p = prototype_bitmaps()
    pen = ((f6[:, None, :] - p[None]) ** 2).sum(axis=2)
    want = sum(pen[i, y[i]] + numpy.log(numpy.exp(-1.0) + numpy.exp(-pen[i]).sum()) for i in range(3))
    numpy.testing.assert_allclose(value, want, rtol=1e-12)


def test_hessian_estimate_of_the_last_layer():
    # For F6, the Gauss-Newton diagonal is explicit: 2 f'(a)^2 x^2, averaged.
    x, model = build()
    h = model.hessian_diagonal(20)
    f6 = model.hidden[-1]
    rng = numpy.random.RandomState(4)
    xv = rng.uniform(0, 1, (20, 784))
    hW, hb, a, inp = pytensor.function([x], [h[-2], h[-1], f6.a, f6.input], mode=MODE)(xv)
    slope2 = (1.7159 * 2 / 3 * (1 - numpy.tanh(2 / 3 * a) ** 2)) ** 2
    numpy.testing.assert_allclose(hb, 2 * slope2.mean(axis=0), rtol=1e-10)
    numpy.testing.assert_allclose(hW, 2 * (inp[:, :, None] ** 2 * slope2[:, None, :]).mean(axis=0), rtol=1e-10)
    # And every estimate is non-negative, zero on C3's unconnected kernels.
    values = pytensor.function([x], h, mode=MODE)(xv)
    assert all((v >= 0).all() for v in values)
    c3_index = model.params.index(model.layers[2].W)
    assert (values[c3_index][model.layers[2].mask == 0] == 0).all()


def test_same_seed_same_network():
    _, a = build(seed=7)
    _, b = build(seed=7)
    _, c = build(seed=8)
    for pa, pb in zip(a.params, b.params):
        assert (pa.get_value() == pb.get_value()).all()
    assert any((pa.get_value() != pc.get_value()).any() for pa, pc in zip(a.params, c.params))


def test_build_classifier_rebuilds_the_run_network():
    # What predict needs: the same network, its parameters in the update order.
    x = T.matrix("x")
    for arguments, cls, n_params in (({}, LeNet5, 12), ({"variant": "pytorch"}, ArticleNet, 10)):
        model, params = lenet5.build_classifier(x, arguments)
        assert isinstance(model, cls) and params == model.params and len(params) == n_params
    model, _ = lenet5.build_classifier(x, {"seed": 7})
    _, same = build(seed=7)
    assert all((p.get_value() == q.get_value()).all() for p, q in zip(model.params, same.params))
    labels = pytensor.function([x], model.y_pred, mode=MODE)(numpy.zeros((3, 784)))
    assert labels.shape == (3,) and set(labels) <= set(range(10))
