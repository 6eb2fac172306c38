"""Write the MRG31k3p fixtures in mrg/ from Theano 1.0.5 itself.

Not a test, and not run by pytest: it needs the legacy environment (Theano
1.0.5, NumPy 1.23.5; see README.md, "MRG random stream fixtures"). Our tests
(tests/ops/test_rng_mrg.py) only read the .npz files it writes, and rebuild
each case below with deeplearning_tutorial.ops.rng_mrg.

Usage, once per float type (the type is Theano's floatX):

    THEANO_FLAGS=floatX=float64,blas.ldflags=-lopenblas python make_mrg_fixtures.py
    THEANO_FLAGS=floatX=float32,blas.ldflags=-lopenblas python make_mrg_fixtures.py

One file per seed and float type, mrg/<seed name>.<floatX>.npz. Every case
is drawn from a fresh ``MRG_RandomStreams(seed)``. Arrays are stored whole
when small; a large one is stored as its first and last values together
with the SHA-256 of all its bytes, so that a test still compares every
value while the files stay small.
"""

import hashlib
import os
import sys

import numpy
import theano
import theano.tensor as T
from theano.sandbox.rng_mrg import MRG_RandomStreams

HERE = os.path.dirname(os.path.abspath(__file__))
OUT_DIR = os.path.join(HERE, "mrg")
WHOLE = 4000  # arrays up to this many elements are stored whole
ENDS = 600  # values kept from each end of a larger array

SEEDS = {
    # the default seed of MRG_RandomStreams
    "seed12345": 12345,
    # how the chapters seed their streams: the first draw of RandomState(123)
    "seed_rs123": int(numpy.random.RandomState(123).randint(2**30)),
    # a seed of six values (first three below M1, last three below M2)
    "seed6": [7, 11, 13, 2147462578, 3, 5],
}

P_VECTOR = [0.0, 0.05, 0.3, 0.5, 0.7, 0.95, 0.999, 1.0]


def store(out, key, value):
    a = numpy.ascontiguousarray(value)
    if a.size <= WHOLE:
        out[key] = a
        return
    flat = a.ravel()
    out[key + ".shape"] = numpy.asarray(a.shape, dtype="int64")
    out[key + ".head"] = flat[:ENDS]
    out[key + ".tail"] = flat[-ENDS:]
    out[key + ".sha256"] = numpy.asarray(hashlib.sha256(a.tobytes()).hexdigest())


def cases(seed, floatX, out):
    x = T.matrix("x")

    # uniform: constant size (nstreams guessed from it), default bounds
    R = MRG_RandomStreams(seed)
    u = R.uniform(size=(30, 50))
    out["uniform.n_states"] = numpy.asarray(R.state_updates[0][0].get_value().shape[0])
    f = theano.function([], u)
    store(out, "uniform.call0", f())
    store(out, "uniform.call1", f())
    store(out, "uniform.state_after", R.state_updates[0][0].get_value())

    # uniform with bounds
    R = MRG_RandomStreams(seed)
    store(out, "uniform_low_high", theano.function([], R.uniform(size=(500,), low=-2.5, high=3.0))())
    # bounds whose product with the draw is not exact in either float type (rounding of u * (high - low) + low)
    R = MRG_RandomStreams(seed)
    store(out, "uniform_low_high_inexact", theano.function([], R.uniform(size=(500,), low=0.1, high=0.7))())

    # uniform with a given number of streams: many values per stream
    R = MRG_RandomStreams(seed)
    f = theano.function([], R.uniform(size=(1000,), nstreams=7))
    store(out, "uniform_nstreams7.call0", f())
    store(out, "uniform_nstreams7.call1", f())

    # uniform whose size is symbolic (15360 streams), as the chapters draw it;
    # 20 x 784 values take every stream once and 320 of them twice
    R = MRG_RandomStreams(seed)
    f = theano.function([x], R.uniform(size=x.shape))
    data = numpy.zeros((20, 784), dtype=floatX)
    store(out, "uniform_symbolic.call0", f(data))
    store(out, "uniform_symbolic.call1", f(data))
    store(out, "uniform_symbolic.state_after", R.state_updates[0][0].get_value())

    # binomial: a vector of probabilities broadcast along rows, floatX and int64
    R = MRG_RandomStreams(seed)
    p = numpy.asarray(P_VECTOR, dtype=floatX)
    store(out, "binomial_pvec", theano.function([], R.binomial(size=(250, 8), p=p, dtype=floatX))())
    R = MRG_RandomStreams(seed)
    store(out, "binomial_int64", theano.function([], R.binomial(size=(40, 25), p=0.3))())

    # binomial as the autoencoders corrupt their input: p = 1 - level, symbolic size
    R = MRG_RandomStreams(seed)
    level = T.scalar("level")
    mask = R.binomial(size=x.shape, n=1, p=1 - level, dtype=floatX)
    f = theano.function([x, level], mask * x)
    ones = numpy.ones((20, 784), dtype=floatX)
    store(out, "corrupt.level0_3", f(ones, 0.3))
    store(out, "corrupt.level0_1", f(ones, 0.1))
    R = MRG_RandomStreams(seed)
    g = theano.function([x], R.binomial(size=x.shape, n=1, p=1 - 0.3, dtype=floatX) * x)
    store(out, "corrupt_const.level0_3", g(ones))

    # normal: odd constant size, then with a mean and deviation, then symbolic size
    R = MRG_RandomStreams(seed)
    store(out, "normal", theano.function([], R.normal(size=(1001,)))())
    R = MRG_RandomStreams(seed)
    store(out, "normal_avg_std", theano.function([], R.normal(size=(25, 20), avg=2.0, std=0.5))())
    R = MRG_RandomStreams(seed)
    store(out, "normal_avg_std_inexact", theano.function([], R.normal(size=(25, 20), avg=0.3, std=1.7))())
    R = MRG_RandomStreams(seed)
    store(out, "normal_symbolic", theano.function([x], R.normal(size=x.shape))(numpy.zeros((13, 11), dtype=floatX)))

    # several draws from one stream object, in build order; the second is left out of the
    # compiled function, and still takes its streams
    R = MRG_RandomStreams(seed)
    a = R.uniform(size=(10, 10))
    R.normal(size=(7,))
    c = R.binomial(size=(30,), p=0.3, dtype=floatX)
    d = R.uniform(size=x.shape)
    f = theano.function([x], [a, c, d])
    small = numpy.zeros((3, 4), dtype=floatX)
    for call in range(2):
        va, vc, vd = f(small)
        store(out, "order.a.call%d" % call, va)
        store(out, "order.c.call%d" % call, vc)
        store(out, "order.d.call%d" % call, vd)
    store(out, "order.base_state", R.rstate)
    for i, (state, _, _, _) in enumerate(R.state_updates):
        store(out, "order.state%d" % i, state.get_value())

    # seed(): every state goes back to a fresh start from the new seed
    R.seed(4321)
    va, vc, vd = f(small)
    store(out, "order.reseed4321.a", va)
    store(out, "order.reseed4321.d", vd)


def main():
    floatX = theano.config.floatX
    os.makedirs(OUT_DIR, exist_ok=True)
    for name, seed in SEEDS.items():
        out = {
            "seed": numpy.asarray(seed, dtype="int64"),
            "theano_version": numpy.asarray(theano.__version__),
            "floatX": numpy.asarray(floatX),
        }
        cases(seed, floatX, out)
        path = os.path.join(OUT_DIR, "%s.%s.npz" % (name, floatX))
        tmp = path + ".tmp.npz"
        numpy.savez_compressed(tmp, **out)
        os.replace(tmp, path)
        print(path, os.path.getsize(path), "bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
