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
    kc*C contiguous values; the patch matrix has a row per output position
    and columns in (u, v, c) order;
  - channel-major, ``img`` (B, C, H, W): one row of the patch matrix per
    (c, u, v) cell, filled with runs of an image row (best with few
    channels, like LeNet's first layer).
``wm`` is the filter matrix, (F, kr*kc*C), its columns in the patch
matrix's cell order.

The copies, the product and the moves of its result into place happen in
one compiled function per op, without NumPy's temporaries between them.
The products are BLAS ``gemm`` calls (`blas.gemm_rows_major`) on
C-contiguous buffers, so each function is compiled once per dtype.  The
kernels' gradient is summed per chunk, then the chunks' sums in chunk
order: the result does not depend on the number of threads.
"""

import numpy as np
from numba import njit

from deeplearning_tutorial.ops.blas import BLAS_KEY, gemm_rows_major
from deeplearning_tutorial.ops.loops import col2im


def _compiled(blas_key):
    """The three convolution functions, cached on disk under ``blas_key``.

    They call BLAS through `gemm_rows_major`; like `blas._blas_calls`, they name
    the BLAS in their disk cache's key, so code compiled for one BLAS is
    never loaded for another.
    """
    global _fill_patches

    @njit(cache=True)
    def _fill_patches(img, kernel_shape, stride, out_shape, channels_last, start, stop, patches):
        """Patches of images start:stop into ``patches``: (n*P, K) if channels-last, else (K, n*P)."""
        blas_key  # noqa: B018 (part of the disk cache's key: see _compiled)
        kr, kc = kernel_shape
        sr, sc = stride
        oh, ow = out_shape
        if channels_last:
            n, h, w, c = img.shape
            rows = img.reshape(n, h, w * c)
            run = kc * c
            for b in range(start, stop):
                for i in range(oh):
                    for j in range(ow):
                        row = patches[((b - start) * oh + i) * ow + j]
                        first = j * sc * c
                        for u in range(kr):
                            src = rows[b, i * sr + u]
                            for t in range(run):
                                row[u * run + t] = src[first + t]
        else:
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

    # Each function below does chunks first:stop of the images (`threads.split`).

    @njit(cache=True, nogil=True)
    def correlate(img, wm, kernel_shape, stride, out_shape, channels_last, chunk, out, first, stop):
        """The correlation of ``img`` with the filters ``wm`` into ``out`` (B, F, P)."""
        blas_key  # noqa: B018 (part of the disk cache's key: see _compiled)
        n_images, n_filters, positions = out.shape
        cells = wm.shape[1]
        if channels_last:
            patches = np.empty((chunk * positions, cells), img.dtype)
            product = np.empty((chunk * positions, n_filters), img.dtype)
        else:
            patches = np.empty((cells, positions), img.dtype)
        for index in range(first, stop):
            start = index * chunk
            end = min(start + chunk, n_images)
            if channels_last:
                width = (end - start) * positions
                _fill_patches(img, kernel_shape, stride, out_shape, True, start, end, patches[:width])
                gemm_rows_major(product[:width], 1.0, patches[:width], False, wm, True, 0.0)
                for b in range(start, end):
                    for p in range(positions):
                        source = product[(b - start) * positions + p]
                        for f in range(n_filters):
                            out[b, f, p] = source[f]
            else:
                # An image's product has the layout of its output: no move.
                for b in range(start, end):
                    _fill_patches(img, kernel_shape, stride, out_shape, False, b, b + 1, patches)
                    gemm_rows_major(out[b], 1.0, wm, False, patches, False, 0.0)

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
        if not channels_last:
            # An image at a time, its output gradient (F, P) as it lies in
            # ``gz``, each product added into the chunk's by BLAS (beta 1):
            # with few filters and cells, one product over a whole chunk's
            # positions ran at a third of the speed.
            patches = np.empty((cells, positions), gz.dtype)
            for index in range(first, stop):
                start = index * chunk
                for b in range(start, min(start + chunk, n_images)):
                    _fill_patches(img, kernel_shape, stride, out_shape, False, b, b + 1, patches)
                    beta = 0.0 if b == start else 1.0
                    gemm_rows_major(products[index], 1.0, gz[b], False, patches, True, beta)
            return
        # Flat buffers, each chunk's matrices C-contiguous views of their starts.
        by_filter_buffer = np.empty(n_filters * chunk * positions, gz.dtype)
        patches_buffer = np.empty(chunk * positions * cells, gz.dtype)
        for index in range(first, stop):
            start = index * chunk
            end = min(start + chunk, n_images)
            width = (end - start) * positions
            by_filter = by_filter_buffer[: n_filters * width].reshape(n_filters, width)
            for f in range(n_filters):
                for b in range(start, end):
                    by_filter[f, (b - start) * positions : (b - start + 1) * positions] = gz[b, f]
            patches = patches_buffer[: width * cells].reshape(width, cells)
            _fill_patches(img, kernel_shape, stride, out_shape, True, start, end, patches)
            gemm_rows_major(products[index], 1.0, by_filter, False, patches, False, 0.0)

    @njit(cache=True, nogil=True)
    def correlate_grad_input(gz, wm, kernel_shape, stride, chunk, image, first, stop):
        """Add the input gradient into the padded channels-last ``image`` (B, H, W, C), which holds zeros."""
        blas_key  # noqa: B018 (part of the disk cache's key: see _compiled)
        n_images, n_filters, positions = gz.shape
        cells = wm.shape[1]
        by_position = np.empty((chunk * positions, n_filters), gz.dtype)
        cols = np.empty((chunk * positions, cells), gz.dtype)
        for index in range(first, stop):
            start = index * chunk
            end = min(start + chunk, n_images)
            width = (end - start) * positions
            for b in range(start, end):
                for p in range(positions):
                    row = by_position[(b - start) * positions + p]
                    for f in range(n_filters):
                        row[f] = gz[b, f, p]
            gemm_rows_major(cols[:width], 1.0, by_position[:width], False, wm, False, 0.0)
            col2im(cols[:width], kernel_shape, stride, image[start:end])

    return correlate, correlate_grad_kernels, correlate_grad_input


correlate, correlate_grad_kernels, correlate_grad_input = _compiled(BLAS_KEY)


@njit(cache=True)
def sum_in_order(products, total):
    """``total`` = products[0] + products[1] + ..., added in that order, starting from zeros."""
    total[:] = 0
    for index in range(products.shape[0]):
        total += products[index]
