"""JAX implementations of `deeplearning_tutorial.ops.pool`, with Theano's semantics.

The input is padded so that every window the NumPy op reduces over is a
full window: with ``pad`` cells before the data and enough after it for the
partial windows kept by ``ignore_border=False``.  The padding is ``-inf``
for max pooling and zero for the sums, so it never wins a max and adds
nothing, as in the NumPy op, and the averages divide by the same cell
counts (`Pool._divisor`).

The gradients go back window cell by window cell: for each of the
``ws[0] * ws[1]`` offsets in a window, the cells at that offset of all the
windows form a strided grid; its share of the output gradient is spread
back onto the grid by `lax.pad` with interior padding (a dense operation,
where a strided scatter would be slow).  Max pooling passes a window's
gradient to every cell equal to the window's maximum, ties included, as
Theano does; JAX's own gradient of a max picks one.
"""

import jax.numpy as jnp
from jax import lax
from pytensor.link.jax.dispatch import jax_funcify

from deeplearning_tutorial.ops.pool import AveragePoolGrad, MaxPoolGrad, Pool


def _geometry(op, size):
    """Output shape, and (before, after) padding per spatial axis, that make every window a full one."""
    out_shape = tuple(op._out_len(axis, n) for axis, n in enumerate(size))
    padding = tuple(
        (pad, max(0, (out - 1) * stride + ws - n - pad))
        for n, out, ws, stride, pad in zip(size, out_shape, op.ws, op.stride, op.pad)
    )
    return out_shape, padding


def _padded(x, padding, value):
    lead = [(0, 0, 0)] * (x.ndim - 2)
    return lax.pad(x, jnp.array(value, x.dtype), lead + [(before, after, 0) for before, after in padding])


def _window_cells(op, out_shape):
    """For each offset in a window: the strided slices of the padded input at that offset, one per axis."""
    return [
        (
            slice(u, u + (out_shape[0] - 1) * op.stride[0] + 1, op.stride[0]),
            slice(v, v + (out_shape[1] - 1) * op.stride[1] + 1, op.stride[1]),
        )
        for u in range(op.ws[0])
        for v in range(op.ws[1])
    ]


def _spread(values, cells, padded_shape):
    """``values`` (..., out_rows, out_cols) placed at the strided grid ``cells`` of a zero array."""
    lead = [(0, 0, 0)] * (values.ndim - 2)
    config = [(cell.start, padded - cell.stop, cell.step - 1) for cell, padded in zip(cells, padded_shape[-2:])]
    return lax.pad(values, jnp.array(0, values.dtype), lead + config)


def _cropped(grad, padding, size):
    (top, _), (left, _) = padding
    return grad[..., top : top + size[0], left : left + size[1]]


@jax_funcify.register(Pool)
def jax_funcify_Pool(op, node, **kwargs):
    def pool(x):
        size = x.shape[-2:]
        out_shape, padding = _geometry(op, size)
        lead = (1,) * (x.ndim - 2)
        if op.mode == "max":
            init, reducer = -jnp.inf, lax.max
        else:
            init, reducer = 0, lax.add
        out = lax.reduce_window(
            _padded(x, padding, init), jnp.array(init, x.dtype), reducer, lead + op.ws, lead + op.stride, "VALID"
        )
        if op.mode.startswith("average"):
            out = out / op._divisor(size, out_shape, x.dtype)
        return out

    return pool


@jax_funcify.register(MaxPoolGrad)
def jax_funcify_MaxPoolGrad(op, node, **kwargs):
    def max_pool_grad(x, maxout, gz):
        size = x.shape[-2:]
        out_shape, padding = _geometry(op, size)
        padded = _padded(x, padding, -jnp.inf)
        grad = jnp.zeros(padded.shape, x.dtype)
        for cells in _window_cells(op, out_shape):
            share = jnp.where(padded[(..., *cells)] == maxout, gz, 0)
            grad = grad + _spread(share.astype(x.dtype), cells, padded.shape)
        return _cropped(grad, padding, size)

    return max_pool_grad


@jax_funcify.register(AveragePoolGrad)
def jax_funcify_AveragePoolGrad(op, node, **kwargs):
    def average_pool_grad(x, gz):
        size = x.shape[-2:]
        out_shape, padding = _geometry(op, size)
        share = gz.astype(x.dtype)
        if op.mode != "sum":
            share = share / op._divisor(size, out_shape, x.dtype)
        padded_shape = tuple(n + before + after for n, (before, after) in zip(size, padding))
        grad = jnp.zeros((*x.shape[:-2], *padded_shape), x.dtype)
        for cells in _window_cells(op, out_shape):
            grad = grad + _spread(share, cells, padded_shape)
        return _cropped(grad, padding, size)

    return average_pool_grad
