"""Run the historical HMC test under Theano and keep every draw it made.

Not a test, and not run by pytest: it needs Theano 1.0.5 and the historical
tutorial's ``code/hmc`` folder.  The program's own printed lines pass
through untouched (they become the golden log); beside them this writes an
``.npz`` record of the chain:

- ``first``, ``last``: the first and last ``--keep`` draws, each the
  (batchsize, dim) positions that ``HMC_sampler.draw`` returned;
- ``draws_sha256``: the SHA-256 of the bytes of all draws, stacked in order;
- ``stepsize``, ``acceptance_rate``: the sampler's step size and average
  acceptance rate after every draw;
- ``rstate_sha256``: the SHA-256 of the bytes of each random stream's state
  after the last draw, in the order the draws were built;
- ``n_draws``, ``burnin``, ``n_samples``, ``dim``, ``floatX``.

Usage (``THEANO_FLAGS=floatX=...`` as for every golden run)::

    python hmc_record.py CODE_DIR OUT_NPZ                      # test_hmc()
    python hmc_record.py CODE_DIR OUT_NPZ --burnin B --n-samples N --dim D
        # sampler_on_nd_gaussian(HMC_sampler.new_from_shared_positions, B, N, dim=D)
"""

import argparse
import hashlib
import os
import sys

import numpy


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("code_dir")
    parser.add_argument("out_npz")
    parser.add_argument("--burnin", type=int)
    parser.add_argument("--n-samples", type=int)
    parser.add_argument("--dim", type=int)
    parser.add_argument("--keep", type=int, default=200)
    args = parser.parse_args()
    out = os.path.abspath(args.out_npz)

    # code/hmc holds hmc.py and test_hmc.py; test_hmc imports ``hmc`` first.
    sys.path.insert(0, os.path.join(os.path.abspath(args.code_dir), "hmc"))
    import hmc
    import test_hmc
    import theano

    draws, stepsizes, rates, samplers = [], [], [], []
    historical_draw = hmc.HMC_sampler.draw

    def draw(self, **kwargs):
        position = historical_draw(self, **kwargs)
        draws.append(numpy.array(position))
        stepsizes.append(self.stepsize.get_value())
        rates.append(self.avg_acceptance_rate.get_value())
        if not samplers:
            samplers.append(self)
        return position

    hmc.HMC_sampler.draw = draw

    if args.burnin is None:
        test_hmc.test_hmc()
        burnin, n_samples, dim = 1000, 1000, 5
    else:
        burnin, n_samples, dim = args.burnin, args.n_samples, args.dim
        test_hmc.sampler_on_nd_gaussian(hmc.HMC_sampler.new_from_shared_positions, burnin, n_samples, dim=dim)

    stacked = numpy.ascontiguousarray(numpy.stack(draws))
    # The random streams' states, in the order the draws were built (velocity, then acceptance).
    states = [entry[0].get_value(borrow=True) for entry in samplers[0].s_rng.state_updates]
    rstate = [hashlib.sha256(numpy.ascontiguousarray(s).tobytes()).hexdigest() for s in states]
    tmp = out + ".tmp.npz"
    numpy.savez_compressed(
        tmp,
        first=stacked[: args.keep],
        last=stacked[-args.keep :],
        draws_sha256=numpy.array(hashlib.sha256(stacked.tobytes()).hexdigest()),
        stepsize=numpy.array(stepsizes),
        acceptance_rate=numpy.array(rates),
        rstate_sha256=numpy.array(rstate),
        n_draws=numpy.array(len(draws)),
        burnin=numpy.array(burnin),
        n_samples=numpy.array(n_samples),
        dim=numpy.array(dim),
        floatX=numpy.array(theano.config.floatX),
    )
    os.replace(tmp, out)


if __name__ == "__main__":
    main()
