"""Compiled loops behind `ops`: adding patch gradients into an image, and pooling.

The matrix products of a convolution run in BLAS at nearly full speed;
around them, data is moved.  Some of that NumPy does well (copying image
patches into a matrix is one strided copy), some it does badly: adding the
gradients of overlapping patches back into an image ("col2im") and the
pooling loops take many passes over large temporaries.  Those are written
here as plain loops, compiled by Numba (a PyTensor dependency), which do the
work in one pass.

The loops run on one thread.  Parallel loops (``prange``) were measured
slower on the 2-core machine this was tuned on: between the loops BLAS runs
the matrix products on every core, and the two thread pools' busy-waiting
competed for them (a training step went from 145 ms to 180 ms, and to 675
ms when a parallel loop ran once per chunk of images).

The compiled code is cached on disk (``cache=True``), so only the first run
on a machine compiles each loop, once per dtype (about a second each).
"""

import numpy as np
from numba import njit


@njit(cache=True)
def col2im(cols, kernel_shape, stride, image):
    """Add patch gradients ``cols`` into a padded channels-last ``image`` (B, H, W, C).

    ``cols`` has a row per output position (b, i, j) holding the gradient of
    that position's patch, cells in (u, v, c) order: cols[(b*oh + i)*ow + j,
    (u*kc + v)*C + c] is added to image[b, i*sr + u, j*sc + v, c].  For each
    kernel row u that is one contiguous run of kc*C values of the image.
    """
    n, _, w, c = image.shape
    kr, kc = kernel_shape
    sr, sc = stride
    positions, run = cols.shape[0] // n, kc * c
    ow = (w - kc) // sc + 1
    flat = image.reshape(n, image.shape[1], w * c)
    for b in range(n):
        for p in range(positions):
            i, j = divmod(p, ow)
            row = b * positions + p
            for u in range(kr):
                target = flat[b, i * sr + u]
                for t in range(run):
                    target[j * sc * c + t] += cols[row, u * run + t]


# Pooling.  The loops go over the cells of a window (u, v), and for each
# over the windows (i, j) that have that cell in the data: cell (u, v) of
# window (i, j) is pixel (i*sr + u - pr, j*sc + v - pc).  This order keeps
# the inner loop simple enough for the compiler to vectorise it.


@njit(cache=True)
def _windows_with_cell(n_windows, stride, offset, size):
    """Windows ``i`` in [0, n_windows) whose cell ``i*stride + offset`` is in [0, size)."""
    first = 0 if offset >= 0 else (stride - 1 - offset) // stride
    stop = min(n_windows, (size - offset + stride - 1) // stride) if size > offset else 0
    return first, max(first, stop)


@njit(cache=True)
def pool(x, ws, stride, pad, take_max, out):
    """Max (``take_max``) or sum over each window of slices ``x`` (N, H, W), into ``out`` (N, oh, ow).

    Only data cells count: padding never wins a max and adds nothing to a
    sum.  Every window has at least one data cell.
    """
    n, h, w = x.shape
    oh, ow = out.shape[1:]
    for k in range(n):
        out[k] = -np.inf if take_max else 0
        for u in range(ws[0]):
            i0, i1 = _windows_with_cell(oh, stride[0], u - pad[0], h)
            for v in range(ws[1]):
                j0, j1 = _windows_with_cell(ow, stride[1], v - pad[1], w)
                for i in range(i0, i1):
                    row = x[k, i * stride[0] + u - pad[0]]
                    for j in range(j0, j1):
                        value = row[j * stride[1] + v - pad[1]]
                        if take_max:
                            best = out[k, i, j]
                            out[k, i, j] = value if value > best else best
                        else:
                            out[k, i, j] += value


@njit(cache=True)
def max_pool_grad(x, maxout, gz, ws, stride, pad, grad):
    """Add each window's gradient to every cell of ``x`` equal to the window's max.

    ``grad`` (N, H, W) must be zeros; overlapping windows add up.
    """
    n, h, w = x.shape
    oh, ow = maxout.shape[1:]
    for k in range(n):
        for u in range(ws[0]):
            i0, i1 = _windows_with_cell(oh, stride[0], u - pad[0], h)
            for v in range(ws[1]):
                j0, j1 = _windows_with_cell(ow, stride[1], v - pad[1], w)
                for i in range(i0, i1):
                    r = i * stride[0] + u - pad[0]
                    x_row, grad_row = x[k, r], grad[k, r]
                    for j in range(j0, j1):
                        c = j * stride[1] + v - pad[1]
                        # A product rather than a branch, which vectorises.
                        grad_row[c] += gz[k, i, j] * (x_row[c] == maxout[k, i, j])


@njit(cache=True)
def spread(gz, ws, stride, pad, grad):
    """Add each window's value ``gz`` (N, oh, ow) to its data cells in ``grad`` (N, H, W).

    The gradient of a sum pooling; ``grad`` must be zeros, and overlapping
    windows add up.
    """
    n, h, w = grad.shape
    oh, ow = gz.shape[1:]
    for k in range(n):
        for u in range(ws[0]):
            i0, i1 = _windows_with_cell(oh, stride[0], u - pad[0], h)
            for v in range(ws[1]):
                j0, j1 = _windows_with_cell(ow, stride[1], v - pad[1], w)
                for i in range(i0, i1):
                    r = i * stride[0] + u - pad[0]
                    for j in range(j0, j1):
                        grad[k, r, j * stride[1] + v - pad[1]] += gz[k, i, j]
