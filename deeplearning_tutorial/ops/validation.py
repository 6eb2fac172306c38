"""Argument checks and dtype rules of the convolution and pooling ops.

Every check runs while the graph is built (or, for facts only the data
knows, when an op runs), and says what was given and what is expected.
"""

import numpy as np
from pytensor.graph.basic import Constant
from pytensor.scalar import upcast
from pytensor.tensor.basic import as_tensor_variable
from pytensor.tensor.type import float_dtypes, integer_dtypes

from deeplearning_tutorial.checks import is_int


def int_pair(name, value, minimum):
    """``value`` as a pair of Python ints >= minimum, else ValueError."""
    try:
        pair = tuple(value)
    except TypeError:
        pair = ()
    if len(pair) != 2 or not all(is_int(v) and v >= minimum for v in pair):
        raise ValueError(f"{name} must be a pair of integers >= {minimum}, got {value!r}")
    return tuple(int(v) for v in pair)


def as_bool(name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def shape_hint(name, value):
    """``input_shape``/``filter_shape`` as 4 entries, each a positive int or None."""
    if value is None:
        return None
    try:
        hint = tuple(value)
    except TypeError:
        hint = ()
    if len(hint) != 4 or not all(v is None or (is_int(v) and v >= 1) for v in hint):
        raise ValueError(f"{name} must be 4 entries, each a positive integer or None, got {value!r}")
    return tuple(None if v is None else int(v) for v in hint)


def conv_border_mode(value):
    """'full', 'half', or the (rows, cols) padding that the other border modes stand for."""
    if isinstance(value, str):
        if value in ("full", "half"):
            return value
        if value == "valid":
            return (0, 0)
    elif is_int(value) and value >= 0:
        return (int(value), int(value))
    else:
        try:
            return int_pair("border_mode", value, 0)
        except ValueError:
            pass
    raise ValueError(
        f"border_mode must be 'valid', 'full', 'half', an integer >= 0 or a pair of integers >= 0, got {value!r}"
    )


def check_ndim(what, var, ndim, layout):
    if var.type.ndim != ndim:
        raise TypeError(f"{what} must be a {ndim}-d tensor {layout}, got {var.type.ndim} dimensions")


def merge_shape(what, static, hint):
    """A variable's static shape completed by the user's hint; ValueError if they disagree."""
    if hint is None:
        return tuple(static)
    for known, hinted in zip(static, hint):
        if known is not None and hinted is not None and known != hinted:
            raise ValueError(f"conv2d: {what}_shape={hint} does not match the {what}s' shape {static}")
    return tuple(h if s is None else s for s, h in zip(static, hint))


def check_hint(what, shape, hint):
    """At run time the data must have the shape the user promised."""
    if hint is not None and any(h is not None and h != s for s, h in zip(shape, hint)):
        raise ValueError(f"conv2d: {what}_shape={hint} but the {what}s have shape {tuple(shape)}")


def check_channels(input_channels, filter_channels):
    if None not in (input_channels, filter_channels) and input_channels != filter_channels:
        raise ValueError(f"conv2d: the input has {input_channels} channels but the filters expect {filter_channels}")


def check_output_grad(op_name, shape, expected):
    """The output gradient given to a gradient op must fit the convolution it comes from."""
    if any(e is not None and e != n for n, e in zip(shape, expected)):
        raise ValueError(f"{op_name}: output gradient of shape {tuple(shape)}, but the convolution gives {expected}")


def float_dtype(what, *variables):
    """The upcast dtype of ``variables``, which must be floating point."""
    dtype = upcast(*(v.type.dtype for v in variables))
    if dtype not in float_dtypes:
        names = " and ".join(v.type.dtype for v in variables)
        raise TypeError(f"{what} works on floating-point tensors, got {names}; cast them first")
    return dtype


def as_dtype_of(grad, var):
    """Give a gradient its variable's dtype, as PyTensor expects of float inputs."""
    if var.type.dtype in float_dtypes and grad.type.dtype != var.type.dtype:
        return grad.astype(var.type.dtype)
    return grad


def work_dtype(dtype):
    """The dtype the computation runs in: float16 goes through float32,
    which BLAS and the compiled loops support."""
    return "float32" if dtype == "float16" else dtype


def as_work_array(x, dtype):
    """``x`` as a C-contiguous array of the working dtype for ``dtype``,
    the layout the compiled loops are compiled for."""
    return np.ascontiguousarray(x, dtype=work_dtype(dtype))


def size_vector(what, var):
    """An integer vector of 2 elements, and its values when it is a constant."""
    var = as_tensor_variable(var)
    if var.type.ndim != 1 or var.type.dtype not in integer_dtypes or var.type.shape[0] not in (2, None):
        raise TypeError(f"{what} must be an integer vector of 2 elements, got {var.type}")
    if isinstance(var, Constant):
        return var, tuple(int(v) for v in var.data)
    return var, (None, None)
