"""The later chapters' training steps in PyTorch, timed in a process of their own.

Each replica computes what the chapter's step computes, with the same
shapes, batch sizes, learning rates and arithmetic (the same costs, the
same gradients through autograd, the same random draws in kind: masks,
binary samples, Gaussian velocities), on MNIST read by this package;
its initial weights are drawn as the chapter draws them in kind, not
value by value, and its random numbers are PyTorch's.  The step keys and
the report are those of `benchmarks.chapter_steps`::

    python -m benchmarks.torch_steps CHAPTER FLOATX CALLS BUDGET STARTED
"""

import argparse
import json
import resource

import numpy
import torch
import torch.nn.functional as F

from benchmarks.chapter_steps import N_TRAIN, time_recipe
from deeplearning_tutorial import data


class Setting:
    """The data (as tensors of one float type) and the generator of initial weights."""

    def __init__(self, dtype):
        self.dtype = dtype
        splits = data.read_dataset(data.resolve_path(data.MNIST_NAME))
        self.train, self.valid, _ = [(torch.from_numpy(x).to(dtype), torch.from_numpy(y).long()) for x, y in splits]
        self.rng = numpy.random.RandomState(123)

    def uniform(self, n_in, n_out, scale=1.0):
        """A (n_in, n_out) weight matrix uniform in +-scale * sqrt(6 / (n_in + n_out)), as the chapters draw them."""
        bound = scale * numpy.sqrt(6.0 / (n_in + n_out))
        return torch.tensor(self.rng.uniform(-bound, bound, size=(n_in, n_out)), dtype=self.dtype, requires_grad=True)

    def zeros(self, *shape):
        return torch.zeros(shape, dtype=self.dtype, requires_grad=True)

    def batch(self, split, index, size):
        x, y = split
        return x[index * size : (index + 1) * size], y[index * size : (index + 1) * size]


def sgd(params, cost, lr):
    grads = torch.autograd.grad(cost, params)
    with torch.no_grad():
        for p, g in zip(params, grads):
            p -= lr * g


def cross_entropy(x, z):
    """Each row's reconstruction cross-entropy, summed over its pixels."""
    return -(x * torch.log(z) + (1 - x) * torch.log(1 - z)).sum(1)


def dA_layer(x, W, b, b_prime, corruption, lr):
    """One denoising-autoencoder step with tied weights on ``x``; returns the mean cost."""
    tilde_x = (torch.rand_like(x) < 1 - corruption).to(x.dtype) * x
    y = torch.sigmoid(tilde_x @ W + b)
    z = torch.sigmoid(y @ W.T + b_prime)
    cost = cross_entropy(x, z).mean()
    sgd([W, b, b_prime], cost, lr)
    return cost.item()


def dA(s):
    W, b, b_prime = s.uniform(784, 500, 4.0), s.zeros(500), s.zeros(784)
    return {"dA": (lambda i: dA_layer(s.batch(s.train, i, 20)[0], W, b, b_prime, 0.3, 0.1), N_TRAIN // 20)}, {}


def cA(s):
    W, b, b_prime = s.uniform(784, 500, 4.0), s.zeros(500), s.zeros(784)

    def step(i):
        x = s.batch(s.train, i, 10)[0]
        y = torch.sigmoid(x @ W + b)
        z = torch.sigmoid(y @ W.T + b_prime)
        L_rec = cross_entropy(x, z)
        # The squared Jacobian norm enters through a floor division, which has no gradient: detached here.
        J = (y * (1 - y)).detach().reshape(10, 1, 500) * W.detach().reshape(1, 784, 500)
        L_jacob = torch.div((J**2).sum(), 10, rounding_mode="floor")
        cost = L_rec.mean() + 0.1 * L_jacob
        sgd([W, b, b_prime], cost, 0.01)
        return L_rec.mean().item(), L_jacob.item()

    return {"cA": (step, N_TRAIN // 10)}, {}


class DeepNetwork:
    """Three sigmoid layers of 1 000 units and a softmax layer: the SdA's and the DBN's network."""

    def __init__(self, s, scale):
        sizes = [784, 1000, 1000, 1000]
        self.layers = [(s.uniform(a, b, scale), s.zeros(b)) for a, b in zip(sizes, sizes[1:])]
        self.visible_biases = [s.zeros(a) for a in sizes[:-1]]  # each autoencoder's or RBM's own
        self.W, self.b = s.zeros(1000, 10), s.zeros(10)
        self.params = [p for layer in self.layers for p in layer] + [self.W, self.b]

    def below(self, x, layer):
        """The input of layer ``layer``: ``x`` through the layers under it, without gradients."""
        with torch.no_grad():
            for W, b in self.layers[:layer]:
                x = torch.sigmoid(x @ W + b)
        return x

    def logits(self, x):
        for W, b in self.layers:
            x = torch.sigmoid(x @ W + b)
        return x @ self.W + self.b

    def finetune(self, s, batch_size):
        def step(i):
            x, y = s.batch(s.train, i, batch_size)
            cost = F.cross_entropy(self.logits(x), y)
            sgd(self.params, cost, 0.1)
            return cost.item()

        def validation_pass():
            x, y = s.valid
            with torch.no_grad():
                return [
                    (self.logits(x[i : i + batch_size]).argmax(1) != y[i : i + batch_size]).float().mean().item()
                    for i in range(0, x.shape[0] - batch_size + 1, batch_size)
                ]

        return step, validation_pass


def SdA(s):
    net = DeepNetwork(s, 4.0)

    def pretraining(layer, corruption):
        W, b = net.layers[layer]
        return lambda i: dA_layer(
            net.below(s.batch(s.train, i, 1)[0], layer), W, b, net.visible_biases[layer], corruption, 0.001
        )

    steps = {f"SdA pretraining layer {i}": (pretraining(i, c), N_TRAIN) for i, c in enumerate([0.1, 0.2, 0.3])}
    finetune, validation_pass = net.finetune(s, 1)
    steps["SdA fine-tuning"] = (finetune, N_TRAIN)
    return steps, {"SdA validation pass": validation_pass}


def free_energy(v, W, hbias, vbias):
    return -F.softplus(v @ W + hbias).sum(1) - v @ vbias


def gibbs_hvh(h, W, hbias, vbias):
    """One Gibbs step from hidden sample ``h``: (pre-sigmoid visible activation, visible sample, hidden sample)."""
    pre_v = h @ W.T + vbias
    v = torch.bernoulli(torch.sigmoid(pre_v))
    h = torch.bernoulli(torch.sigmoid(v @ W + hbias))
    return pre_v, v, h


def rbm_update(x, chain_start, k, W, hbias, vbias, lr):
    """k Gibbs steps from ``chain_start`` and one gradient step; (the last pre-sigmoid visible, hidden sample)."""
    with torch.no_grad():
        h = chain_start
        for _ in range(k):
            pre_v, v, h = gibbs_hvh(h, W, hbias, vbias)
    cost = free_energy(x, W, hbias, vbias).mean() - free_energy(v, W, hbias, vbias).mean()
    sgd([W, hbias, vbias], cost, lr)
    return pre_v, h


def rbm(s):
    W, hbias, vbias = s.uniform(784, 500, 4.0), s.zeros(500), s.zeros(784)
    state = {"chain": torch.zeros(20, 500, dtype=s.dtype), "bit": 0}

    def step(i):
        x = s.batch(s.train, i, 20)[0]
        with torch.no_grad():
            # the pseudo-likelihood of the rounded minibatch, with the parameters before the update
            xi = torch.round(x)
            xi_flip = xi.clone()
            xi_flip[:, state["bit"]] = 1 - xi[:, state["bit"]]
            fe_xi, fe_flip = free_energy(xi, W, hbias, vbias), free_energy(xi_flip, W, hbias, vbias)
            cost = (784 * torch.log(torch.sigmoid(fe_flip - fe_xi))).mean()
        _, state["chain"] = rbm_update(x, state["chain"], 15, W, hbias, vbias, 0.1)
        state["bit"] = (state["bit"] + 1) % 784
        return cost.item()

    return {"rbm": (step, N_TRAIN // 20)}, {}


def DBN(s):
    net = DeepNetwork(s, 4.0)

    def pretraining(layer):
        W, hbias = net.layers[layer]
        vbias = net.visible_biases[layer]

        def step(i):
            x = net.below(s.batch(s.train, i, 10)[0], layer)
            with torch.no_grad():
                chain_start = torch.bernoulli(torch.sigmoid(x @ W + hbias))
            pre_v, _ = rbm_update(x, chain_start, 1, W, hbias, vbias, 0.01)
            with torch.no_grad():
                # the reconstruction cross-entropy, from the pre-sigmoid activation (softplus form)
                return (x * F.logsigmoid(pre_v) + (1 - x) * F.logsigmoid(-pre_v)).sum(1).mean().item()

        return step

    steps = {f"DBN pretraining layer {i}": (pretraining(i), N_TRAIN // 10) for i in range(3)}
    finetune, validation_pass = net.finetune(s, 10)
    steps["DBN fine-tuning"] = (finetune, N_TRAIN // 10)
    return steps, {"DBN validation pass": validation_pass}


def logistic_cg(s):
    theta = torch.zeros(785 * 10, dtype=s.dtype, requires_grad=True)
    n_train_batches, n_valid_batches = N_TRAIN // 600, 10000 // 600

    def cost(x, y):
        return F.cross_entropy(x @ theta[:7840].view(784, 10) + theta[7840:], y)

    def evaluation(_):
        with torch.no_grad():
            objective = numpy.mean([cost(*s.batch(s.train, i, 600)).item() for i in range(n_train_batches)])
        grad = torch.zeros_like(theta)
        for i in range(n_train_batches):
            grad += torch.autograd.grad(cost(*s.batch(s.train, i, 600)), theta)[0]
        return objective, grad / n_train_batches

    def validation_pass():
        with torch.no_grad():
            W, b = theta[:7840].view(784, 10), theta[7840:]
            return [
                (s.batch(s.valid, i, 600)[0] @ W + b).argmax(1).ne(s.batch(s.valid, i, 600)[1]).float().mean().item()
                for i in range(n_valid_batches)
            ]

    return {"logistic_cg": (evaluation, 1)}, {"logistic_cg validation pass": validation_pass}


def hmc(s):
    """One HMC draw on test_hmc's 5-dimensional Gaussian, three chains, the energy's gradient by autograd."""
    dim = 5
    rng = numpy.random.RandomState(123)
    mu = numpy.array(rng.rand(dim) * 10)
    cov = numpy.array(rng.rand(dim, dim))
    cov = (cov + cov.T) / 2.0
    cov[numpy.arange(dim), numpy.arange(dim)] = 1.0
    mu, cov_inv = torch.tensor(mu, dtype=s.dtype), torch.tensor(numpy.linalg.inv(cov), dtype=s.dtype)
    state = {"pos": torch.tensor(rng.randn(3, dim), dtype=s.dtype), "step": 1e-3, "avg": 0.9}

    def energy(x):
        return 0.5 * (((x - mu) @ cov_inv) * (x - mu)).sum(1)

    def grad(x):
        x = x.detach().requires_grad_()
        return torch.autograd.grad(energy(x).sum(), x)[0]

    def draw(_):
        pos0, step = state["pos"], state["step"]
        vel0 = torch.randn_like(pos0)
        vel = vel0 - 0.5 * step * grad(pos0)
        pos = pos0 + step * vel
        for _ in range(19):
            vel = vel - step * grad(pos)
            pos = pos + step * vel
        vel = vel - 0.5 * step * grad(pos)
        with torch.no_grad():
            h0 = energy(pos0) + 0.5 * (vel0**2).sum(1)
            h1 = energy(pos) + 0.5 * (vel**2).sum(1)
            accept = (torch.exp(h0 - h1) - torch.rand(3, dtype=s.dtype)) >= 0
            state["pos"] = torch.where(accept[:, None], pos, pos0)
        state["step"] = min(max(step * (1.02 if state["avg"] > 0.9 else 0.98), 0.001), 0.5)
        state["avg"] = 0.9 * state["avg"] + 0.1 * accept.to(s.dtype).mean().item()
        return state["pos"].clone()

    return {"hmc": (draw, 1)}, {}


#: Chapter -> its replica: like the recipes of `benchmarks.chapter_steps.RECIPES`, given a `Setting`.
REPLICAS = {"dA": dA, "cA": cA, "SdA": SdA, "logistic_cg": logistic_cg, "rbm": rbm, "hmc": hmc, "DBN": DBN}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.torch_steps", description=__doc__.splitlines()[0])
    parser.add_argument("chapter", choices=sorted(REPLICAS))
    parser.add_argument("floatX", choices=("float32", "float64"))
    parser.add_argument("calls", type=int)
    parser.add_argument("budget_s", type=float)
    parser.add_argument("started", type=float)
    args = parser.parse_args(argv)
    steps, passes = REPLICAS[args.chapter](Setting(getattr(torch, args.floatX)))
    timed_steps, timed_passes = time_recipe(steps, passes, args.calls, args.budget_s)
    report = {
        "startup_s": None,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "steps": timed_steps,
        "passes": timed_passes,
    }
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
