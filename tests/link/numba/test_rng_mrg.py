"""Tests of deeplearning_tutorial.link.numba.ops.rng_mrg: the MRG ops compiled by Numba, bit for bit with ``perform``.

The NumPy ``perform`` of each op (`deeplearning_tutorial.ops.rng_mrg`) is
the reference.  Every comparison here is exact, and none of the ops may
fall back to object mode (that warning is an error).
"""

import numpy
import pytensor
import pytensor.tensor as pt
import pytest

from deeplearning_tutorial.link.numba.mode import NUMBA_BLAS
from deeplearning_tutorial.modes import NUMPY
from deeplearning_tutorial.ops import rng_mrg
from deeplearning_tutorial.ops.rng_mrg import M1, M2, BoxMuller, MRGUniform, MulAdd

pytestmark = pytest.mark.filterwarnings("error:Numba will use object mode")

DTYPES = ["float32", "float64"]


def perform(op, *inputs):
    """The op's NumPy ``perform`` on ``inputs``: its outputs, as a list."""
    node = op.make_node(*inputs)
    storage = [[None] for _ in node.outputs]
    op.perform(node, [numpy.asarray(v) for v in inputs], storage)
    return [cell[0] for cell in storage]


def assert_same_bits(got, expected):
    got, expected = numpy.asarray(got), numpy.asarray(expected)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    assert got.tobytes() == expected.tobytes()


def compiled_ops(fn):
    return {type(node.op) for node in fn.maker.fgraph.apply_nodes}


# -- the MRG draw --------------------------------------------------------------------


def edge_states():
    """States at the edges of the recurrence: zeros (every output M1), the largest values, a few substreams."""
    largest = numpy.array([[M1 - 1] * 3 + [M2 - 1] * 3] * 4, dtype="int32")
    mixed = numpy.array([[M1 - 1, 0, 1, M2 - 1, 0, 1], [0, 0, 0, 0, 0, 0], [1, 2, 3, 4, 5, 6]], dtype="int32")
    return {
        "zeros": numpy.zeros((3, 6), dtype="int32"),
        "largest": largest,
        "mixed": mixed,
        "substreams": rng_mrg.substream_states(numpy.array([12345] * 6), 7),
        "many": rng_mrg.substream_states(numpy.array([4, 8, 15, 16, 23, 42]), 301),
    }


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("state_name", list(edge_states()))
def test_mrg_uniform_draws_the_reference_values_and_states(dtype, state_name):
    state = edge_states()[state_name]
    rstate, size = pt.imatrix("rstate"), pt.lvector("size")
    op = MRGUniform(dtype, 2)
    new_state, values = op(rstate, pt.as_tensor_variable([size[0], size[1]]))
    fn = pytensor.function([rstate, size], [new_state, values], mode=NUMBA_BLAS)
    assert MRGUniform in compiled_ops(fn)
    # sizes below, at and above the number of substreams, a last round that uses only some, and none at all
    for shape in [(0, 5), (5, 0), (1, 1), (2, 3), (3, 7), (7, 43)]:
        got = fn(state, numpy.array(shape))
        expected = perform(op, state, numpy.array(shape))
        assert_same_bits(got[0], expected[0])
        assert_same_bits(got[1], expected[1])
        if shape[0] * shape[1]:
            assert numpy.all((got[1] > 0) & (got[1] < 1))
    if state_name == "zeros":
        # every output is M1: the largest value, still below 1
        assert got[1].max() == rng_mrg.mrg_draw(state, 1, dtype)[1][0] < 1


@pytest.mark.parametrize("ndim, shape", [(1, (17,)), (3, (2, 3, 5)), (0, ())])
def test_mrg_uniform_of_other_ranks(ndim, shape):
    state = edge_states()["substreams"]
    rstate, size = pt.imatrix("rstate"), pt.tensor("size", dtype="int64", shape=(ndim,))
    op = MRGUniform("float64", ndim)
    new_state, values = op(rstate, size)
    fn = pytensor.function([rstate, size], [new_state, values], mode=NUMBA_BLAS)
    got = fn(state, numpy.array(shape, dtype="int64"))
    expected = perform(op, state, numpy.array(shape, dtype="int64"))
    assert_same_bits(got[0], expected[0])
    assert_same_bits(got[1], expected[1])


def test_mrg_uniform_rejects_a_negative_size():
    size = pt.lvector("size")
    rstate = pt.imatrix()
    _, values = MRGUniform("float64", 2)(rstate, pt.as_tensor_variable([size[0], size[1]]))
    fn = pytensor.function([rstate, size], values, mode=NUMBA_BLAS)
    with pytest.raises(ValueError, match="negative size"):
        fn(edge_states()["substreams"], numpy.array([2, -3]))


@pytest.mark.parametrize("dtype", DTYPES)
def test_random_streams_give_the_reference_draws_call_after_call(dtype):
    """uniform (with bounds), normal (odd size) and binomial, the states updated by each call as in NUMPY."""
    outputs = {}
    for mode_name in ("NUMPY", "NUMBA_BLAS"):
        srng = rng_mrg.MRG_RandomStream(234)
        p = pt.vector("p", dtype=dtype)
        draws = [
            srng.uniform((4, 9), low=-2.5, high=3.0, dtype=dtype),
            srng.normal((5, 7), avg=1.5, std=0.25, dtype=dtype),
            srng.binomial(size=(9,), p=p, dtype=dtype),
        ]
        mode = NUMBA_BLAS if mode_name == "NUMBA_BLAS" else NUMPY
        fn = pytensor.function([p], draws, mode=mode)
        probabilities = numpy.linspace(0, 1, 9).astype(dtype)
        outputs[mode_name] = [fn(probabilities) for _ in range(3)]
        if mode_name == "NUMBA_BLAS":
            assert {MRGUniform, BoxMuller, MulAdd} <= compiled_ops(fn)
    for got, expected in zip(outputs["NUMBA_BLAS"], outputs["NUMPY"]):
        for g, e in zip(got, expected):
            assert_same_bits(g, e)
    assert not numpy.array_equal(outputs["NUMPY"][0][0], outputs["NUMPY"][1][0])  # the streams moved on


# -- Box-Muller ----------------------------------------------------------------------


def edge_uniforms(dtype):
    """Uniforms at the edges: the smallest and largest MRG values, quarter turns, and many draws."""
    smallest, largest = (rng_mrg.mrg_draw(s, 1, dtype)[1][0] for s in ([[0, 0, 1, 0, 0, 0]], [[0] * 6]))
    special = numpy.array([smallest, largest, 0.5, 0.25, 0.75, 0.125, 1e-30, smallest, 0.5, 0.25], dtype=dtype)
    draws = rng_mrg.mrg_draw(rng_mrg.substream_states(numpy.array([99] * 6), 64), 20000, dtype)[1]
    half = special.size // 2
    return numpy.concatenate([special[:half], draws[:10000], special[half:], draws[10000:]])


@pytest.mark.parametrize("dtype", DTYPES)
def test_box_muller_gives_the_reference_bits(dtype):
    u = pt.vector("u", dtype=dtype)
    fn = pytensor.function([u], BoxMuller(dtype)(u), mode=NUMBA_BLAS)
    values = edge_uniforms(dtype)
    assert_same_bits(fn(values), perform(BoxMuller(dtype), values)[0])
    assert_same_bits(fn(values[:0]), perform(BoxMuller(dtype), values[:0])[0])
    with pytest.raises(ValueError, match="even number"):
        fn(values[:3])


# -- the fused multiply-add ----------------------------------------------------------


def fma_edge_cases(dtype):
    """(a, b, c) triples where one rounding and two differ, cancel, overflow, underflow, or are not finite."""
    info = numpy.finfo(dtype)
    eps, tiny, big = float(info.eps), float(info.smallest_subnormal), float(info.max)
    cases = [
        (1 + eps, 1 - eps, -1.0),  # exact: -eps**2, which two roundings lose
        (1 + eps, 1 + eps, -(1 + 2 * eps)),
        (0.1, 10.0, -1.0),
        (big, 2.0, -big),  # the product overflows, the fused sum does not
        (big, 1.0, big),  # the sum overflows
        (tiny, 0.5, tiny),  # subnormals
        (numpy.sqrt(tiny), numpy.sqrt(tiny), 0.0),
        (-1.0, 0.0, 0.0),  # -0 + 0
        (-1.0, 0.0, -0.0),  # -0 + -0
        (numpy.inf, 0.0, 1.0),  # nan
        (numpy.inf, 1.0, -numpy.inf),
        (numpy.nan, 1.0, 1.0),
        (2.0, 3.0, numpy.inf),
    ]
    a, b, c = (numpy.array(column, dtype=dtype) for column in zip(*cases))
    rng = numpy.random.default_rng(7)
    scale = 10.0 ** rng.integers(-20, 20, size=(3, 3000))
    ra, rb, rc = (rng.standard_normal(3000) * s for s in scale)
    return [numpy.concatenate([x, r.astype(dtype)]) for x, r in zip((a, b, c), (ra, rb, rc))]


@pytest.mark.parametrize("dtype", DTYPES)
def test_mul_add_rounds_once_as_the_reference(dtype):
    a, b, c = (pt.vector(name, dtype=dtype) for name in "abc")
    fn = pytensor.function([a, b, c], MulAdd(dtype)(a, b, c), mode=NUMBA_BLAS)
    values = fma_edge_cases(dtype)
    with numpy.errstate(all="ignore"):
        got, expected = fn(*values), perform(MulAdd(dtype), *values)[0]
        twice = values[0] * values[1] + values[2]
    assert_same_bits(got, expected)
    assert got[0] != twice[0] and (got != twice).sum() > 10  # one rounding is not two


@pytest.mark.parametrize("dtype", DTYPES)
def test_mul_add_broadcasts_as_the_reference(dtype):
    """A scalar factor, a row and a column, and a 0-d sum (what hmc's graphs hold)."""
    rng = numpy.random.default_rng(3)
    m, row, col = rng.standard_normal((3, 5)), rng.standard_normal((1, 5)), rng.standard_normal((3, 1))
    cases = [(m, numpy.asarray(0.1), m.T.copy().T), (row, col, m), (col, row, numpy.asarray(-0.5))]
    for inputs in cases:
        inputs = [numpy.asarray(v, dtype=dtype) for v in inputs]
        variables = [pt.tensor(dtype=dtype, shape=tuple(1 if s == 1 else None for s in v.shape)) for v in inputs]
        fn = pytensor.function(variables, MulAdd(dtype)(*variables), mode=NUMBA_BLAS)
        assert_same_bits(fn(*inputs), perform(MulAdd(dtype), *inputs)[0])
    scalars = [pt.tensor(dtype=dtype, shape=()) for _ in range(3)]
    fn = pytensor.function(scalars, MulAdd(dtype)(*scalars), mode=NUMBA_BLAS)
    values = [numpy.asarray(v, dtype=dtype) for v in (0.1, 0.9, 0.7)]
    assert_same_bits(fn(*values), perform(MulAdd(dtype), *values)[0])
