"""The convolution's arithmetic: image patches copied into a matrix, then one BLAS product.

The output and both gradients of `conv.Conv2d` are cross-correlations of
a zero-padded image with kernels (a true convolution passes flipped
kernels, `conv._ConvBase._kernels`).  With the patch of output position
(i, j) taken from rows i*sr .. i*sr+kr-1 and columns j*sc .. j*sc+kc-1:

    out[b, f, i, j] = sum over c, u, v of img[b, c, i*sr + u, j*sc + v] * wk[f, c, u, v]

Copying every patch into a matrix ("im2col") turns this into one matrix
product with the filters as a matrix, which BLAS runs near the
processor's peak.  Images go a chunk at a time (``chunk`` images), so
the patch matrix is still in cache when BLAS reads it; the chunk size
also fixes how the kernels' gradient is summed over the batch, so it is
chosen by the caller (`conv`), the same for every op.

A patch is copied fastest in long contiguous runs, which depend on the
image layout:
  - channels-last, ``img`` (B, H, W, C): one kernel row of a patch is
    kc*C contiguous values, copied once per image row and column and
    shared by the kr patches that hold it (see "Channels-last" below);
  - channel-major, ``img`` (B, C, H, W): one row of the patch matrix per
    (c, u, v) cell, filled with runs of an image row (best with few
    channels, like LeNet's first layer).
``wm`` is the filter matrix, (F, kr*kc*C), its columns in the patches'
cell order: (u, v, c) channels-last, (c, u, v) channel-major.

The copies, the product and the moves of its result into place happen in
one compiled function per op, without NumPy's temporaries between them.
The products are BLAS ``gemm`` calls (`blas_kernels.gemm_rows_major`,
`blas_kernels.gemm_flat`) on C-contiguous buffers, so each function is
compiled once per dtype.  The kernels' gradient is summed per chunk,
then the chunks' sums in chunk order: the result does not depend on the
number of threads.  `kernels` defines the functions on first use, once
the BLAS they call is loaded (`blas_kernels.load`).
"""

import collections
import functools

import numpy as np
from numba import njit

from deeplearning_tutorial.ops import blas_kernels

#: The convolution's compiled functions (`kernels`).
Kernels = collections.namedtuple("Kernels", ["correlate", "correlate_grad_kernels", "correlate_grad_input"])


@functools.cache
def kernels():
    """The convolution's three compiled functions, defined on first use for the BLAS that `blas_kernels.load` finds."""
    global gemm_flat, gemm_rows_major
    blas = blas_kernels.load()
    # Module globals, not values closed over (see `blas_kernels._blas_calls`).
    gemm_flat, gemm_rows_major = blas_kernels.gemm_flat, blas_kernels.gemm_rows_major
    return Kernels(*_compiled(blas.key))


def _compiled(blas_key):
    """The three convolution functions, cached on disk under ``blas_key``.

    They call BLAS through `gemm_rows_major` and `gemm_flat`; like
    `blas_kernels._blas_calls`, they name the BLAS in their disk cache's
    key, so code compiled for one BLAS is never loaded for another.
    """
    global _fill_patches, _fill_rows, _groups

    @njit(cache=True, nogil=True)
    def _fill_patches(img, kernel_shape, stride, out_shape, start, stop, patches):
        """Channel-major patches of images start:stop (``img`` (B, C, H, W)) into ``patches`` (K, n*P).

        Row (c, u, v) of ``patches`` holds cell (u, v) of channel c of each
        output position's patch, positions in (b, i, j) order.
        """
        blas_key  # noqa: B018 (part of the disk cache's key: see _compiled)
        kr, kc = kernel_shape
        sr, sc = stride
        oh, ow = out_shape
        c = img.shape[1]
        for ch in range(c):
            for u in range(kr):
                for v in range(kc):
                    row = patches[(ch * kr + u) * kc + v]
                    for b in range(start, stop):
                        for i in range(oh):
                            src = img[b, ch, i * sr + u]
                            first = ((b - start) * oh + i) * ow
                            # A separate loop for a unit stride, which the compiler vectorises.
                            if sc == 1:
                                for j in range(ow):
                                    row[first + j] = src[v + j]
                            else:
                                for j in range(ow):
                                    row[first + j] = src[v + j * sc]

    @njit(cache=True, nogil=True)
    def _fill_rows(img, kc, sc, ow, start, stop, rows):
        """Kernel-row patches of channels-last images start:stop into ``rows`` (H, n, ow, kc*C).

        rows[r, b - start, j] is the run of kc*C values of image b's row r
        from column j*sc on: one kernel row of the patch of every output
        position (i, j) with i*sr + u = r.
        """
        blas_key  # noqa: B018 (part of the disk cache's key: see _compiled)
        n, h, w, c = img.shape
        flat = img.reshape(n, h, w * c)
        run = kc * c
        for r in range(h):
            for b in range(start, stop):
                src = flat[b, r]
                for j in range(ow):
                    target = rows[r, b - start, j]
                    first = j * sc * c
                    for t in range(run):
                        target[t] = src[first + t]

    # Channels-last, the patch of output (i, j) is kr runs of kc*C values,
    # one per kernel row u, at rows[i*sr + u, b, j].  With the rows laid
    # out (row, image, column), the runs of kernel row u for all outputs
    # of a chunk form one matrix of rows (i, b, j), held contiguously in
    # ``rows`` for all output rows i at once with a row stride of 1, for
    # one i at a time otherwise (`_groups`).  A product is then kr
    # BLAS calls of kc*C cells each, and the patches are copied kc*C values
    # per image row and column instead of kr times that.

    @njit(cache=True)
    def _groups(oh, sr):
        """(groups, output rows per group) of the products over row patches (see above)."""
        return (1, oh) if sr == 1 else (oh, 1)

    # Each function below does chunks first:stop of the images (`threads.split`).

    @njit(cache=True, nogil=True)
    def correlate(img, wm, kernel_shape, stride, out_shape, channels_last, chunk, out, first, stop):
        """The correlation of ``img`` with the filters ``wm`` into ``out`` (B, F, P)."""
        blas_key  # noqa: B018 (part of the disk cache's key: see _compiled)
        n_images, n_filters, positions = out.shape
        cells = wm.shape[1]
        kr, kc = kernel_shape
        oh, ow = out_shape
        if not channels_last:
            # An image's product has the layout of its output: no move.
            patches = np.empty((cells, positions), img.dtype)
            for index in range(first, stop):
                start = index * chunk
                for b in range(start, min(start + chunk, n_images)):
                    _fill_patches(img, kernel_shape, stride, out_shape, b, b + 1, patches)
                    gemm_rows_major(out[b], 1.0, wm, False, patches, False, 0.0)
            return
        height, run = img.shape[1], cells // kr
        groups, rows_per_group = _groups(oh, stride[0])
        rows_buffer = np.empty(height * chunk * ow * run, img.dtype)
        product_buffer = np.empty(oh * chunk * ow * n_filters, img.dtype)
        w_flat = wm.ravel()
        for index in range(first, stop):
            start = index * chunk
            end = min(start + chunk, n_images)
            n = end - start
            rows = rows_buffer[: height * n * ow * run].reshape(height, n, ow, run)
            _fill_rows(img, kc, stride[1], ow, start, end, rows)
            r_flat, product = rows.ravel(), product_buffer[: oh * n * ow * n_filters]
            for g in range(groups):
                for u in range(kr):
                    gemm_flat(
                        rows_per_group * n * ow, n_filters, run, 1.0, r_flat[(g * stride[0] + u) * n * ow * run :], run,
                        False, w_flat[u * run :], cells, True, 0.0 if u == 0 else 1.0,
                        product[g * n * ow * n_filters :], n_filters,
                    )  # fmt: skip
            # Rows (i, b, j) of the product to out[b, f, (i, j)].
            for i in range(oh):
                for b in range(start, end):
                    for j in range(ow):
                        source = ((i * n + b - start) * ow + j) * n_filters
                        for f in range(n_filters):
                            out[b, f, i * ow + j] = product[source + f]

    @njit(cache=True, nogil=True)
    def correlate_grad_kernels(img, gz, kernel_shape, stride, out_shape, channels_last, chunk, products, first, stop):
        """Each chunk's gradient of the filter matrix, (F, K), from the output gradient ``gz`` (B, F, P).

        Into ``products[chunk index]``, to be added up in chunk order
        (`sum_in_order`), so the sum does not depend on which thread
        finished first.
        """
        blas_key  # noqa: B018 (part of the disk cache's key: see _compiled)
        n_images, n_filters, positions = gz.shape
        cells = products.shape[2]
        kr, kc = kernel_shape
        oh, ow = out_shape
        if not channels_last:
            # An image at a time, its output gradient (F, P) as it lies in
            # ``gz``, each product added into the chunk's by BLAS (beta 1):
            # with few filters and cells, one product over a whole chunk's
            # positions ran at a third of the speed.
            patches = np.empty((cells, positions), gz.dtype)
            for index in range(first, stop):
                start = index * chunk
                for b in range(start, min(start + chunk, n_images)):
                    _fill_patches(img, kernel_shape, stride, out_shape, b, b + 1, patches)
                    beta = 0.0 if b == start else 1.0
                    gemm_rows_major(products[index], 1.0, gz[b], False, patches, True, beta)
            return
        height, run = img.shape[1], cells // kr
        groups, rows_per_group = _groups(oh, stride[0])
        rows_buffer = np.empty(height * chunk * ow * run, gz.dtype)
        by_filter_buffer = np.empty(n_filters * oh * chunk * ow, gz.dtype)
        for index in range(first, stop):
            start = index * chunk
            end = min(start + chunk, n_images)
            n = end - start
            rows = rows_buffer[: height * n * ow * run].reshape(height, n, ow, run)
            _fill_rows(img, kc, stride[1], ow, start, end, rows)
            # The output gradient with columns in the rows' (i, b, j) order.
            width = oh * n * ow
            by_filter = by_filter_buffer[: n_filters * width]
            for f in range(n_filters):
                for i in range(oh):
                    for b in range(start, end):
                        at = f * width + (i * n + b - start) * ow
                        for j in range(ow):
                            by_filter[at + j] = gz[b, f, i * ow + j]
            r_flat, p_flat = rows.ravel(), products[index].ravel()
            for g in range(groups):
                for u in range(kr):
                    gemm_flat(
                        n_filters, run, rows_per_group * n * ow, 1.0, by_filter[g * n * ow :], width, False,
                        r_flat[(g * stride[0] + u) * n * ow * run :], run, False, 0.0 if g == 0 else 1.0,
                        p_flat[u * run :], cells,
                    )  # fmt: skip

    @njit(cache=True, nogil=True)
    def correlate_grad_input(gz, wm, kernel_shape, stride, chunk, image, first, stop):
        """Add the input gradient into the padded channels-last ``image`` (B, H, W, C), which holds zeros.

        The gradients of the row patches are summed by BLAS (beta 1) into
        one buffer laid out like them, then added into the image.
        """
        blas_key  # noqa: B018 (part of the disk cache's key: see _compiled)
        n_images, n_filters, positions = gz.shape
        cells = wm.shape[1]
        kr, kc = kernel_shape
        sr, sc = stride
        _, height, width_px, c = image.shape
        ow = (width_px - kc) // sc + 1
        oh = positions // ow
        run = cells // kr
        groups, rows_per_group = _groups(oh, sr)
        by_position_buffer = np.empty(oh * chunk * ow * n_filters, gz.dtype)
        rows_buffer = np.empty(height * chunk * ow * run, gz.dtype)
        w_flat = wm.ravel()
        image_rows = image.reshape(n_images, height, width_px * c)
        for index in range(first, stop):
            start = index * chunk
            end = min(start + chunk, n_images)
            n = end - start
            # The output gradient as rows (i, b, j), a column per filter.
            by_position = by_position_buffer[: oh * n * ow * n_filters]
            for i in range(oh):
                for b in range(start, end):
                    for j in range(ow):
                        at = ((i * n + b - start) * ow + j) * n_filters
                        for f in range(n_filters):
                            by_position[at + f] = gz[b, f, i * ow + j]
            rows = rows_buffer[: height * n * ow * run]
            rows[:] = 0
            for g in range(groups):
                for u in range(kr):
                    gemm_flat(
                        rows_per_group * n * ow, run, n_filters, 1.0, by_position[g * n * ow * n_filters :],
                        n_filters, False, w_flat[u * run :], cells, False, 1.0,
                        rows[(g * sr + u) * n * ow * run :], run,
                    )  # fmt: skip
            # Each run of the rows' gradient into its image row, from column j*sc.
            for r in range(height):
                for b in range(start, end):
                    target = image_rows[b, r]
                    for j in range(ow):
                        at = ((r * n + b - start) * ow + j) * run
                        first_px = j * sc * c
                        for t in range(run):
                            target[first_px + t] += rows[at + t]

    return correlate, correlate_grad_kernels, correlate_grad_input


@njit(cache=True)
def sum_in_order(products, total):
    """``total`` = products[0] + products[1] + ..., added in that order, starting from zeros."""
    total[:] = 0
    for index in range(products.shape[0]):
        total += products[index]
