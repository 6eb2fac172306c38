"""The MRG31k3p random streams against numbers drawn by Theano 1.0.5 itself.

The fixtures in tests/legacy/mrg/ were written by tests/legacy/make_mrg_fixtures.py
under Theano; each case here rebuilds the same graph with our streams and
compares every value bit for bit (large arrays through the SHA-256 of all
their bytes, and their first and last values).
"""

import glob
import hashlib
import os

import numpy
import pytensor
import pytensor.tensor as pt
import pytest

from deeplearning_tutorial.modes import tutorial_mode
from deeplearning_tutorial.ops import mrg_kernels, rng_mrg
from deeplearning_tutorial.ops.rng_mrg import MRG_RandomStreams, guess_n_streams
from tests.helpers import take_way

FIXTURES = sorted(glob.glob(os.path.join(os.path.dirname(__file__), "..", "legacy", "mrg", "*.npz")))
P_VECTOR = [0.0, 0.05, 0.3, 0.5, 0.7, 0.95, 0.999, 1.0]


class Fixture:
    def __init__(self, path):
        self.data = numpy.load(path)
        self.floatX = str(self.data["floatX"])
        seed = self.data["seed"]
        self.seed = int(seed) if seed.ndim == 0 else [int(s) for s in seed]
        self.checked = set()

    def check(self, key, value):
        value = numpy.asarray(value)
        self.checked.add(key)
        if key in self.data:
            ref = self.data[key]
            assert value.dtype == ref.dtype and value.shape == ref.shape, key
            assert numpy.array_equal(value, ref), "%s: %i values differ" % (key, (value != ref).sum())
            return
        ref_shape = tuple(self.data[key + ".shape"])
        assert value.shape == ref_shape, key
        flat = value.ravel()
        head, tail = self.data[key + ".head"], self.data[key + ".tail"]
        assert flat.dtype == head.dtype, key
        assert numpy.array_equal(flat[: head.size], head), key
        assert numpy.array_equal(flat[-tail.size :], tail), key
        assert hashlib.sha256(numpy.ascontiguousarray(value).tobytes()).hexdigest() == str(
            self.data[key + ".sha256"]
        ), key

    def keys(self):
        return {k.split(".shape")[0].split(".head")[0].split(".tail")[0].split(".sha256")[0] for k in self.data.files}


@pytest.fixture(params=FIXTURES, ids=[os.path.basename(p)[:-4] for p in FIXTURES])
def fixture(request):
    fx = Fixture(request.param)
    with pytensor.config.change_flags(floatX=fx.floatX):
        yield fx


def compile_(inputs, outputs):
    return pytensor.function(inputs, outputs, mode=tutorial_mode())


def test_fixtures_exist():
    names = sorted(os.path.basename(p) for p in FIXTURES)
    assert len(names) == 6 and {n.split(".")[1] for n in names} == {"float32", "float64"}


def test_every_case_matches_theano(fixture):
    seed, fx = fixture.seed, fixture.floatX
    x = pt.matrix("x")

    R = MRG_RandomStreams(seed)
    u = R.uniform(size=(30, 50))
    fixture.check("uniform.n_states", numpy.asarray(R.state_updates[0][0].get_value().shape[0]))
    f = compile_([], u)
    fixture.check("uniform.call0", f())
    fixture.check("uniform.call1", f())
    fixture.check("uniform.state_after", R.state_updates[0][0].get_value())

    R = MRG_RandomStreams(seed)
    fixture.check("uniform_low_high", compile_([], R.uniform(size=(500,), low=-2.5, high=3.0))())
    R = MRG_RandomStreams(seed)
    fixture.check("uniform_low_high_inexact", compile_([], R.uniform(size=(500,), low=0.1, high=0.7))())

    R = MRG_RandomStreams(seed)
    f = compile_([], R.uniform(size=(1000,), nstreams=7))
    fixture.check("uniform_nstreams7.call0", f())
    fixture.check("uniform_nstreams7.call1", f())

    R = MRG_RandomStreams(seed)
    f = compile_([x], R.uniform(size=x.shape))
    data = numpy.zeros((20, 784), dtype=fx)
    fixture.check("uniform_symbolic.call0", f(data))
    fixture.check("uniform_symbolic.call1", f(data))
    fixture.check("uniform_symbolic.state_after", R.state_updates[0][0].get_value())

    R = MRG_RandomStreams(seed)
    p = numpy.asarray(P_VECTOR, dtype=fx)
    fixture.check("binomial_pvec", compile_([], R.binomial(size=(250, 8), p=p, dtype=fx))())
    R = MRG_RandomStreams(seed)
    fixture.check("binomial_int64", compile_([], R.binomial(size=(40, 25), p=0.3))())

    R = MRG_RandomStreams(seed)
    level = pt.scalar("level")
    f = compile_([x, level], R.binomial(size=x.shape, n=1, p=1 - level, dtype=fx) * x)
    ones = numpy.ones((20, 784), dtype=fx)
    fixture.check("corrupt.level0_3", f(ones, 0.3))
    fixture.check("corrupt.level0_1", f(ones, 0.1))
    R = MRG_RandomStreams(seed)
    g = compile_([x], R.binomial(size=x.shape, n=1, p=1 - 0.3, dtype=fx) * x)
    fixture.check("corrupt_const.level0_3", g(ones))

    R = MRG_RandomStreams(seed)
    fixture.check("normal", compile_([], R.normal(size=(1001,)))())
    R = MRG_RandomStreams(seed)
    fixture.check("normal_avg_std", compile_([], R.normal(size=(25, 20), avg=2.0, std=0.5))())
    R = MRG_RandomStreams(seed)
    fixture.check("normal_avg_std_inexact", compile_([], R.normal(size=(25, 20), avg=0.3, std=1.7))())
    R = MRG_RandomStreams(seed)
    fixture.check("normal_symbolic", compile_([x], R.normal(size=x.shape))(numpy.zeros((13, 11), dtype=fx)))

    # build order, with a draw (the normal) left out of the function
    R = MRG_RandomStreams(seed)
    a = R.uniform(size=(10, 10))
    R.normal(size=(7,))
    c = R.binomial(size=(30,), p=0.3, dtype=fx)
    d = R.uniform(size=x.shape)
    f = compile_([x], [a, c, d])
    small = numpy.zeros((3, 4), dtype=fx)
    for call in range(2):
        va, vc, vd = f(small)
        fixture.check("order.a.call%d" % call, va)
        fixture.check("order.c.call%d" % call, vc)
        fixture.check("order.d.call%d" % call, vd)
    fixture.check("order.base_state", R.rstate)
    for i, (state, _, _, _) in enumerate(R.state_updates):
        fixture.check("order.state%d" % i, state.get_value())
    R.seed(4321)
    va, vc, vd = f(small)
    fixture.check("order.reseed4321.a", va)
    fixture.check("order.reseed4321.d", vd)

    # nothing in the fixture file went unchecked
    assert fixture.keys() - {"seed", "theano_version", "floatX"} == fixture.checked


def test_the_state_advances_through_default_update():
    R = MRG_RandomStreams(234)
    u = R.uniform(size=(4, 5))
    state = R.state_updates[0][0]
    assert state.default_update is R.state_updates[0][1]
    before = state.get_value().copy()
    f = compile_([], u)
    first, second = f(), f()
    assert not numpy.array_equal(first, second)
    assert not numpy.array_equal(state.get_value(), before)
    # the same draws from the reference directly
    new_state, values = rng_mrg.mrg_draw(before, 20, pytensor.config.floatX)
    assert numpy.array_equal(first.ravel(), values)
    assert numpy.array_equal(second.ravel(), rng_mrg.mrg_draw(new_state, 20, pytensor.config.floatX)[1])
    # an update given to the function replaces the default one
    kept = state.get_value().copy()
    g = pytensor.function([], u, mode=tutorial_mode(), updates=[(state, state)])
    assert numpy.array_equal(g(), g())
    assert numpy.array_equal(state.get_value(), kept)


def test_substreams_are_jumps_of_2_72_steps():
    base = numpy.asarray([12345] * 6)
    states = rng_mrg.substream_states(base, 37)
    step = rng_mrg._SUBSTREAM_JUMPS
    for i in range(1, 37):
        expect = rng_mrg._apply(step[0], step[1], states[i - 1 : i].astype(numpy.int64))[0]
        assert numpy.array_equal(states[i], expect)
    # a jump of 2**72 steps is 2**72 single steps: check the matrices' powers on small exponents
    one1, one2 = rng_mrg._jump(rng_mrg.A1, rng_mrg.M1, 0), rng_mrg._jump(rng_mrg.A2, rng_mrg.M2, 0)
    state = base.astype(numpy.int64).reshape(1, 6)
    walked = state
    for _ in range(4):
        walked = rng_mrg._apply(one1, one2, walked)
    four = rng_mrg._apply(rng_mrg._jump(rng_mrg.A1, rng_mrg.M1, 2), rng_mrg._jump(rng_mrg.A2, rng_mrg.M2, 2), state)
    assert numpy.array_equal(walked, four)
    # and one matrix step is one step of the generator
    new_state, _ = rng_mrg.mrg_draw(base.reshape(1, 6).astype(numpy.int32), 1, "float64")
    assert numpy.array_equal(new_state[0], rng_mrg._apply(one1, one2, state)[0])


def _random_states(rng, n_streams):
    states = numpy.empty((n_streams, 6), dtype=numpy.int32)
    states[:, :3] = rng.integers(0, rng_mrg.M1, (n_streams, 3))
    states[:, 3:] = rng.integers(0, rng_mrg.M2, (n_streams, 3))
    return states


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_compiled_draw_is_the_reference_bit_for_bit(dtype):
    assert (mrg_kernels._M1, mrg_kernels._M2) == (rng_mrg.M1, rng_mrg.M2)
    scale = rng_mrg.NORM32 if dtype == "float32" else rng_mrg.NORM64
    rng = numpy.random.default_rng(20261203)
    edge = numpy.asarray(
        [
            [1, 1, 1, 1, 1, 1],  # x1 == x2: the largest value, M1 * 2**-31
            [rng_mrg.M1 - 1] * 3 + [rng_mrg.M2 - 1] * 3,  # the largest products in the recurrence
            [0, 0, 1, 0, 0, 1],
            [rng_mrg.M1 - 1, 0, 0, 0, 0, rng_mrg.M2 - 1],
        ],
        dtype=numpy.int32,
    )
    for states in [edge, _random_states(rng, 1), _random_states(rng, 7), _random_states(rng, 15360)]:
        n_streams = len(states)
        for n in sorted({0, 1, n_streams - 1, n_streams, n_streams + 3, 4 * n_streams + 1, 15680}):
            want_state, want = rng_mrg.mrg_draw(states, n, dtype)
            got_state, got = mrg_kernels.mrg_draw(states, n, dtype, scale)
            assert got.dtype == want.dtype and got_state.dtype == want_state.dtype == numpy.int32
            assert numpy.array_equal(got_state, want_state), (n_streams, n)
            assert numpy.array_equal(got, want), (n_streams, n, (got != want).sum())
    # the input state is left as it was
    before = edge.copy()
    mrg_kernels.mrg_draw(edge, 50, dtype, scale)
    assert numpy.array_equal(edge, before)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_large_draw_on_two_threads_is_the_draw_on_one(dtype, monkeypatch):
    """Half the values (and their substreams' states) from each thread: a DBN layer's 10 x 1 000 samples and more."""
    scale = rng_mrg.NORM32 if dtype == "float32" else rng_mrg.NORM64
    rng = numpy.random.default_rng(3)
    for n_streams, n in [(15360, 10000), (15360, 7840), (100, 5000), (4097, 4096)]:
        states = _random_states(rng, n_streams)
        got = {}
        for way in ("team", "alone"):
            take_way(monkeypatch, way)
            got[way] = mrg_kernels.mrg_draw(states, n, dtype, scale)
        want_state, want = rng_mrg.mrg_draw(states, n, dtype)
        for way, (state, values) in got.items():
            assert numpy.array_equal(state, want_state) and numpy.array_equal(values, want), (way, n_streams, n)


def test_the_op_draws_with_the_compiled_loop_what_the_reference_draws():
    states = _random_states(numpy.random.default_rng(7), 40)
    size = pt.tensor("size", dtype="int64", shape=(2,))
    for dtype in ("float32", "float64"):
        new_state, u = rng_mrg.MRGUniform(dtype, 2)(pt.as_tensor_variable(states), size)
        f = pytensor.function([size], [new_state, u], mode=tutorial_mode())
        got_state, got = f([9, 13])
        want_state, want = rng_mrg.mrg_draw(states, 9 * 13, dtype)
        assert numpy.array_equal(got_state, want_state) and numpy.array_equal(got, want.reshape(9, 13))


def test_the_compiled_float32_multiply_add_is_the_reference_bit_for_bit():
    rng = numpy.random.default_rng(11)
    # every kind of float32: random bit patterns (NaNs, infinities, subnormals included)
    x = rng.integers(-(2**31), 2**31, (3, 20000), dtype=numpy.int64).astype(numpy.int32).view(numpy.float32)
    edge = numpy.asarray([0, -0.0, numpy.inf, -numpy.inf, numpy.nan, 1e-45, 1.1754944e-38, 3.4028235e38, 1, 0.1, -3])
    a, b, c = numpy.meshgrid(edge, edge, edge, indexing="ij")
    cases = [
        (x[0], x[1], x[2]),
        (a.astype(numpy.float32), b.astype(numpy.float32), c.astype(numpy.float32)),
        (x[0, :15].reshape(3, 5), x[1, :1].reshape(1, 1), x[2, :15].reshape(3, 5)),  # HMC's step size times a gradient
        (x[0, :4].reshape(4, 1), x[1, :5].reshape(1, 5), x[2, :1]),
        (x[0, :0].reshape(0, 3), x[1, :3], x[2, :1]),
    ]
    with numpy.errstate(all="ignore"):
        for a, b, c in cases:
            want = rng_mrg._fused_float32(*numpy.broadcast_arrays(a, b, c))
            got = mrg_kernels.fused_float32(a, b, c)
            assert got.dtype == numpy.float32 and got.shape == want.shape
            assert numpy.array_equal(got.view(numpy.int32), want.view(numpy.int32))
    # through the op
    va, vb, vc = (pt.matrix(name, dtype="float32") for name in "abc")
    f = pytensor.function([va, vb, vc], rng_mrg.MulAdd("float32")(va, vb, vc), mode=tutorial_mode())
    args = x[0, :12].reshape(4, 3), numpy.full((1, 1), 0.1, numpy.float32), x[2, :12].reshape(4, 3)
    with numpy.errstate(all="ignore"):
        want = rng_mrg._fused_float32(*numpy.broadcast_arrays(*args))
    assert numpy.array_equal(f(*args).view(numpy.int32), want.view(numpy.int32))


def test_the_compiled_float64_multiply_add_is_the_c_library_fma_bit_for_bit():
    """`mrg_kernels.fused_float64` (LLVM's fma) against the C library's ``fma`` and exact rational arithmetic."""
    rng = numpy.random.default_rng(12)
    x = rng.integers(-(2**63), 2**63 - 1, (3, 20000), dtype=numpy.int64).view(numpy.float64)
    scaled = rng.standard_normal((3, 5000)) * 10.0 ** rng.integers(-30, 30, (3, 5000))
    edge = numpy.asarray(
        [0, -0.0, numpy.inf, -numpy.inf, numpy.nan, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 1, 0.1, -3]
    )
    a, b, c = numpy.meshgrid(edge, edge, edge, indexing="ij")
    cases = [
        (x[0], x[1], x[2]),
        (scaled[0], scaled[1], scaled[2]),
        (a, b, c),
        (scaled[0, :4].reshape(4, 1), scaled[1, :5].reshape(1, 5), numpy.float64(0.5)),
        (scaled[0, :0].reshape(0, 3), scaled[1, :3], scaled[2, :1]),
    ]
    with numpy.errstate(all="ignore"):
        for a, b, c in cases:
            want = rng_mrg._fused_float64(*numpy.broadcast_arrays(a, b, c))
            got = mrg_kernels.fused_float64(a, b, c)
            assert got.dtype == numpy.float64 and got.shape == want.shape
            assert numpy.array_equal(got.view(numpy.int64), want.view(numpy.int64))
        exact = rng_mrg._fused_float64_exact(scaled[0, :2000], scaled[1, :2000], scaled[2, :2000])
        assert numpy.array_equal(mrg_kernels.fused_float64(scaled[0, :2000], scaled[1, :2000], scaled[2, :2000]), exact)
        # one rounding, not two: the check sees a difference
        assert (exact != scaled[0, :2000] * scaled[1, :2000] + scaled[2, :2000]).sum() > 50
    # through the op
    va, vb, vc = (pt.matrix(name, dtype="float64") for name in "abc")
    f = pytensor.function([va, vb, vc], rng_mrg.MulAdd("float64")(va, vb, vc), mode=tutorial_mode())
    args = scaled[0, :12].reshape(4, 3), numpy.full((1, 1), 0.1), scaled[2, :12].reshape(4, 3)
    assert numpy.array_equal(f(*args), rng_mrg._fused_float64(*numpy.broadcast_arrays(*args)))


def test_guess_n_streams():
    assert guess_n_streams((2, 3)) == 6
    assert guess_n_streams((7,)) == 1
    assert guess_n_streams((30, 50)) == 250
    assert guess_n_streams((500, 784)) == 60 * 256
    assert guess_n_streams(pt.matrix().shape) == 60 * 256
    assert guess_n_streams((pt.iscalar(), 3)) == 60 * 256


def test_values_stay_inside_the_open_interval():
    # extreme states: x1 == x2 gives the largest value, which must stay below 1 in float32 too
    state = numpy.asarray([[1, 1, 1, 1, 1, 1]], dtype=numpy.int32)
    _, values = rng_mrg.mrg_draw(numpy.repeat(state, 100, axis=0), 5000, "float32")
    assert values.dtype == numpy.float32 and values.min() > 0 and values.max() < 1
    assert rng_mrg.NORM32 < numpy.float32(2.0**-31) and numpy.float32(rng_mrg.M1) * rng_mrg.NORM32 < 1


def test_a_large_draw_is_fast():
    import time

    R = MRG_RandomStreams(99)
    x = pt.matrix("x")
    f = compile_([x], R.binomial(size=x.shape, p=0.7, dtype=pytensor.config.floatX))
    data = numpy.zeros((500, 784), dtype=pytensor.config.floatX)
    f(data)
    start = time.perf_counter()
    out = f(data)
    assert time.perf_counter() - start < 0.5
    assert 0.68 < out.mean() < 0.72


@pytest.mark.parametrize(
    "seed, error",
    [
        (0, ValueError),
        (-5, ValueError),
        (rng_mrg.M2, ValueError),
        ([0, 0, 0, 1, 1, 1], ValueError),
        ([1, 1, 1, 0, 0, 0], ValueError),
        ([rng_mrg.M1, 1, 1, 1, 1, 1], ValueError),
        ([1, 1, 1, rng_mrg.M2, 1, 1], ValueError),
        ([1, 2, 3], TypeError),
        ("seed", TypeError),
    ],
)
def test_bad_seeds(seed, error):
    with pytest.raises(error):
        MRG_RandomStreams(seed)


def test_bad_arguments():
    R = MRG_RandomStreams(5)
    with pytest.raises(ValueError):
        R.uniform(size=(3, 0))
    with pytest.raises(TypeError):
        R.uniform(size=[3, 4])  # a list is not a size for uniform, as in Theano
    with pytest.raises(TypeError):
        R.uniform(size=(3, 4.0))
    with pytest.raises(TypeError):
        R.uniform(size=(3,), dtype="int32")
    with pytest.raises(ValueError):
        R.uniform(size=(3,), nstreams=0)
    with pytest.raises(NotImplementedError):
        R.binomial(size=(3,), n=2)
    with pytest.raises(ValueError):
        R.normal(size=(2, -1))
    with pytest.raises(ValueError):
        R.normal(size="big")
    # none of the calls above took streams: their arguments were refused first
    assert R.state_updates == []
    with pytest.raises(NotImplementedError):
        R.uniform(size=(1,), low=numpy.zeros(3), high=1.0)


def test_random_draws_have_no_gradient():
    R = MRG_RandomStreams(5)
    w = pt.vector("w")
    u = R.uniform(size=(3,))
    with pytest.raises(pytensor.gradient.NullTypeGradError):
        pytensor.grad((u * w).sum(), wrt=[w, R.state_updates[0][0]])
