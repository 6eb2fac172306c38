"""Draw the HMC chapter's chain: where its three chains go, and how the step size adapts.

`test_hmc` prints statistics only, and the command line's ``--plots`` has
nothing to draw for it (no weights, no validation), so this script runs
the chapter's own ``sampler_on_nd_gaussian`` with a sampler that also
keeps every draw, then draws them.  Usage, from the repository's root:

    python docs/chapters/runs/hmc_chain.py OUT.png [BURNIN N_SAMPLES]
"""

import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy  # noqa: E402

from deeplearning_tutorial import hmc  # noqa: E402

out = sys.argv[1]
burnin, n_samples = (int(a) for a in sys.argv[2:4]) if len(sys.argv) > 2 else (1000, 1000)
draws, stepsizes, rates = [], [], []


def recording_sampler(*args, **kwargs):
    """The chapter's sampler, whose ``draw`` also keeps the positions, step size and acceptance rate."""
    sampler = hmc.HMC_sampler.new_from_shared_positions(*args, **kwargs)
    draw = sampler.draw

    def draw_and_keep(**kw):
        positions = draw(**kw)
        draws.append(positions)
        stepsizes.append(float(sampler.stepsize.get_value()))
        rates.append(float(sampler.avg_acceptance_rate.get_value()))
        return positions

    sampler.draw = draw_and_keep
    return sampler


# prints the chapter's report, as python -m deeplearning_tutorial.hmc does
hmc.sampler_on_nd_gaussian(recording_sampler, burnin=burnin, n_samples=n_samples, dim=5)
draws = numpy.asarray(draws)  # (draws, 3 chains, 5 dimensions)

# the target, drawn as sampler_on_nd_gaussian draws it (seed 123)
rng = numpy.random.RandomState(123)
mu = rng.rand(5) * 10
cov = rng.rand(5, 5)
cov = (cov + cov.T) / 2.0
cov[numpy.arange(5), numpy.arange(5)] = 1.0

i, j = 0, 2  # the most correlated pair of coordinates (0.71)
fig, (left, right) = plt.subplots(2, 1, figsize=(7, 9.5))
kept = draws[burnin:].reshape(-1, 5)
left.plot(kept[:, i], kept[:, j], ".", markersize=2, alpha=0.4, color="tab:blue", label=f"{len(kept)} kept draws")
# the target's 1- and 2-sigma ellipses in this plane
values, vectors = numpy.linalg.eigh(cov[numpy.ix_([i, j], [i, j])])
angle = numpy.linspace(0, 2 * numpy.pi, 200)
for k in (1, 2):
    ring = mu[[i, j]][:, None] + vectors @ (k * numpy.sqrt(values)[:, None] * [numpy.cos(angle), numpy.sin(angle)])
    left.plot(*ring, "k-", linewidth=1, label="target, 1 and 2 standard deviations" if k == 1 else None)
for c in range(3):
    path = draws[:200, c]
    label = "first 200 draws of each chain" if c == 0 else None
    left.plot(path[:, i], path[:, j], "-", linewidth=0.8, color="tab:red", label=label)
left.set_xlabel(f"x[{i}]")
left.set_ylabel(f"x[{j}]")
left.set_title("positions in one plane of the 5-dimensional Gaussian")
left.legend(loc="lower right", fontsize=8)
right.plot(stepsizes, color="tab:purple", label="step size")
right.set_xlabel("draw")
right.set_ylabel("step size")
right.set_yscale("log")
twin = right.twinx()
twin.plot(rates, color="tab:green", linewidth=0.8, label="average acceptance rate")
twin.axhline(0.9, color="tab:green", linestyle=":", linewidth=1)
twin.set_ylabel("average acceptance rate")
right.axvline(burnin, color="grey", linestyle="--", linewidth=1)
right.set_title("step size and average acceptance rate after each draw (dashed: end of burn-in)", fontsize=10)
lines = right.get_lines()[:1] + twin.get_lines()[:1]
twin.legend(lines, [line.get_label() for line in lines], loc="lower right", fontsize=8, framealpha=1)
fig.tight_layout()
fig.savefig(out, dpi=80)
