"""Restricted Boltzmann machines (RBM) on MNIST, trained with persistent contrastive divergence.

An RBM is an energy-based model of binary visible units ``v`` (the pixels)
and binary hidden units ``h``, with no connection inside a layer.  Its
energy is ``E(v, h) = -b'v - c'h - h'Wv``, so given one layer the units of
the other are independent: ``P(h_j = 1 | v) = sigmoid(c_j + v W_j)`` and
``P(v_i = 1 | h) = sigmoid(b_i + W_i h)``.  Summing out ``h`` leaves the
*free energy* ``F(v) = -b'v - sum_j softplus(c_j + v W_j)``, and the
log-likelihood's gradient is the gradient of ``F`` at the data minus its
expectation under the model.  That expectation is estimated by Gibbs
sampling, alternating the two conditionals: contrastive divergence (CD-k)
starts ``k`` steps from each minibatch, persistent CD (PCD-k) continues a
chain kept from one minibatch to the next in a shared variable.  The steps
are a `pytensor.scan` loop whose binary samples are drawn inside the graph
by Theano's MRG31k3p streams (`deeplearning_tutorial.ops.rng_mrg`), the
historical code's numbers bit for bit.

After training, ``test_rbm`` runs ``n_chains`` chains from test images and
draws every ``plot_every``-th step's mean-field visible units as a row of
``samples.png``; each epoch's first 100 filters go to
``filters_at_epoch_<epoch>.png``.

Ported from the Theano "Deep Learning Tutorials" with the historical names,
defaults, seeds, construction order (the random streams are handed out in
the order the graphs are built), loops and printed lines.  Run it as
``python -m deeplearning_tutorial.rbm``.

References: G. Hinton, "Training Products of Experts by Minimizing
Contrastive Divergence", Neural Computation 2002; T. Tieleman, "Training
Restricted Boltzmann Machines using Approximations to the Likelihood
Gradient", ICML 2008.
"""

import os
import sys
import timeit
import warnings

if __name__ == "__main__" and not __package__:
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy
import pytensor
import pytensor.tensor as T
from pytensor.compile.sharedvalue import SharedVariable

from deeplearning_tutorial import checks, cli, runs
from deeplearning_tutorial.dA import tile_raster_images
from deeplearning_tutorial.data import atomic_write, load_data
from deeplearning_tutorial.modes import tutorial_mode
from deeplearning_tutorial.ops.rng_mrg import MRG_RandomStreams as RandomStreams


def scan(fn, **kwargs):
    """``pytensor.scan(fn, ...)`` in the tutorial's mode, returning ``(outputs, updates)``.

    The Gibbs steps draw their samples inside the loop: each draw makes a
    shared variable holding its random streams' state, with that state's
    advance as its default update.  PyTensor 3.0's scan turns the default
    update of a shared variable made inside the loop into an update of the
    loop, returned beside its outputs, as Theano's scan did; the training
    and sampling functions pass those updates on, so each call continues
    the streams where the previous call left them.  PyTensor marks both
    behaviours deprecated (3.0 still has them; ``setup.cfg`` keeps PyTensor
    below 3.1 and ``tests/test_rbm.py`` checks them), so their warnings are
    silenced here.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Scan return signature will change", DeprecationWarning)
        warnings.filterwarnings("ignore", "Setting default_update is deprecated", DeprecationWarning)
        return pytensor.scan(fn, mode=tutorial_mode(), **kwargs)


class RBM:
    """A restricted Boltzmann machine with binary visible and hidden units."""

    def __init__(
        self,
        input=None,
        n_visible=784,
        n_hidden=500,
        W=None,
        hbias=None,
        vbias=None,
        numpy_rng=None,
        theano_rng=None,
    ):
        """
        :param input: symbolic minibatch of visible vectors, one per row; a
            new matrix when None (a DBN passes the layer below's output)
        :param n_visible: number of visible units
        :param n_hidden: number of hidden units
        :param W: shared (n_visible, n_hidden) weights to use instead of new
            ones (a DBN shares them with a sigmoid layer of its MLP)
        :param hbias: shared hidden biases to use instead of new ones
        :param vbias: shared visible biases to use instead of new ones
        :param numpy_rng: numpy.random.RandomState drawing the initial
            weights; RandomState(1234) when None
        :param theano_rng: MRG random streams for the Gibbs samples; when
            None, one seeded by ``numpy_rng.randint(2 ** 30)`` (drawn before
            the weights)
        """
        checks.positive_int("n_visible", n_visible)
        checks.positive_int("n_hidden", n_hidden)
        self.n_visible = n_visible
        self.n_hidden = n_hidden

        if numpy_rng is None:
            numpy_rng = numpy.random.RandomState(1234)

        if theano_rng is None:
            theano_rng = RandomStreams(numpy_rng.randint(2**30))

        if W is None:
            # uniform in +-4 sqrt(6 / (n_visible + n_hidden)), the range suited to sigmoid units
            initial_W = numpy.asarray(
                numpy_rng.uniform(
                    low=-4 * numpy.sqrt(6.0 / (n_hidden + n_visible)),
                    high=4 * numpy.sqrt(6.0 / (n_hidden + n_visible)),
                    size=(n_visible, n_hidden),
                ),
                dtype=pytensor.config.floatX,
            )
            W = pytensor.shared(value=initial_W, name="W", borrow=True)

        if hbias is None:
            hbias = pytensor.shared(
                value=numpy.zeros(n_hidden, dtype=pytensor.config.floatX), name="hbias", borrow=True
            )

        if vbias is None:
            vbias = pytensor.shared(
                value=numpy.zeros(n_visible, dtype=pytensor.config.floatX), name="vbias", borrow=True
            )

        self.input = T.matrix("input") if input is None else input

        self.W = W
        self.hbias = hbias
        self.vbias = vbias
        self.theano_rng = theano_rng
        # What the gradient steps update; only the shared variables made above belong here.
        self.params = [self.W, self.hbias, self.vbias]

    def free_energy(self, v_sample):
        """The free energy ``F(v)`` of each row of ``v_sample``."""
        wx_b = T.dot(v_sample, self.W) + self.hbias
        vbias_term = T.dot(v_sample, self.vbias)
        # log(1 + exp(.)): the graph rewrites make it a softplus
        hidden_term = T.sum(T.log(1 + T.exp(wx_b)), axis=1)
        return -hidden_term - vbias_term

    def propup(self, vis):
        """The hidden units' pre-sigmoid activations and their probabilities of being on, given ``vis``.

        The pre-sigmoid activation is returned too: a cost that takes the
        log of a sigmoid outside the Gibbs loop needs it to be rewritten
        into a stable softplus (see `get_reconstruction_cost`).
        """
        pre_sigmoid_activation = T.dot(vis, self.W) + self.hbias
        return [pre_sigmoid_activation, T.sigmoid(pre_sigmoid_activation)]

    def sample_h_given_v(self, v0_sample):
        """Pre-sigmoid activations, probabilities and a binary sample of the hidden units given visible ones."""
        pre_sigmoid_h1, h1_mean = self.propup(v0_sample)
        # 1 where a uniform draw falls below the probability; in floatX, like the rest of the graph
        h1_sample = self.theano_rng.binomial(size=h1_mean.shape, n=1, p=h1_mean, dtype=pytensor.config.floatX)
        return [pre_sigmoid_h1, h1_mean, h1_sample]

    def propdown(self, hid):
        """The visible units' pre-sigmoid activations and their probabilities of being on, given ``hid``."""
        pre_sigmoid_activation = T.dot(hid, self.W.T) + self.vbias
        return [pre_sigmoid_activation, T.sigmoid(pre_sigmoid_activation)]

    def sample_v_given_h(self, h0_sample):
        """Pre-sigmoid activations, probabilities and a binary sample of the visible units given hidden ones."""
        pre_sigmoid_v1, v1_mean = self.propdown(h0_sample)
        v1_sample = self.theano_rng.binomial(size=v1_mean.shape, n=1, p=v1_mean, dtype=pytensor.config.floatX)
        return [pre_sigmoid_v1, v1_mean, v1_sample]

    def gibbs_hvh(self, h0_sample):
        """One Gibbs step from a hidden sample: visible given hidden, then hidden given that visible sample."""
        pre_sigmoid_v1, v1_mean, v1_sample = self.sample_v_given_h(h0_sample)
        pre_sigmoid_h1, h1_mean, h1_sample = self.sample_h_given_v(v1_sample)
        return [pre_sigmoid_v1, v1_mean, v1_sample, pre_sigmoid_h1, h1_mean, h1_sample]

    def gibbs_vhv(self, v0_sample):
        """One Gibbs step from a visible sample: hidden given visible, then visible given that hidden sample."""
        pre_sigmoid_h1, h1_mean, h1_sample = self.sample_h_given_v(v0_sample)
        pre_sigmoid_v1, v1_mean, v1_sample = self.sample_v_given_h(h1_sample)
        return [pre_sigmoid_h1, h1_mean, h1_sample, pre_sigmoid_v1, v1_mean, v1_sample]

    def get_cost_updates(self, lr=0.1, persistent=None, k=1):
        """A monitoring cost and the updates of one CD-k (``persistent`` None) or PCD-k step.

        :param lr: learning rate
        :param persistent: None for CD-k; for PCD-k, the shared variable
            holding the chain's hidden state, one row per example of the
            minibatch and one column per hidden unit
        :param k: Gibbs steps per update
        :returns: ``(monitoring_cost, updates)``: the pseudo-likelihood
            (PCD) or reconstruction cross-entropy (CD) of the minibatch,
            and a dictionary of updates: the parameters, the random
            streams of the Gibbs steps, and the persistent chain (and the
            pseudo-likelihood's bit index) for PCD
        """
        checks.positive_int("k", k)
        if persistent is not None:
            if not isinstance(persistent, SharedVariable):
                raise TypeError("the persistent chain must be a shared variable, got %r" % (persistent,))
            shape = numpy.shape(persistent.get_value(borrow=True))
            if len(shape) != 2 or shape[1] != self.n_hidden:
                raise ValueError(
                    "the persistent chain must hold one row per example and %i columns (the hidden units), "
                    "got shape %s" % (self.n_hidden, shape)
                )

        # positive phase (its sample starts the chain of CD; PCD leaves it out of the graph)
        pre_sigmoid_ph, ph_mean, ph_sample = self.sample_h_given_v(self.input)

        # CD starts the chain at the data's hidden sample, PCD where the last update left it
        if persistent is None:
            chain_start = ph_sample
        else:
            chain_start = persistent

        # negative phase: k Gibbs steps; only the hidden sample feeds the next step
        (
            [pre_sigmoid_nvs, nv_means, nv_samples, pre_sigmoid_nhs, nh_means, nh_samples],
            updates,
        ) = scan(
            self.gibbs_hvh,
            outputs_info=[None, None, None, None, None, chain_start],
            n_steps=k,
            name="gibbs_hvh",
        )

        # the gradient uses only the end of the chain, taken as a constant: no gradient through the sampling
        chain_end = nv_samples[-1]

        cost = T.mean(self.free_energy(self.input)) - T.mean(self.free_energy(chain_end))
        gparams = T.grad(cost, self.params, consider_constant=[chain_end])

        for gparam, param in zip(gparams, self.params):
            # the learning rate in floatX, so that a float32 parameter stays float32
            updates[param] = param - gparam * T.cast(lr, dtype=pytensor.config.floatX)
        if persistent is not None:
            updates[persistent] = nh_samples[-1]
            # the pseudo-likelihood is the better proxy for PCD
            monitoring_cost = self.get_pseudo_likelihood_cost(updates)
        else:
            # the reconstruction cross-entropy is the better proxy for CD
            monitoring_cost = self.get_reconstruction_cost(updates, pre_sigmoid_nvs[-1])

        return monitoring_cost, updates

    def get_pseudo_likelihood_cost(self, updates):
        """A stochastic estimate of the log pseudo-likelihood of the (rounded) minibatch.

        Each call looks at one visible unit ``i`` (the next one at the next
        call, kept in the shared ``bit_i_idx``): ``n_visible`` times the log
        probability of the unit's value given all the others, which is
        ``log sigmoid(F(x with bit i flipped) - F(x))``.  The index's
        update is added to ``updates``.
        """
        bit_i_idx = pytensor.shared(value=0, name="bit_i_idx")

        # the images made binary by rounding each pixel
        xi = T.round(self.input)

        fe_xi = self.free_energy(xi)

        # the same images with bit i flipped (a new matrix; xi is unchanged)
        xi_flip = T.set_subtensor(xi[:, bit_i_idx], 1 - xi[:, bit_i_idx])

        fe_xi_flip = self.free_energy(xi_flip)

        # P(x_i | rest) = e^-F(x) / (e^-F(x) + e^-F(x flipped)) = sigmoid(F(x flipped) - F(x))
        cost = T.mean(self.n_visible * T.log(T.sigmoid(fe_xi_flip - fe_xi)))

        updates[bit_i_idx] = (bit_i_idx + 1) % self.n_visible

        return cost

    def get_reconstruction_cost(self, updates, pre_sigmoid_nv):
        """The mean cross-entropy between the minibatch and its reconstruction at the end of the chain.

        It is computed from the pre-sigmoid activation ``pre_sigmoid_nv``
        (an output of the Gibbs loop) rather than from the probabilities:
        with the sigmoid outside the loop, the graph rewrites turn
        ``log(sigmoid(a))`` and ``log(1 - sigmoid(a))`` into softplus terms,
        which stay finite where a saturated sigmoid would give ``log(0)``.
        """
        cross_entropy = T.mean(
            T.sum(
                self.input * T.log(T.sigmoid(pre_sigmoid_nv)) + (1 - self.input) * T.log(1 - T.sigmoid(pre_sigmoid_nv)),
                axis=1,
            )
        )

        return cross_entropy


def test_rbm(
    learning_rate=0.1,
    training_epochs=15,
    dataset="mnist.pkl.gz",
    batch_size=20,
    n_chains=20,
    n_samples=10,
    output_folder="rbm_plots",
    n_hidden=500,
):
    """Train an RBM with PCD-15 on MNIST, then sample from it.

    After each epoch the first 100 filters are drawn as
    ``filters_at_epoch_<epoch>.png``; after training, ``n_chains`` Gibbs
    chains start from consecutive test images (at a random place) and
    ``n_samples`` times run 1 000 steps, each time adding a row of their
    mean-field visible units to ``samples.png``.  Both go to
    ``output_folder``.

    :param learning_rate: step size of the gradient descent
    :param training_epochs: passes over the training set
    :param dataset: the MNIST file (see `load_data`)
    :param batch_size: examples per minibatch (and chains of the persistent chain)
    :param n_chains: chains sampled in parallel after training
    :param n_samples: samples drawn from each chain, 1 000 steps apart
    :param output_folder: where the pictures go (created if missing)
    :param n_hidden: hidden units
    """
    run = runs.current()
    checks.positive_number("learning_rate", learning_rate)
    checks.positive_int("training_epochs", training_epochs)
    checks.positive_int("batch_size", batch_size)
    checks.positive_int("n_chains", n_chains)
    checks.positive_int("n_samples", n_samples)
    checks.positive_int("n_hidden", n_hidden)

    datasets = load_data(dataset)
    checks.batch_fits(batch_size, datasets)

    train_set_x, train_set_y = datasets[0]
    test_set_x, test_set_y = datasets[2]
    if n_chains >= test_set_x.get_value(borrow=True).shape[0]:
        raise ValueError(
            "n_chains=%i: the chains start from consecutive test images, so there must be fewer chains than the "
            "%i test images" % (n_chains, test_set_x.get_value(borrow=True).shape[0])
        )

    n_train_batches = train_set_x.get_value(borrow=True).shape[0] // batch_size

    index = T.lscalar()  # which minibatch
    x = T.matrix("x")  # images, one flattened image per row

    rng = numpy.random.RandomState(123)
    theano_rng = RandomStreams(rng.randint(2**30))

    # the persistent chain's hidden state, one row per example of a minibatch
    persistent_chain = pytensor.shared(numpy.zeros((batch_size, n_hidden), dtype=pytensor.config.floatX), borrow=True)

    rbm = RBM(input=x, n_visible=28 * 28, n_hidden=n_hidden, numpy_rng=rng, theano_rng=theano_rng)

    # PCD-15
    cost, updates = rbm.get_cost_updates(lr=learning_rate, persistent=persistent_chain, k=15)

    #################################
    #     Training the RBM          #
    #################################

    # returns the pseudo-likelihood, for monitoring; the point of a call is its updates
    train_rbm = run.function(
        [index],
        cost,
        updates=updates,
        givens={x: train_set_x[index * batch_size : (index + 1) * batch_size]},
        name="train_rbm",
        mode=tutorial_mode(),
    )

    plotting_time = 0.0
    start_time = timeit.default_timer()

    for epoch in range(training_epochs):
        mean_cost = []
        for batch_index in range(n_train_batches):
            mean_cost += [train_rbm(batch_index)]

        run.print("Training epoch %d, cost is " % epoch, numpy.mean(mean_cost))

        # the filters after each epoch; drawing them does not count as training time
        plotting_start = timeit.default_timer()
        weights = rbm.W.get_value(borrow=True).T
        path = os.path.join(output_folder, "filters_at_epoch_%i.png" % epoch)
        run.write_file(path, lambda p, w=weights: _save_filters(p, w), what="the RBM's filters")
        plotting_stop = timeit.default_timer()
        plotting_time += plotting_stop - plotting_start

    end_time = timeit.default_timer()

    pretraining_time = (end_time - start_time) - plotting_time

    run.print("Training took %f minutes" % (pretraining_time / 60.0))

    #################################
    #     Sampling from the RBM     #
    #################################
    number_of_test_samples = test_set_x.get_value(borrow=True).shape[0]

    # the chains start from n_chains consecutive test images, at a random place
    test_idx = rng.randint(number_of_test_samples - n_chains)
    persistent_vis_chain = pytensor.shared(
        numpy.asarray(test_set_x.get_value(borrow=True)[test_idx : test_idx + n_chains], dtype=pytensor.config.floatX)
    )

    # successive states of a chain are too alike to show: keep one in every plot_every
    plot_every = 1000
    (
        [presig_hids, hid_mfs, hid_samples, presig_vis, vis_mfs, vis_samples],
        updates,
    ) = scan(
        rbm.gibbs_vhv,
        outputs_info=[None, None, None, None, None, persistent_vis_chain],
        n_steps=plot_every,
        name="gibbs_vhv",
    )

    # each call continues the chains where the last one left them
    updates.update({persistent_vis_chain: vis_samples[-1]})
    # the mean-field visible units are drawn; the binary samples carry the chains on
    sample_fn = run.function(
        [], [vis_mfs[-1], vis_samples[-1]], updates=updates, name="sample_fn", mode=tutorial_mode()
    )

    # one row of n_chains 28 x 28 images per sample, with a pixel of spacing
    image_data = numpy.zeros((29 * n_samples + 1, 29 * n_chains - 1), dtype="uint8")
    for idx in range(n_samples):
        vis_mf, vis_sample = sample_fn()
        run.print(" ... plotting sample %d" % idx)
        image_data[29 * idx : 29 * idx + 28, :] = tile_raster_images(
            X=vis_mf, img_shape=(28, 28), tile_shape=(1, n_chains), tile_spacing=(1, 1)
        )

    run.write_file(os.path.join(output_folder, "samples.png"), lambda p: _save_png(p, image_data), what="the samples")


def _save_png(path, pixels):
    """Write a uint8 array as a grey-level PNG."""
    from PIL import Image

    with atomic_write(path) as tmp:
        Image.fromarray(pixels).save(tmp, format="PNG")


def _save_filters(path, weights):
    """Write the first 100 filters (rows of ``weights``) as a 10 x 10 grid of 28 x 28 images, PNG."""
    _save_png(path, tile_raster_images(X=weights, img_shape=(28, 28), tile_shape=(10, 10), tile_spacing=(1, 1)))


#: Flags of test_rbm's own parameters (the others are shared: cli.PARAMETERS).
FLAGS = {
    "training_epochs": (
        "--training-epochs",
        {"type": cli.positive_int, "metavar": "N"},
        "passes over the training set",
    ),
    "n_chains": ("--n-chains", {"type": cli.positive_int, "metavar": "N"}, "Gibbs chains sampled after training"),
    "n_samples": (
        "--n-samples",
        {"type": cli.positive_int, "metavar": "N"},
        "samples drawn from each chain, 1000 Gibbs steps apart",
    ),
    "output_folder": ("--output-folder", {"metavar": "DIR"}, "where the filter and sample pictures go"),
}


def write_plots(folder, rows, params):
    """Pictures of the state the run's last step function left, for ``--plots``.

    The run ends with the sampling stage, so ``params`` are what
    ``sample_fn`` updates: its two random streams' states and the chains'
    last binary visible samples (one 784-pixel row per chain), drawn as
    ``folder/chains.png``, one image per chain in a row.  Weights given
    instead (a 784-row matrix, such as a stopped run's ``W``) are drawn as
    ``folder/filters.png``, like ``filters_at_epoch_<epoch>.png``.
    """
    paths = []
    for value in map(numpy.asarray, params):
        if value.ndim != 2 or value.dtype.kind != "f":
            continue
        if value.shape[1] == 28 * 28:
            path = os.path.join(folder, "chains.png")
            pixels = tile_raster_images(
                X=value, img_shape=(28, 28), tile_shape=(1, value.shape[0]), tile_spacing=(1, 1)
            )
            _save_png(path, pixels)
        elif value.shape[0] == 28 * 28:
            path = os.path.join(folder, "filters.png")
            _save_filters(path, value.T)
        else:
            continue
        paths.append(path)
    return paths


if __name__ == "__main__":
    cli.main("rbm")
