"""Tests of deeplearning_tutorial.link.numpy.blas: the NUMPY mode's Gemm in one BLAS call.

`BlasGemm` against PyTensor's ``Gemm.perform`` (which rounds ``b * z + a *
dot`` in separate passes, so to a tolerance); the ``NUMPY`` mode's weight
updates in place; and products split by rows across the cores while BLAS
runs on one thread.
"""

import numpy
import pytensor
import pytensor.tensor as T
import pytest

from deeplearning_tutorial.link.numpy import blas
from deeplearning_tutorial.link.numpy.blas import BlasGemm
from deeplearning_tutorial.modes import NUMPY, numpy_mode
from deeplearning_tutorial.ops import blas_kernels, threads
from tests.helpers import take_way

SHAPES = [(3, 4, 5), (1, 4, 5), (3, 1, 5), (3, 4, 1), (1, 1, 1), (0, 3, 2), (3, 0, 2)]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_blas_gemm_computes_what_gemm_computes(dtype):
    """On every shape above, and with a one-row ``z`` broadcast against the product.

    (``Gemm.perform`` fails to broadcast a row against an empty product, so
    that case is left out.)
    """
    rng = numpy.random.default_rng(1)
    x, y, z = (T.matrix(name, dtype=dtype) for name in "xyz")
    a, b = T.constant(-0.01, dtype=dtype), T.constant(0.999998, dtype=dtype)
    gemm = T.blas.gemm_no_inplace(z, a, x, y, b)
    compiled = pytensor.function([x, y, z], gemm, mode=NUMPY)
    reference = pytensor.function([x, y, z], gemm, mode=numpy_mode(without=["blas_gemm"]))
    assert [type(n.op) for n in compiled.maker.fgraph.toposort()] == [BlasGemm]
    tol = 1e-5 if dtype == "float32" else 1e-14
    for m, k, n in SHAPES:
        for rows in {m, 1} if m else {m}:
            values = [rng.standard_normal(shape).astype(dtype) for shape in [(m, k), (k, n), (rows, n)]]
            got, want = compiled(*values), reference(*values)
            assert got.dtype == dtype and got.shape == (m, n)
            numpy.testing.assert_allclose(got, want, rtol=tol, atol=tol, err_msg=str((m, k, n, rows)))


def test_an_sgd_step_updates_the_shared_weights_in_place():
    W = pytensor.shared(numpy.ones((3, 2)))
    x = T.matrix("x")
    step = pytensor.function([x], [], updates=[(W, W - 0.5 * T.dot(x.T, x[:, :2]) - 0.25 * W)], mode=NUMPY)
    assert [(type(n.op), n.op.inplace) for n in step.maker.fgraph.toposort() if "Gemm" in type(n.op).__name__] == [
        (BlasGemm, True)
    ]
    before = W.get_value(borrow=True)
    xv = numpy.arange(12.0).reshape(4, 3)
    step(xv)
    numpy.testing.assert_allclose(W.get_value(), 0.75 * numpy.ones((3, 2)) - 0.5 * xv.T @ xv[:, :2], rtol=1e-15)
    assert W.get_value(borrow=True) is before


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_product_split_into_blocks_of_rows_is_the_product(dtype):
    rng = numpy.random.default_rng(3)
    m = 2 * blas_kernels.ROW_BLOCK + 5
    x, y = rng.standard_normal((m, 5)).astype(dtype), rng.standard_normal((5, 4)).astype(dtype)
    z = rng.standard_normal((m, 4)).astype(dtype)
    whole = z.copy()
    blas_kernels.load()
    blas_kernels.gemm_into(whole, 0.5, x, y, 2.0)
    for x_used, y_used in [(x, y), (numpy.asfortranarray(x), y), (x, numpy.asfortranarray(y))]:
        for split in (False, True):
            got = z.copy()
            blas._product_into(got, 0.5, x_used, y_used, 2.0, split)
            numpy.testing.assert_allclose(got, whole, rtol=1e-6 if dtype == "float32" else 1e-14)
            if not split:
                numpy.testing.assert_array_equal(got, whole)


def test_large_products_are_split_across_the_cores_only_inside_one_thread(monkeypatch):
    """In float32; a large float64 product is split everywhere (the next test)."""
    monkeypatch.setattr(threads, "THREADS", 2)
    big, small = numpy.ones((256, 128), dtype="float32"), numpy.ones((128, 128), dtype="float32")
    assert not blas._split(big, small, blas_kernels.inside_one_thread())
    with blas_kernels.one_thread():
        assert blas._split(big, small, blas_kernels.inside_one_thread())
        assert not blas._split(numpy.ones((2, 3)), numpy.ones((3, 4)), blas_kernels.inside_one_thread())
    assert not blas._split(big, small, blas_kernels.inside_one_thread())
    monkeypatch.setattr(threads, "THREADS", 1)
    assert not blas._split(big, small, True)


def test_dot22_becomes_blas_dot22_and_computes_the_product():
    x, y = T.matrix("x"), T.matrix("y")
    fn = pytensor.function([x, y], T.tanh(T.dot(x, y)), mode=NUMPY)
    assert any(isinstance(node.op, blas.BlasDot22) for node in fn.maker.fgraph.apply_nodes)
    rng = numpy.random.default_rng(5)
    a, b = rng.standard_normal((300, 200)), rng.standard_normal((200, 150))
    # A product this small runs on one BLAS thread (see the next test), whose
    # sums may differ in the last bit from those of BLAS's threads.
    with blas_kernels.one_thread():
        expected = numpy.tanh(a @ b)
    numpy.testing.assert_allclose(fn(a, b), expected, rtol=1e-13)
    with blas_kernels.one_thread():
        numpy.testing.assert_allclose(fn(a, b), expected, rtol=1e-13)


def test_small_products_run_on_one_blas_thread(monkeypatch):
    """A minibatch-sized product runs with BLAS on one thread; a large one, or one inside one_thread, as it was."""
    seen = []
    real_dot = numpy.dot
    monkeypatch.setattr(numpy, "dot", lambda *args: seen.append(blas_kernels.inside_one_thread()) or real_dot(*args))
    small, large = numpy.ones((20, 784)), numpy.ones((784, 500))
    with blas._blas_threads(small, large):
        seen.append(blas_kernels.inside_one_thread())
    with blas._blas_threads(numpy.ones((2000, 784), dtype="float32"), large.astype("float32")):
        seen.append(blas_kernels.inside_one_thread())
    with blas._blas_threads(numpy.ones((2000, 784)), large):
        seen.append(blas_kernels.inside_one_thread())
    assert seen == [True, False, True]  # float64: never on BLAS's threads
    x, y = T.matrix("x"), T.matrix("y")
    fn = pytensor.function([x, y], T.dot(x, y), mode=NUMPY)
    rng = numpy.random.default_rng(6)
    a, b = rng.standard_normal((20, 30)), rng.standard_normal((30, 40))
    seen.clear()
    numpy.testing.assert_array_equal(fn(a, b), real_dot(a, b))
    assert seen == [True]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_minibatch_weight_update_runs_its_row_blocks_on_the_calling_thread(monkeypatch, dtype):
    """dA's update of its 784x500 weights from 20 rows: the blocks of rows, bit for bit, without other threads.

    In float32 a block of rows rounds differently from the whole product,
    so the blocks are kept; only where they run changes.
    """
    monkeypatch.setattr(threads, "THREADS", 2)
    rng = numpy.random.default_rng(8)
    W = pytensor.shared(rng.standard_normal((784, 500)).astype(dtype))
    x, h = T.matrix("x", dtype=dtype), T.matrix("h", dtype=dtype)
    step = pytensor.function([x, h], [], updates=[(W, W - numpy.asarray(0.1, dtype) * T.dot(x.T, h))], mode=NUMPY)
    assert [type(n.op) for n in step.maker.fgraph.toposort() if "Gemm" in type(n.op).__name__] == [BlasGemm]
    xv, hv = rng.standard_normal((20, 784)).astype(dtype), rng.standard_normal((20, 500)).astype(dtype)
    w0 = W.get_value()
    assert blas._gemm_blocks(xv.T, hv) == (True, False)
    with blas_kernels.one_thread():
        assert blas._gemm_blocks(xv.T, hv) == (True, True)
        on_cores = w0.copy()
        blas._product_into(on_cores, -0.1, xv.T, hv, 1.0, split=True, on_cores=True)
    handed_out = []
    real_split = threads.split
    monkeypatch.setattr(threads, "split", lambda *args, **kw: handed_out.append(args) or real_split(*args, **kw))
    step(xv, hv)
    assert handed_out == []
    numpy.testing.assert_array_equal(W.get_value(), on_cores)
    # a float32 product too large for one BLAS thread is one BLAS call, on BLAS's threads; a
    # float64 one runs in blocks of rows on the cores, each block a one-thread BLAS call
    large = numpy.ones((784, 2000), dtype=dtype), numpy.ones((2000, 500), dtype=dtype)
    assert blas._gemm_blocks(*large) == ((True, True) if dtype == "float64" else (False, False))
    monkeypatch.setattr(threads, "THREADS", 1)
    assert blas._gemm_blocks(xv.T, hv) == (False, False)


@pytest.mark.parametrize("layout", ["column-major", "row-major", "strided"])
def test_gemv_calls_blas_on_the_matrix_as_it_lies(layout):
    """``Gemv`` -> `TheanoGemv`: no transpose for a column-major matrix, as Theano's C code called it.

    A bias gradient's product, the transposed minibatch times a vector, is
    column-major; BLAS's transposing kernel adds in another order.
    """
    from scipy.linalg import blas as scipy_blas

    from deeplearning_tutorial.link.numpy.blas import TheanoGemv

    rng = numpy.random.default_rng(0)
    x_value = rng.uniform(0, 1, size=(300, 784))
    X = pytensor.shared(x_value)
    pick = {
        "column-major": lambda m: m[:100].T,  # 784 x 100
        "row-major": lambda m: m[:, :100],  # 300 x 100
        "strided": lambda m: m[::2, ::3].T[:, :100],  # 262 x 100, neither
    }[layout]
    A = pick(x_value)
    y = pytensor.shared(numpy.zeros(A.shape[0]))
    v = T.vector("v")
    f = pytensor.function([v], [], updates=[(y, y - 0.1 * T.dot(pick(X), v))], mode=NUMPY)
    assert any(isinstance(n.op, TheanoGemv) for n in f.maker.fgraph.toposort())
    v_value = rng.uniform(-1, 1, size=100)
    f(v_value)
    zeros = numpy.zeros(A.shape[0])
    if layout == "column-major":
        expected = scipy_blas.dgemv(-0.1, A, v_value, 1.0, zeros, trans=0)
        # the transposing kernel on the same numbers: other last bits for many outputs
        assert (scipy_blas.dgemv(-0.1, A.T, v_value, 1.0, zeros, trans=1) != expected).sum() > 10
    else:
        expected = scipy_blas.dgemv(-0.1, numpy.ascontiguousarray(A).T, v_value, 1.0, zeros, trans=1)
    numpy.testing.assert_array_equal(y.get_value(), expected)
    numpy.testing.assert_allclose(y.get_value(), -0.1 * (A @ v_value), rtol=1e-12)


def test_float64_products_are_the_one_thread_products_whatever_the_cores(monkeypatch):
    """OpenBLAS's threads round some float64 products otherwise than one thread (Theano's recorded runs had one).

    A weight gradient ``x.T @ h`` and a product with few columns, through
    `BlasDot22` and `BlasGemm` on two cores: bit for bit the one-thread BLAS call.
    """
    monkeypatch.setattr(threads, "THREADS", 2)
    rng = numpy.random.default_rng(9)
    x, h = rng.uniform(0, 1, (300, 784)), rng.uniform(0, 1, (300, 1000))
    a, b = rng.uniform(0, 1, (300, 1000)), rng.uniform(-1, 1, (1000, 10))
    xs, hs, as_, bs = T.matrix("x"), T.matrix("h"), T.matrix("a"), T.matrix("b")
    W = pytensor.shared(rng.uniform(-0.1, 0.1, (784, 1000)))
    fn = pytensor.function(
        [xs, hs, as_, bs], T.dot(as_, bs), updates=[(W, W - numpy.float64(0.1) * T.dot(xs.T, hs))], mode=NUMPY
    )
    with blas_kernels.one_thread():
        want_w = W.get_value().copy()
        blas_kernels.gemm_rows_major(want_w, -0.1, x, True, h, False, 1.0)
        want_ab = a @ b
    numpy.testing.assert_array_equal(fn(x, h, a, b), want_ab)
    numpy.testing.assert_array_equal(W.get_value(), want_w)


# A minibatch of 10 times a DBN layer's weights (784 or 1 000 wide), a batch of 20 times the MLP's.
MINIBATCH_PRODUCTS = [(10, 1000, 1000), (10, 784, 1000), (10, 1000, 784), (20, 784, 500), (2, 5000, 1000)]


@pytest.mark.parametrize("way", ["team", "alone"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_minibatch_product_is_computed_in_two_blocks_of_columns(dtype, way, monkeypatch):
    """float64: bit for bit the single BLAS call, each operand as it lies or transposed; float32: the same
    values on Numba's team of threads as on the calling thread, within float32 rounding of the single call.
    """
    take_way(monkeypatch, way)
    rng = numpy.random.default_rng(10)
    results = {}
    for m, k, n in MINIBATCH_PRODUCTS:
        for transpose_x in (False, True):
            for transpose_y in (False, True):
                x = rng.uniform(-1, 1, (k, m) if transpose_x else (m, k)).astype(dtype)
                y = rng.uniform(-1, 1, (n, k) if transpose_y else (k, n)).astype(dtype)
                x, y = (x.T if transpose_x else x), (y.T if transpose_y else y)
                cut = blas._column_cut(x, y)
                assert cut is not None and cut % blas_kernels.COLUMN_ALIGN == 0 and 0 < cut < n
                with blas_kernels.one_thread():
                    got, single = blas._column_halves(x, y, cut), numpy.dot(x, y)
                if dtype == "float64":
                    numpy.testing.assert_array_equal(got, single, err_msg=str((m, k, n, transpose_x, transpose_y)))
                else:
                    numpy.testing.assert_allclose(got, single, rtol=0, atol=k * 2e-7)
                results[m, k, n, transpose_x, transpose_y] = got
    # and from the NUMPY mode's Dot22 (the team and the calling thread compared in float32)
    x, y = T.matrix("x", dtype=dtype), T.matrix("y", dtype=dtype)
    fn = pytensor.function([x, y], T.dot(x, y), mode=NUMPY)
    assert [type(node.op) for node in fn.maker.fgraph.toposort()] == [blas.BlasDot22]
    a = rng.uniform(-1, 1, (10, 1000)).astype(dtype)
    b = rng.uniform(-1, 1, (1000, 1000)).astype(dtype)
    with blas_kernels.one_thread():
        want = numpy.dot(a, b) if dtype == "float64" else blas._column_halves(a, b, 512)
    numpy.testing.assert_array_equal(fn(a, b), want)


def test_only_products_of_a_few_hundred_microseconds_are_cut_in_columns():
    assert blas._column_cut(numpy.ones((20, 30)), numpy.ones((30, 40))) is None  # small: one call
    assert blas._column_cut(numpy.ones((10, 20000)), numpy.ones((20000, 40))) is None  # too few columns to cut
    assert blas._column_cut(numpy.ones((100, 1000)), numpy.ones((1000, 1000))) is None  # large: BLAS's own rules
    assert blas._column_cut(numpy.ones((10, 1000)), numpy.ones((1000, 1000))) == 512
    assert blas._column_cut(numpy.ones((10, 1000)), numpy.ones((1000, 784))) == 416
    assert blas._column_cut(numpy.ones((1, 5000)), numpy.ones((5000, 1000))) is None  # NumPy's gemv
    with blas_kernels.one_thread():  # inside a convolution's graph, blocks of rows on the package's threads
        assert blas._column_cut(numpy.ones((10, 1000)), numpy.ones((1000, 1000))) is None


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_row_blocks_on_numbas_team_are_the_row_blocks_on_the_calling_thread(dtype):
    rng = numpy.random.default_rng(12)
    x, h = rng.uniform(0, 1, (10, 1000)).astype(dtype), rng.uniform(0, 1, (10, 784)).astype(dtype)
    w = rng.uniform(-0.1, 0.1, (1000, 784)).astype(dtype)
    n_blocks = -(-1000 // blas_kernels.ROW_BLOCK)
    blas_kernels.load()
    with blas_kernels.one_thread():
        alone, on_team = w.copy(), w.copy()
        blas_kernels.gemm_rows(alone, -0.1, x, True, h, False, 1.0, 0, n_blocks)
        blas_kernels.gemm_rows_on_cores(on_team, -0.1, x, True, h, False, 1.0, n_blocks)
    numpy.testing.assert_array_equal(on_team, alone)
    assert not numpy.array_equal(alone, w)
