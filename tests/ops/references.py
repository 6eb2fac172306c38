"""Plain-loop NumPy references for the ops: one output value at a time, written for clarity only."""

import numpy


def reference_padding(border_mode, kernel_shape):
    kr, kc = kernel_shape
    named = {"valid": (0, 0), "full": (kr - 1, kc - 1), "half": (kr // 2, kc // 2)}
    if isinstance(border_mode, str):
        return named[border_mode]
    if isinstance(border_mode, int):
        return (border_mode, border_mode)
    return tuple(border_mode)


def reference_conv2d(x, w, border_mode="valid", subsample=(1, 1), filter_flip=True):
    """out[b, f, i, j] = sum(window at (i*sr, j*sc) of the padded image * kernel f)."""
    kr, kc = w.shape[2:]
    if filter_flip:
        w = w[:, :, ::-1, ::-1]
    (pr, pc), (sr, sc) = reference_padding(border_mode, (kr, kc)), subsample
    padded = numpy.zeros(x.shape[:2] + (x.shape[2] + 2 * pr, x.shape[3] + 2 * pc))
    padded[:, :, pr : pr + x.shape[2], pc : pc + x.shape[3]] = x
    rows = (padded.shape[2] - kr) // sr + 1
    cols = (padded.shape[3] - kc) // sc + 1
    out = numpy.zeros((x.shape[0], w.shape[0], rows, cols))
    for b in range(x.shape[0]):
        for f in range(w.shape[0]):
            for i in range(rows):
                for j in range(cols):
                    window = padded[b, :, i * sr : i * sr + kr, j * sc : j * sc + kc]
                    out[b, f, i, j] = (window * w[f]).sum()
    return out


def reference_windows(size, ws, stride, pad, ignore_border):
    """(start, stop) of each window along one axis, in padded coordinates."""
    if ignore_border:
        starts = range(0, size + 2 * pad - ws + 1, stride)
    else:
        # Theano keeps starting windows (partial ones included) while the
        # previous window has not reached the last cell.
        starts = [0]
        while starts[-1] + ws < size and starts[-1] + stride < size:
            starts.append(starts[-1] + stride)
    return [(start, start + ws) for start in starts]


def reference_pool(x, ws, ignore_border=True, stride=None, pad=(0, 0), mode="max"):
    stride = stride or ws
    h, w = x.shape[-2:]
    row_windows = reference_windows(h, ws[0], stride[0], pad[0], ignore_border)
    col_windows = reference_windows(w, ws[1], stride[1], pad[1], ignore_border)
    out = numpy.zeros(x.shape[:-2] + (len(row_windows), len(col_windows)))
    for index in numpy.ndindex(*x.shape[:-2]):
        for i, (r0, r1) in enumerate(row_windows):
            for j, (c0, c1) in enumerate(col_windows):
                # The data cells of the window (data sits at [pad, pad + size)).
                cells = x[index][max(r0 - pad[0], 0) : min(r1 - pad[0], h), max(c0 - pad[1], 0) : min(c1 - pad[1], w)]
                if mode == "max":
                    value = cells.max()
                elif mode == "sum":
                    value = cells.sum()
                elif mode == "average_exc_pad":
                    value = cells.sum() / cells.size
                else:  # average_inc_pad: padding cells count, cells beyond the padded image do not
                    inside = (min(r1, h + 2 * pad[0]) - r0) * (min(c1, w + 2 * pad[1]) - c0)
                    value = cells.sum() / inside
                out[index + (i, j)] = value
    return out
