"""The ``NUMPY`` mode's weight update: PyTensor's ``Gemm`` in one BLAS call, in place, as Theano computed it.

PyTensor's BLAS rewrites turn each SGD step ``W - lr * (dot + c * W)`` into
one ``Gemm`` node, ``(1 - lr * c) * W - lr * dot``, as Theano's did.  But
``Gemm.perform`` then computes it in three NumPy passes over ``W`` (scale,
product into a temporary, add), where Theano's C code made one BLAS call
that reads and writes ``W`` once: for the MLP's 784x500 weights that is
most of a training step's time.  `BlasGemm` makes the one call
(`deeplearning_tutorial.ops.blas_kernels`), and `local_blas_gemm` puts it
in place of ``Gemm`` in the ``NUMPY`` mode.

Inside `blas_kernels.one_thread` (a call of the mode's virtual machine
that holds a convolution or pooling node), BLAS runs on one thread, so a
large product is split by rows across the cores here instead (`BlasDot22`
too).  A small product, such as a minibatch of 20 rows times a layer's
weights, runs on one BLAS thread anyway: split across BLAS's threads it
saves little on idle cores, and when other programs share the cores the
threads wait for each other (a whole autoencoder step is then tens of
times slower).  Nor does a weight update of that size go to the
package's own threads: its blocks of rows run on the calling thread
(`_gemm_blocks`).

float64 products never run on BLAS's threads: OpenBLAS's threads split
some products (a weight gradient, the transposed minibatch times a layer's
output) otherwise than its single thread does, so that the results would
depend on the number of cores, and part from Theano's, whose historical
runs used one thread.  A large float64 product runs as blocks of rows, each
a one-thread BLAS call, on every core: in float64 the blocks give the
single call's values.  This module's Numba counterpart is
`deeplearning_tutorial.link.numba.blas`.
"""

import contextlib

import numpy as np
from pytensor.graph.rewriting.basic import node_rewriter
from pytensor.tensor.blas import Dot22, Gemm, Gemv
from scipy.linalg import get_blas_funcs

from deeplearning_tutorial.ops import blas_kernels, threads
from deeplearning_tutorial.ops.blas_kernels import BLAS_DTYPES, COLUMN_ALIGN, ROW_BLOCK

# Multiply-adds below which a product stays one BLAS call: threads cost
# more than they save (OpenBLAS draws its own line at 65536 * 4).
_SPLIT_MIN_WORK = 1 << 22

# Multiply-adds below which a product runs on one BLAS thread (a few
# milliseconds of one core's work).
_ONE_THREAD_MAX_WORK = 1 << 24


def _blas_threads(x, y):
    """`blas_kernels.one_thread` for a float64 product ``x @ y``, or one too small for BLAS's threads."""
    small = x.shape[0] * x.shape[1] * y.shape[1] < _ONE_THREAD_MAX_WORK
    if (small or x.dtype == np.float64) and not blas_kernels.inside_one_thread():
        return blas_kernels.one_thread()
    return contextlib.nullcontext()


def _split(x, y, on_one_thread):
    """Whether x @ y runs as blocks of rows on every core: only large products while BLAS is on one thread.

    BLAS is on one thread when ``on_one_thread`` and for every float64
    product (`_blas_threads`): a float64 product too large for one BLAS
    thread is split too.  Otherwise BLAS runs its own threads; on one
    thread, the products of a large dense layer (LeNet's 800 x 500) would
    run on one core.
    """
    work = x.shape[0] * x.shape[1] * y.shape[1]
    if threads.THREADS == 1 or work < _SPLIT_MIN_WORK:
        return False
    # a float64 product that BLAS's threads would have taken (`_blas_threads`)
    return on_one_thread or (x.dtype == np.float64 and work >= _ONE_THREAD_MAX_WORK)


def _row_major(a):
    """``a`` as a C-contiguous array and whether it stands for its transpose (an F-contiguous ``a``)."""
    if a.flags.c_contiguous:
        return a, False
    if a.flags.f_contiguous:
        return a.T, True
    return np.ascontiguousarray(a), False


def _gemm_blocks(x, y):
    """How `BlasGemm` computes ``x @ y``: (in blocks of rows, the blocks on every core).

    Asked before `_blas_threads`, which puts a small product inside
    `blas_kernels.one_thread`.  Such a product is computed in the blocks of
    rows that `_split` would give it there, one BLAS call per block as on
    the cores: in float32, BLAS rounds a block of `ROW_BLOCK` rows
    differently from the whole matrix, and these are the sums the weight
    updates have always had.  But the blocks run one after the other on
    the calling thread: handing a few milliseconds' work to another thread
    costs more than it saves, most of all when other programs share the
    cores.  Only inside the virtual machine's `one_thread` (a convolution's
    graph), where the products are large, do the blocks go to every core.
    """
    vm_one_thread = blas_kernels.inside_one_thread()
    small = x.shape[0] * x.shape[1] * y.shape[1] < _ONE_THREAD_MAX_WORK
    blocks = _split(x, y, vm_one_thread or small)
    return blocks, blocks and (vm_one_thread or not small)


def _column_cut(x, y):
    """Where `BlasDot22` cuts ``x @ y`` in two blocks of columns, or None to make one call.

    Only a product of a few hundred microseconds (a minibatch times a
    layer's weights) that `_split` leaves whole: the two blocks go to the
    two threads of Numba's team, which wait for work awake, or one after
    the other to the calling thread, whichever has lately been faster
    (`threads.on_team_if_faster`).  The cut is at a multiple of `COLUMN_ALIGN`: float64 blocks
    then give the single call's values (tested); float32 ones round some
    sums otherwise than the single call, but the same on one core as on
    several.
    """
    work = x.shape[0] * x.shape[1] * y.shape[1]
    if not _SPLIT_MIN_WORK <= work < _ONE_THREAD_MAX_WORK or blas_kernels.inside_one_thread():
        return None
    if min(x.shape) == 1:  # NumPy's dot makes a matrix-vector product of it, which sums otherwise
        return None
    if y.shape[1] < 2 * COLUMN_ALIGN:
        return None
    return -(-y.shape[1] // (2 * COLUMN_ALIGN)) * COLUMN_ALIGN


def _column_halves(x, y, cut):
    """``x @ y`` as two BLAS calls, for columns ``:cut`` and ``cut:`` (`_column_cut`)."""
    blas_kernels.load()
    z = np.empty((x.shape[0], y.shape[1]), x.dtype)
    (x, transpose_x), (y, transpose_y) = _row_major(x), _row_major(y)
    args = (z, 1.0, x, transpose_x, y, transpose_y, 0.0)

    def alone():
        blas_kernels.gemm_columns(*args, 0, cut)
        blas_kernels.gemm_columns(*args, cut, z.shape[1])

    kind = ("gemm columns", z.dtype.char, z.shape, x.shape[not transpose_x])
    threads.on_team_if_faster(kind, lambda: blas_kernels.gemm_column_halves_on_cores(*args, cut), alone)
    return z


def _product_into(z, alpha, x, y, beta, split, on_cores=True):
    """``z = alpha * x @ y + beta * z`` for a C-contiguous ``z``: one BLAS call, or blocks of rows (``split``).

    The blocks run on every core when ``on_cores`` (the package's threads),
    else on Numba's team of threads or one after the other on the calling
    thread, whichever has lately been faster (`threads.on_team_if_faster`);
    either way the same BLAS calls, so the same values.
    """
    blas_kernels.load()
    (x, transpose_x), (y, transpose_y) = _row_major(x), _row_major(y)
    alpha, beta = float(alpha), float(beta)
    n_blocks = -(-len(z) // ROW_BLOCK)
    if split and on_cores:
        threads.split(blas_kernels.gemm_rows, n_blocks, z, alpha, x, transpose_x, y, transpose_y, beta)
    elif split:
        args = (z, alpha, x, transpose_x, y, transpose_y, beta)
        threads.on_team_if_faster(
            ("gemm rows", z.dtype.char, z.shape, x.shape[not transpose_x]),
            lambda: blas_kernels.gemm_rows_on_cores(*args, n_blocks),
            lambda: blas_kernels.gemm_rows(*args, 0, n_blocks),
        )
    else:
        blas_kernels.gemm_rows_major(z, alpha, x, transpose_x, y, transpose_y, beta)


class BlasGemm(Gemm):
    """PyTensor's ``Gemm``, ``b * z + a * dot(x, y)``, computed by one BLAS call (in place if ``inplace``).

    Or by blocks of rows (`_gemm_blocks`), on every core inside the virtual machine's `blas_kernels.one_thread`
    and for a large float64 product.
    """

    def perform(self, node, inputs, output_storage):
        z, a, x, y, b = inputs
        if z.dtype.name not in BLAS_DTYPES or z.ndim != 2:
            return super().perform(node, inputs, output_storage)
        blas_kernels.load()
        a, b = z.dtype.type(a), z.dtype.type(b)
        out = blas_kernels.gemm_output(z, (x.shape[0], y.shape[1]), self.inplace)
        blocks, on_cores = _gemm_blocks(x, y)
        with _blas_threads(x, y):
            if out.flags.c_contiguous:
                _product_into(out, a, x, y, b, blocks, on_cores)
            else:
                blas_kernels.gemm_into(out, a, x, y, b)
        output_storage[0][0] = out


class BlasDot22(Dot22):
    """PyTensor's ``Dot22``, split by rows across the cores inside `blas_kernels.one_thread` and in float64.

    A product of a few hundred microseconds in two blocks of columns
    (`_column_cut`); else NumPy's ``dot``.
    """

    def perform(self, node, inputs, output_storage):
        x, y = inputs
        if x.dtype != y.dtype or x.dtype.name not in BLAS_DTYPES:
            return super().perform(node, inputs, output_storage)
        split, cut = _split(x, y, blas_kernels.inside_one_thread()), _column_cut(x, y)
        with _blas_threads(x, y):
            if split:
                z = np.empty((x.shape[0], y.shape[1]), x.dtype)
                _product_into(z, 1.0, x, y, 0.0, split=True)
            elif cut is not None:
                z = _column_halves(x, y, cut)
            else:
                return super().perform(node, inputs, output_storage)
        output_storage[0][0] = z


class TheanoGemv(Gemv):
    """PyTensor's ``Gemv``, ``beta * y + alpha * dot(A, x)``, with the BLAS call Theano's C code made.

    ``gemv`` sums in another order when told to transpose: Theano called it
    on ``A`` as it lies in memory (no transpose for a column-major ``A``,
    such as the transposed minibatch in a bias gradient, a transpose for a
    row-major one), where PyTensor's ``perform`` always transposes, so
    that its results part from Theano's in the last bit for about four
    outputs in ten.
    """

    def perform(self, node, inputs, output_storage):
        y, alpha, A, x, beta = inputs
        if y.dtype.name not in BLAS_DTYPES or 0 in A.shape or A.dtype != y.dtype or x.dtype != y.dtype:
            return super().perform(node, inputs, output_storage)
        if A.shape != (y.shape[0], x.shape[0]):
            raise ValueError(f"gemv: shapes do not match, y: {y.shape}, A: {A.shape}, x: {x.shape}")
        gemv = get_blas_funcs("gemv", dtype=y.dtype)
        if not self.inplace:
            y = y.copy()
        if beta == 0:
            y.fill(0)  # BLAS may leave a NaN of y in place when beta is 0
        if A.strides[0] == A.itemsize:  # column-major: as it lies
            out = gemv(alpha, A, x, beta, y, trans=0, overwrite_y=True)
        else:  # row-major, or a copy made row-major: the transpose of a column-major matrix
            out = gemv(alpha, np.ascontiguousarray(A).T, x, beta, y, trans=1, overwrite_y=True)
        output_storage[0][0] = out


@node_rewriter([Gemm, Dot22, Gemv])
def local_blas_gemm(fgraph, node):
    """``Gemm`` -> `BlasGemm`, keeping its in-place flag; ``Dot22`` -> `BlasDot22`; ``Gemv`` -> `TheanoGemv`."""
    if type(node.op) is Gemm:
        return BlasGemm(inplace=node.op.inplace).make_node(*node.inputs).outputs
    if type(node.op) is Dot22:
        return BlasDot22().make_node(*node.inputs).outputs
    if type(node.op) is Gemv:
        return TheanoGemv(inplace=node.op.inplace).make_node(*node.inputs).outputs
    return None
