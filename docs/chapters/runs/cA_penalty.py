import numpy
import pytensor
import pytensor.tensor as T

from deeplearning_tutorial import cA
from deeplearning_tutorial.data import load_data
from deeplearning_tutorial.modes import tutorial_mode

images = load_data("mnist.pkl.gz")[0][0]
x, index = T.matrix("x"), T.lscalar()


def train(contraction_level, floor=True, steps=200):
    ca = cA.cA(numpy.random.RandomState(123), input=x, n_visible=784, n_hidden=500, n_batchsize=10)
    cost, updates = ca.get_cost_updates(contraction_level, learning_rate=0.01)
    J = ca.get_jacobian(ca.get_hidden_values(x), ca.W)
    penalty = T.sum(J**2) / 10  # the mean squared norm, not floored
    if not floor:  # the cost with "/" in place of "//"
        cost = T.mean(ca.L_rec) + contraction_level * penalty
        updates = [(p, p - 0.01 * g) for p, g in zip(ca.params, T.grad(cost, ca.params))]
    givens = {x: images[index * 10 : (index + 1) * 10]}
    step = pytensor.function([index], [], updates=updates, givens=givens, mode=tutorial_mode())
    measure = pytensor.function([index], [T.mean(ca.L_rec), penalty], givens=givens, mode=tutorial_mode())
    for i in range(steps):
        step(i)
    # reconstruction cost and squared Jacobian norm, averaged over the next 100 minibatches
    after = numpy.mean([measure(i) for i in range(steps, steps + 100)], axis=0)
    return ca.W.get_value(), after


W_default, after_default = train(0.1)
W_none, after_none = train(0.0)
W_div, after_div = train(0.1, floor=False)
print("largest |W| difference, contraction 0.1 against 0:", abs(W_default - W_none).max())
print("largest |W| difference, // against /:", abs(W_default - W_div).max())
for name, (rec, jac) in [("//, 0.1", after_default), ("//, 0  ", after_none), ("/,  0.1", after_div)]:
    print("%s: reconstruction cost %.2f, squared Jacobian norm %.2f" % (name, rec, jac))
