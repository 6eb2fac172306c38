"""Tests of deeplearning_tutorial.ops.blas_kernels: BLAS called from compiled code.

`gemm_into` on every memory layout against a float64 product; the disk
cache's key of each compiled function; the BLAS thread count inside
`one_thread`; and that nothing is opened at import.  The ``NUMPY`` mode's
one-call ``Gemm`` is tested in tests/link/numpy/test_blas.py, the Numba
backend's BLAS ops in tests/link/numba/test_blas.py.
"""

import subprocess
import sys

import numba
import numpy
import pytest

from deeplearning_tutorial.ops import blas_kernels, im2col


def layouts(rng, shape, dtype):
    """The same matrix C-ordered, Fortran-ordered and with a column stride of 2."""
    a = rng.standard_normal(shape).astype(dtype)
    wide = numpy.zeros((shape[0], 2 * shape[1]), dtype)
    wide[:, ::2] = a
    return {"C": a, "F": numpy.asfortranarray(a), "strided": wide[:, ::2]}


SHAPES = [(3, 4, 5), (1, 4, 5), (3, 1, 5), (3, 4, 1), (1, 1, 1), (0, 3, 2), (3, 0, 2)]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_gemm_reads_every_layout(dtype):
    """``gemm_into`` on C-ordered, Fortran-ordered and strided operands and outputs.

    Compiled once, for arrays of any layout (``[:, :]``), so that one
    compilation checks how each layout is handed to BLAS at run time.
    """
    blas_kernels.load()
    letter = "f8" if dtype == "float64" else "f4"
    gemm = numba.njit(f"void({letter}[:, :], {letter}, {letter}[:, :], {letter}[:, :], {letter})")(
        lambda z, alpha, x, y, beta: blas_kernels.gemm_into(z, alpha, x, y, beta)
    )
    rng = numpy.random.default_rng(0)
    tol = 1e-5 if dtype == "float32" else 1e-13
    for m, k, n in SHAPES:
        for xl, x in layouts(rng, (m, k), dtype).items():
            for yl, y in layouts(rng, (k, n), dtype).items():
                for zl, z in layouts(rng, (m, n), dtype).items():
                    expected = 0.5 * z.astype("float64") - 1.5 * (x.astype("float64") @ y.astype("float64"))
                    gemm(z, -1.5, x, y, 0.5)
                    numpy.testing.assert_allclose(
                        z, expected, rtol=tol, atol=tol, err_msg=f"{(m, k, n)} {xl} {yl} {zl}"
                    )


def test_compiled_blas_calls_are_cached_per_blas():
    """Numba's disk cache keys a function by the values it closes over: here, which BLAS it calls.

    Code cached for one BLAS (NumPy's OpenBLAS, 64-bit integers) and loaded
    with another (SciPy's, 32-bit) would call missing routines or pass
    integers of the wrong width.
    """
    blas = blas_kernels.load()
    for fn in (
        blas_kernels.gemm_into,
        blas_kernels.gemv_into,
        blas_kernels.gemm_op,
        blas_kernels._gemm_column_major,
        *im2col.kernels(),
    ):
        (key,) = [cell.cell_contents for cell in fn.py_func.__closure__]
        assert key == blas.key
        assert numpy.dtype(blas.int_type).name in key
        assert all(f"_{name}_{blas.version}" in key for name in ("sgemm", "dgemm", "sgemv", "dgemv"))


def test_one_thread_sets_blas_to_one_thread_and_restores_it():
    """NumPy's bundled OpenBLAS, which this package calls, exposes its thread count."""
    assert blas_kernels.load().thread_counts is not None
    get, set_ = blas_kernels.load().thread_counts
    before = get()
    set_(2)
    try:
        with blas_kernels.one_thread():
            assert get() == 1
            with blas_kernels.one_thread():
                assert get() == 1
            assert get() == 1
        assert get() == 2
        with pytest.raises(RuntimeError), blas_kernels.one_thread():
            raise RuntimeError
        assert get() == 2
    finally:
        set_(before)


def test_inside_one_thread_holds_in_the_block_only():
    assert not blas_kernels.inside_one_thread()
    with blas_kernels.one_thread():
        assert blas_kernels.inside_one_thread()
        with blas_kernels.one_thread():
            assert blas_kernels.inside_one_thread()
        assert blas_kernels.inside_one_thread()
    assert not blas_kernels.inside_one_thread()
    with pytest.raises(RuntimeError), blas_kernels.one_thread():
        raise RuntimeError
    assert not blas_kernels.inside_one_thread()


def test_importing_the_ops_opens_no_blas():
    """BLAS is found and its routines registered on first use (`blas_kernels.load`), not at import."""
    program = (
        "from deeplearning_tutorial import ops, modes\n"
        "from deeplearning_tutorial.ops import blas_kernels\n"
        "print(blas_kernels.load.cache_info().currsize, hasattr(blas_kernels, 'gemm_flat'))\n"
    )
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["0", "False"]
