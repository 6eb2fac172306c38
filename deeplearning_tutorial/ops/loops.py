"""Compiled loops behind the pooling ops' NumPy implementations.

Pooling and its gradients written with NumPy take many passes over large
temporaries.  Here they are plain loops, compiled by
Numba (a PyTensor dependency), which do the work in one pass.

The general loops run on one thread.  The 2x2 pooling loops, the
tutorials' pooling, do a range of slices each, and release the GIL, so
that `threads.split` runs them on every core; the ops that call them
declare it (``splits_work_across_cores``), and the ``NUMPY`` mode's
virtual machine then keeps BLAS on one thread for the whole call, whose
idle threads would otherwise busy-wait against theirs.

The compiled code is cached on disk (``cache=True``), so only the first run
on a machine compiles each loop, once per dtype.
"""

import numpy as np
from numba import njit

# Pooling.  Window i along an axis covers cells [i*stride - pad, i*stride -
# pad + ws) of the data, clipped to the data: padding never wins a max and
# adds nothing to a sum.  Every window has at least one data cell.  The
# inner loops run along the contiguous rows of the data, which lets the
# compiler vectorise them.


@njit(cache=True)
def _window(i, size, ws, stride, pad):
    """Data cells [first, stop) of window ``i`` along one axis."""
    start = i * stride - pad
    return max(start, 0), min(start + ws, size)


@njit(cache=True)
def _windows_of_cells(n_windows, size, ws, stride, pad):
    """For each data cell along an axis, the windows holding it, padded with -1.

    Shape (size, d): d = ceil(ws / stride) windows at most hold a cell, one
    when windows do not overlap.
    """
    table = np.full((size, -(-ws // stride)), -1, np.int64)
    for i in range(n_windows):
        first, stop = _window(i, size, ws, stride, pad)
        for cell in range(first, stop):
            slot = 0
            while table[cell, slot] >= 0:
                slot += 1
            table[cell, slot] = i
    return table


@njit(cache=True)
def pool(x, ws, stride, pad, take_max, out):
    """Max (``take_max``) or sum over each window of slices ``x`` (N, H, W), into ``out`` (N, oh, ow).

    Each window is reduced along its rows first, then along its columns.
    """
    n, h, w = x.shape
    oh, ow = out.shape[1:]
    rows = np.empty(w, x.dtype)
    col_first, col_stop = np.empty(ow, np.int64), np.empty(ow, np.int64)
    for j in range(ow):
        col_first[j], col_stop[j] = _window(j, w, ws[1], stride[1], pad[1])
    for k in range(n):
        for i in range(oh):
            r0, r1 = _window(i, h, ws[0], stride[0], pad[0])
            rows[:] = x[k, r0]
            for r in range(r0 + 1, r1):
                row = x[k, r]
                if take_max:
                    for c in range(w):
                        rows[c] = row[c] if row[c] > rows[c] else rows[c]
                else:
                    for c in range(w):
                        rows[c] += row[c]
            for j in range(ow):
                c0, c1 = col_first[j], col_stop[j]
                value = rows[c0]
                if take_max:
                    for c in range(c0 + 1, c1):
                        value = rows[c] if rows[c] > value else value
                else:
                    for c in range(c0 + 1, c1):
                        value += rows[c]
                out[k, i, j] = value


@njit(cache=True)
def max_pool_grad(x, maxout, gz, ws, stride, pad, grad):
    """Add each window's gradient to every cell of ``x`` equal to the window's max.

    ``grad`` (N, H, W) must be zeros; overlapping windows add up.
    """
    n, h, w = x.shape
    oh, ow = maxout.shape[1:]
    row_windows = _windows_of_cells(oh, h, ws[0], stride[0], pad[0])
    col_windows = _windows_of_cells(ow, w, ws[1], stride[1], pad[1])
    for k in range(n):
        for r in range(h):
            for i in row_windows[r]:
                if i < 0:
                    continue
                x_row, grad_row, max_row, gz_row = x[k, r], grad[k, r], maxout[k, i], gz[k, i]
                for slot in range(col_windows.shape[1]):
                    for c in range(w):
                        j = col_windows[c, slot]
                        if j >= 0:
                            # A product rather than a branch, which vectorises.
                            grad_row[c] += gz_row[j] * (x_row[c] == max_row[j])


@njit(cache=True)
def spread(gz, ws, stride, pad, grad):
    """Add each window's value ``gz`` (N, oh, ow) to its data cells in ``grad`` (N, H, W).

    The gradient of a sum pooling; ``grad`` must be zeros, and overlapping
    windows add up.  The same loops as `max_pool_grad` without the
    comparison: one kernel with a flag for both ran at half the speed.
    """
    n, h, w = grad.shape
    oh, ow = gz.shape[1:]
    row_windows = _windows_of_cells(oh, h, ws[0], stride[0], pad[0])
    col_windows = _windows_of_cells(ow, w, ws[1], stride[1], pad[1])
    for k in range(n):
        for r in range(h):
            for i in row_windows[r]:
                if i < 0:
                    continue
                grad_row, gz_row = grad[k, r], gz[k, i]
                for slot in range(col_windows.shape[1]):
                    for c in range(w):
                        j = col_windows[c, slot]
                        if j >= 0:
                            grad_row[c] += gz_row[j]


# Pooling by 2x2 windows with a stride of 2 and no padding, each window
# inside the data: the tutorials' pooling.  The same reductions in the same
# order as the loops above (down each column of a window, then across), so
# the same bits, NaNs included; with the window's size known to the
# compiler, which unrolls and vectorises them.


@njit(cache=True, nogil=True)
def pool_2x2(x, take_max, out, first, stop):
    """`pool` of slices first:stop, for 2x2 windows with stride 2 and no padding that all lie inside ``x``."""
    oh, ow = out.shape[1:]
    for k in range(first, stop):
        for i in range(oh):
            top, bottom, o = x[k, 2 * i], x[k, 2 * i + 1], out[k, i]
            for j in range(ow):
                a, b, c, d = top[2 * j], bottom[2 * j], top[2 * j + 1], bottom[2 * j + 1]
                if take_max:
                    left = b if b > a else a
                    right = d if d > c else c
                    o[j] = right if right > left else left
                else:
                    o[j] = (a + b) + (c + d)


@njit(cache=True, nogil=True)
def max_pool_grad_2x2(x, maxout, gz, grad, first, stop):
    """`max_pool_grad` of slices first:stop for the windows of `pool_2x2`.

    ``grad`` may hold anything where windows cover it.
    """
    oh, ow = maxout.shape[1:]
    for k in range(first, stop):
        for r in range(2 * oh):
            x_row, grad_row, max_row, gz_row = x[k, r], grad[k, r], maxout[k, r // 2], gz[k, r // 2]
            for j in range(ow):
                m, g = max_row[j], gz_row[j]
                # 0.0 + ...: the sign of a zero as adding to zeros gives it.
                grad_row[2 * j] = 0.0 + g * (x_row[2 * j] == m)
                grad_row[2 * j + 1] = 0.0 + g * (x_row[2 * j + 1] == m)


@njit(cache=True, nogil=True)
def spread_2x2(gz, grad, first, stop):
    """`spread` of slices first:stop for the windows of `pool_2x2`.

    ``grad`` may hold anything where windows cover it.
    """
    oh, ow = gz.shape[1:]
    for k in range(first, stop):
        for r in range(2 * oh):
            grad_row, gz_row = grad[k, r], gz[k, r // 2]
            for j in range(ow):
                grad_row[2 * j] = 0.0 + gz_row[j]
                grad_row[2 * j + 1] = 0.0 + gz_row[j]
