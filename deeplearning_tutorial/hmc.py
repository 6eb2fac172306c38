"""Hybrid Monte-Carlo sampling (HMC) of a multivariate Gaussian.

Hybrid (or Hamiltonian) Monte-Carlo draws from a density ``p(x) ~ exp(-E(x))``
by treating ``x`` as the position of a particle with energy ``E`` and
giving it a random momentum: the particle follows Hamilton's equations for
a while (integrated with ``n_steps`` leap-frog steps, each a gradient of
``E``), and the end point is accepted or rejected by the Metropolis-Hastings
rule on the total energy, the Hamiltonian.  The step size of the leap-frog
steps adapts so that the average acceptance rate tracks a target (0.9).

The whole move is one compiled function: the Gaussian momenta and the
acceptance uniforms come from Theano's MRG31k3p random streams
(`deeplearning_tutorial.ops.rng_mrg`) seeded as the historical code seeded
them, and the leap-frog steps run in PyTensor's ``scan`` with the energy's
gradient inside, so the chain is the historical code's chain.

Ported from the Theano "Deep Learning Tutorials" (``hmc/hmc.py`` and its
test, ``hmc/test_hmc.py``) with the historical names, defaults, seeds and
printed lines.  Run it as ``python -m deeplearning_tutorial.hmc``: it
samples the historical test's Gaussian and prints the target and
empirical statistics and the sampler's final step size and acceptance rate.

References: S. Duane, A. D. Kennedy, B. J. Pendleton, D. Roweth, "Hybrid
Monte Carlo", Physics Letters B 195 (1987); R. M. Neal, "MCMC using
Hamiltonian dynamics", Handbook of Markov Chain Monte Carlo (2011).
"""

import os
import sys

if __name__ == "__main__" and not __package__:
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy
import pytensor
import pytensor.tensor as TT
from pytensor.graph.rewriting.basic import dfs_rewriter, node_rewriter
from pytensor.scalar import Add, Mul, Sub
from pytensor.tensor.elemwise import Elemwise

from deeplearning_tutorial import checks, cli, runs
from deeplearning_tutorial.link.numba.mode import BEFORE_FUSION, NumbaBlasLinker
from deeplearning_tutorial.link.numpy.vm import NumpyVMLinker
from deeplearning_tutorial.modes import tutorial_mode
from deeplearning_tutorial.ops.rng_mrg import MRG_RandomStream, MulAdd

# -- rounding as Theano's compiled code rounded -----------------------------------
#
# Theano fused each chain of element-wise operations into one C loop and
# compiled it with g++ -O3 -march=native, which contracts a product that
# feeds a sum into one fused multiply-add (a single rounding) on a CPU that
# has one.  The leap-frog steps are such sums (``pos + step * vel``,
# ``vel - 0.5 * step * grad``), so the historical chain rounds them once;
# NumPy rounds the product and the sum apart.  The rewrite below makes the
# same contractions in this chapter's graphs, in the default (NUMPY) mode
# and in NUMBA_BLAS, so that every draw is the historical draw, bit for bit, in float64 and
# float32 (tests/test_hmc.py).  Where both terms of a sum are products, g++
# fused the second one (checked on Theano's own compiled loop).


def _single_use_product(fgraph, var):
    """The inputs of the element-wise product that computes ``var`` and is used only once, else None."""
    node = var.owner
    if node is None or not isinstance(node.op, Elemwise) or not isinstance(node.op.scalar_op, Mul):
        return None
    if len(fgraph.clients[var]) != 1 or var.type.dtype not in ("float32", "float64"):
        return None
    return node.inputs


def _fused(factors, addend, negate, dtype):
    """``addend +/- product(factors)`` with the last multiplication and the sum rounded once."""
    head = factors[0] if len(factors) == 2 else TT.mul(*factors[:-1])
    return MulAdd(dtype)(-head if negate else head, factors[-1], addend)


@node_rewriter([Elemwise])
def contract_multiply_add(fgraph, node):
    """``a + b * c`` and ``a - b * c`` (element-wise, floating point) as one fused multiply-add."""
    scalar_op = node.op.scalar_op
    if not isinstance(scalar_op, (Add, Sub)) or len(node.inputs) != 2:
        return None
    out = node.outputs[0]
    if out.type.dtype not in ("float32", "float64"):
        return None
    left, right = node.inputs
    factors = _single_use_product(fgraph, right)
    if factors is not None and right.type.dtype == out.type.dtype:
        fused = _fused(factors, left, isinstance(scalar_op, Sub), out.type.dtype)
    elif isinstance(scalar_op, Add) and (factors := _single_use_product(fgraph, left)) is not None:
        if left.type.dtype != out.type.dtype:
            return None
        fused = _fused(factors, right, False, out.type.dtype)
    else:
        return None
    if fused.type.broadcastable != out.type.broadcastable:
        return None
    return [fused]


def hmc_mode():
    """The mode this chapter compiles with: the tutorials' mode, with Theano's contractions in NUMPY and NUMBA_BLAS.

    Other modes (NUMBA, JAX, ...) compile the graphs as they are, and
    their draws may then differ from the historical ones in the last bits.
    """
    mode = tutorial_mode()
    if isinstance(mode.linker, NumpyVMLinker):
        # after the rewrites that flatten sums and products (48), before the in-place ones (49.5)
        mode = mode.register((dfs_rewriter(contract_multiply_add), 49.2))
    elif isinstance(mode.linker, NumbaBlasLinker):
        # there before element-wise fusion (49), which would hide the sums in fused loops
        mode = mode.register((dfs_rewriter(contract_multiply_add), BEFORE_FUSION))
    return mode


def sharedX(X, name):
    """A shared variable holding ``X`` in floatX."""
    return pytensor.shared(numpy.asarray(X, dtype=pytensor.config.floatX), name=name)


def kinetic_energy(vel):
    """The kinetic energy ``|v|^2 / 2`` (unit mass) of each row of the velocity matrix ``vel``, as a vector."""
    return 0.5 * (vel**2).sum(axis=1)


def hamiltonian(pos, vel, energy_fn):
    """The total energy of each particle: potential ``energy_fn(pos)`` plus kinetic energy of ``vel``.

    :param pos: symbolic matrix, one position per row
    :param vel: symbolic matrix, one velocity per row
    :param energy_fn: maps a symbolic position matrix to the vector of its potential energies
    """
    # unit mass
    return energy_fn(pos) + kinetic_energy(vel)


def metropolis_hastings_accept(energy_prev, energy_next, s_rng):
    """Whether each proposal is accepted: ``exp(energy_prev - energy_next) >= u`` with ``u`` uniform in (0, 1).

    A proposal that lowers the energy is always accepted; one that raises
    it by ``d`` is accepted with probability ``exp(-d)``.

    :param energy_prev: vector of the Hamiltonians before the move
    :param energy_next: vector of the Hamiltonians of the proposals
    :param s_rng: the MRG random streams that draw ``u``
    """
    ediff = energy_prev - energy_next
    return (TT.exp(ediff) - s_rng.uniform(size=energy_prev.shape)) >= 0


def simulate_dynamics(initial_pos, initial_vel, stepsize, n_steps, energy_fn):
    """The position and velocity reached after ``n_steps`` leap-frog steps of Hamiltonian dynamics.

    The leap-frog integrator alternates half-known quantities: a half step
    of the velocity, then ``n_steps`` full steps of the position each
    followed by a full step of the velocity (the last one only a half
    step), so that position and velocity end at the same time.

    :param initial_pos: symbolic matrix of starting positions, one per row
    :param initial_vel: symbolic matrix of starting velocities
    :param stepsize: shared scalar, the time step
    :param n_steps: number of position steps (a Python integer)
    :param energy_fn: maps a symbolic position matrix to the vector of its potential energies
    :returns: (final positions, final velocities)
    """

    def leapfrog(pos, vel, step):
        """One leap-frog step inside ``scan``: ``vel`` is half a step behind ``pos``.

        From the position at time t and the velocity at t - step/2, the
        velocity at t + step/2 (a gradient step) and then the position at
        t + step.  Returns the two, and no updates.
        """
        dE_dpos = TT.grad(energy_fn(pos).sum(), pos)
        new_vel = vel - step * dE_dpos
        new_pos = pos + step * new_vel
        return [new_pos, new_vel], {}

    # the velocity half a step ahead of the starting position
    initial_energy = energy_fn(initial_pos)
    dE_dpos = TT.grad(initial_energy.sum(), initial_pos)
    vel_half_step = initial_vel - 0.5 * stepsize * dE_dpos

    # the first position step
    pos_full_step = initial_pos + stepsize * vel_half_step

    # the remaining n_steps - 1 steps of position and velocity, in scan; the
    # loop draws no random numbers, so it has no updates for the compiled function
    all_pos, all_vel = pytensor.scan(
        leapfrog,
        outputs_info=[
            dict(initial=pos_full_step),
            dict(initial=vel_half_step),
        ],
        non_sequences=[stepsize],
        n_steps=n_steps - 1,
        mode=hmc_mode(),
        return_updates=False,
    )
    final_pos = all_pos[-1]
    final_vel = all_vel[-1]

    # the velocity is half a step behind the last position: a last half step
    energy = energy_fn(final_pos)
    final_vel = final_vel - 0.5 * stepsize * TT.grad(energy.sum(), final_pos)

    return final_pos, final_vel


def hmc_move(s_rng, positions, energy_fn, stepsize, n_steps):
    """One HMC proposal and its acceptance: Gaussian velocities, ``n_steps`` leap-frog steps, Metropolis-Hastings.

    :param s_rng: MRG random streams for the velocities and the acceptance uniforms
    :param positions: shared matrix of the current positions, one per row
    :param energy_fn: maps a symbolic position matrix to the vector of its potential energies
    :param stepsize: shared scalar, the leap-frog time step
    :param n_steps: leap-frog steps per proposal
    :returns: (the vector of acceptances, the matrix of proposed positions)
    """
    # velocities drawn from a standard Gaussian
    initial_vel = s_rng.normal(size=positions.shape)
    # follow the dynamics from there
    final_pos, final_vel = simulate_dynamics(
        initial_pos=positions,
        initial_vel=initial_vel,
        stepsize=stepsize,
        n_steps=n_steps,
        energy_fn=energy_fn,
    )
    # accept or reject each particle's end point on the change of its Hamiltonian
    accept = metropolis_hastings_accept(
        energy_prev=hamiltonian(positions, initial_vel, energy_fn),
        energy_next=hamiltonian(final_pos, final_vel, energy_fn),
        s_rng=s_rng,
    )
    return accept, final_pos


def hmc_updates(
    positions,
    stepsize,
    avg_acceptance_rate,
    final_pos,
    accept,
    target_acceptance_rate,
    stepsize_inc,
    stepsize_dec,
    stepsize_min,
    stepsize_max,
    avg_acceptance_slowness,
):
    """The updates of one HMC draw: the positions, the adapted step size and the average acceptance rate.

    :param positions: shared matrix of the current positions
    :param stepsize: shared scalar step size
    :param avg_acceptance_rate: shared scalar, moving average of the acceptance rate
    :param final_pos: symbolic matrix of the proposed positions
    :param accept: symbolic boolean vector, one acceptance per particle
    :param target_acceptance_rate: the rate that the step size adapts to
    :param stepsize_inc: factor applied to the step size when the average rate is above the target
    :param stepsize_dec: factor applied to it otherwise
    :param stepsize_min, stepsize_max: bounds of the step size
    :param avg_acceptance_slowness: weight of the old average in the moving average (its complement
        weighs the new draw's acceptance rate)
    :returns: a list of (shared variable, new value) pairs
    """
    # each accepted particle moves to its proposal, the others stay
    accept_matrix = accept.dimshuffle(0, *(("x",) * (final_pos.ndim - 1)))
    new_positions = TT.switch(accept_matrix, final_pos, positions)

    # a larger step when more proposals are accepted than the target asks (better mixing),
    # a smaller one when fewer are
    _new_stepsize = TT.switch(
        avg_acceptance_rate > target_acceptance_rate, stepsize * stepsize_inc, stepsize * stepsize_dec
    )
    new_stepsize = TT.clip(_new_stepsize, stepsize_min, stepsize_max)

    # exponential moving average of the fraction of particles accepted
    mean_dtype = pytensor.scalar.upcast(accept.dtype, avg_acceptance_rate.dtype)
    new_acceptance_rate = TT.add(
        avg_acceptance_slowness * avg_acceptance_rate,
        (1.0 - avg_acceptance_slowness) * accept.mean(dtype=mean_dtype),
    )
    return [(positions, new_positions), (stepsize, new_stepsize), (avg_acceptance_rate, new_acceptance_rate)]


class HMC_sampler:
    """An HMC chain over the rows of a shared position matrix, with an adaptive step size.

    Build it with `new_from_shared_positions`, which compiles the move into
    the function ``simulate``; each `draw` calls it once and returns the new
    positions.  The default hyper-parameters are those of Marc'Aurelio
    Ranzato's mcRBM training code, as in the historical tutorial.
    """

    def __init__(self, **kwargs):
        self.__dict__.update(kwargs)

    @classmethod
    def new_from_shared_positions(
        cls,
        shared_positions,
        energy_fn,
        initial_stepsize=0.01,
        target_acceptance_rate=0.9,
        n_steps=20,
        stepsize_dec=0.98,
        stepsize_min=0.001,
        stepsize_max=0.25,
        stepsize_inc=1.02,
        # weight of the old average: 1.0 would never move
        avg_acceptance_slowness=0.9,
        seed=12345,
    ):
        """A sampler whose chain starts at (and updates) ``shared_positions``.

        :param shared_positions: shared matrix of starting positions, one particle per row
        :param energy_fn: maps a symbolic position matrix to the vector of its potential
            energies; the sum of that vector must have a gradient with respect to the positions
        :param initial_stepsize: the first leap-frog time step
        :param target_acceptance_rate: the average acceptance rate the step size adapts to
        :param n_steps: leap-frog steps per draw
        :param stepsize_dec, stepsize_inc: factors that shrink or grow the step size each draw
        :param stepsize_min, stepsize_max: bounds of the step size
        :param avg_acceptance_slowness: weight of the old average in the moving average
        :param seed: seed of the MRG random streams
        """
        run = runs.current()
        stepsize = sharedX(initial_stepsize, "hmc_stepsize")
        avg_acceptance_rate = sharedX(target_acceptance_rate, "avg_acceptance_rate")
        s_rng = MRG_RandomStream(seed)

        # the graph of one draw
        accept, final_pos = hmc_move(s_rng, shared_positions, energy_fn, stepsize, n_steps)

        simulate_updates = hmc_updates(
            shared_positions,
            stepsize,
            avg_acceptance_rate,
            final_pos=final_pos,
            accept=accept,
            stepsize_min=stepsize_min,
            stepsize_max=stepsize_max,
            stepsize_inc=stepsize_inc,
            stepsize_dec=stepsize_dec,
            target_acceptance_rate=target_acceptance_rate,
            avg_acceptance_slowness=avg_acceptance_slowness,
        )

        simulate = run.function([], [], updates=simulate_updates, mode=hmc_mode())
        # The positions as a compiled function's output, so that a resumed
        # command-line run gets back the draws its replayed part made.
        get_position = run.function([], shared_positions, mode=hmc_mode())

        return cls(
            positions=shared_positions,
            stepsize=stepsize,
            stepsize_min=stepsize_min,
            stepsize_max=stepsize_max,
            avg_acceptance_rate=avg_acceptance_rate,
            target_acceptance_rate=target_acceptance_rate,
            s_rng=s_rng,
            _updates=simulate_updates,
            simulate=simulate,
            get_position=get_position,
        )

    def draw(self, **kwargs):
        """Advance the chain by one HMC move and return the new positions (a new array).

        ``kwargs`` are accepted for the historical signature (they went to
        ``get_value``); the positions returned are always a copy.
        """
        self.simulate()
        return self.get_position()


def sampler_on_nd_gaussian(sampler_cls, burnin, n_samples, dim=10):
    """Sample a ``dim``-dimensional Gaussian with HMC and print its statistics beside the empirical ones.

    The Gaussian's mean and covariance are drawn from
    ``numpy.random.RandomState(123)``, as are the three chains' starting
    points; after ``burnin`` draws, ``n_samples`` draws are kept and their
    mean and covariance printed.

    :param sampler_cls: builds the sampler from (shared positions, energy function, keyword arguments),
        e.g. ``HMC_sampler.new_from_shared_positions``
    :param burnin: draws made and thrown away first
    :param n_samples: draws kept
    :param dim: dimension of the Gaussian
    :returns: the sampler
    """
    run = runs.current()
    batchsize = 3

    rng = numpy.random.RandomState(123)

    # the Gaussian's mean, and a random symmetric "covariance" with unit
    # variances: positive definite for test_hmc's 5 dimensions, but not for
    # 10, where the energy has no minimum and the chains run away
    mu = numpy.array(rng.rand(dim) * 10, dtype=pytensor.config.floatX)
    cov = numpy.array(rng.rand(dim, dim), dtype=pytensor.config.floatX)
    cov = (cov + cov.T) / 2.0
    cov[numpy.arange(dim), numpy.arange(dim)] = 1.0
    cov_inv = numpy.linalg.inv(cov)

    # its energy, the negative log-density up to a constant
    def gaussian_energy(x):
        return 0.5 * (TT.dot((x - mu), cov_inv) * (x - mu)).sum(axis=1)

    # three chains, from random starting points
    position = rng.randn(batchsize, dim).astype(pytensor.config.floatX)
    position = pytensor.shared(position)

    sampler = sampler_cls(position, gaussian_energy, initial_stepsize=1e-3, stepsize_max=0.5)

    # the burn-in draws, thrown away
    garbage = [sampler.draw() for r in range(burnin)]  # noqa: F841
    # the kept draws: n_samples x batchsize x dim ...
    _samples = numpy.asarray([sampler.draw() for r in range(n_samples)])
    # ... as (n_samples * batchsize) x dim
    samples = _samples.T.reshape(dim, -1).T

    run.print("****** TARGET VALUES ******")
    run.print("target mean:", mu)
    run.print("target cov:\n", cov)

    run.print("****** EMPIRICAL MEAN/COV USING HMC ******")
    run.print("empirical mean: ", samples.mean(axis=0))
    run.print("empirical_cov:\n", numpy.cov(samples.T))

    run.print("****** HMC INTERNALS ******")
    run.print("final stepsize", sampler.stepsize.get_value())
    run.print("final acceptance_rate", sampler.avg_acceptance_rate.get_value())

    return sampler


def test_hmc(burnin=1000, n_samples=1000, dim=5):
    """The historical test: a 5-dimensional Gaussian, 1 000 burn-in draws, 1 000 kept; check the sampler's state.

    The average acceptance rate must end within 0.1 of the target and the
    step size within its bounds.  The parameters (not in the historical
    test, which had none) default to its values; the command line gives
    them flags.
    """
    if not checks.is_int(burnin) or burnin < 0:
        raise ValueError(f"burnin must be an integer >= 0, got {burnin!r}")
    checks.positive_int("n_samples", n_samples)
    checks.positive_int("dim", dim)
    sampler = sampler_on_nd_gaussian(HMC_sampler.new_from_shared_positions, burnin=burnin, n_samples=n_samples, dim=dim)
    rate, target = sampler.avg_acceptance_rate.get_value(), sampler.target_acceptance_rate
    if not abs(rate - target) < 0.1:
        raise checks.ResultCheckFailed(
            f"the average acceptance rate ended at {float(rate):.4f}, more than 0.1 from its target {target} "
            "(the historical test's check; the statistics above are those of the draws made)"
        )
    stepsize = sampler.stepsize.get_value()
    if not sampler.stepsize_min <= stepsize <= sampler.stepsize_max:
        raise checks.ResultCheckFailed(
            f"the step size ended at {float(stepsize)}, outside [{sampler.stepsize_min}, {sampler.stepsize_max}]"
        )


#: Why --plots and --history have nothing to write for this chapter (the command line refuses them).
NO_TRAINING_RECORD = "hmc draws samples and prints their statistics; it has no epochs to record or weights to draw"

#: Flags of test_hmc's parameters.
FLAGS = {
    "burnin": (
        "--burnin",
        {"type": cli._number(int, lambda v: v >= 0, "an integer >= 0"), "metavar": "N"},
        "draws made and thrown away first",
    ),
    "n_samples": ("--n-samples", {"type": cli.positive_int, "metavar": "N"}, "draws kept for the statistics"),
    "dim": ("--dim", {"type": cli.positive_int, "metavar": "N"}, "dimension of the Gaussian"),
}


if __name__ == "__main__":
    cli.main("hmc")
