"""JAX implementations of `deeplearning_tutorial.ops.conv`: im2col and one matrix product.

The output is the cross-correlation of the zero-padded images with the
kernels (flipped for a true convolution): the image patches, gathered by
one strided slice per kernel cell ("im2col"), times the filter matrix in
one ``dot_general``.  The two gradients are that function's transposes (it
is linear in each argument), which JAX derives.  `benchmarks/jax_conv.py`
compares it with XLA's own convolution, ``lax.conv_general_dilated``.
``HIGHEST`` precision keeps float32 in float32 on accelerators that would
round it to a shorter format.
"""

import jax
import jax.numpy as jnp
from jax import lax
from pytensor.graph.basic import Constant
from pytensor.graph.rewriting.basic import node_rewriter
from pytensor.link.jax.dispatch import jax_funcify
from pytensor.link.jax.dispatch.shape import JAXShapeTuple
from pytensor.tensor.basic import MakeVector

from deeplearning_tutorial.ops.conv import Conv2d, Conv2dGradInputs, Conv2dGradWeights
from deeplearning_tutorial.ops.shapes import conv_padding


def _correlation(op, node):
    """The op's convolution as a function of images and filters, in the dtype of the node's output."""
    dtype = node.outputs[0].type.dtype

    def correlate(x, w):
        x, w = x.astype(dtype), w.astype(dtype)
        kernels = w[:, :, ::-1, ::-1] if op.filter_flip else w
        (pr, pc), (sr, sc) = conv_padding(op.border_mode, w.shape[2:]), op.subsample
        x = jnp.pad(x, ((0, 0), (0, 0), (pr, pr), (pc, pc)))
        f, c, kr, kc = kernels.shape
        oh, ow = (x.shape[2] - kr) // sr + 1, (x.shape[3] - kc) // sc + 1
        # patches[b, c, u * kc + v, i, j] = x[b, c, i * sr + u, j * sc + v]
        patches = jnp.stack(
            [
                x[:, :, u : u + (oh - 1) * sr + 1 : sr, v : v + (ow - 1) * sc + 1 : sc]
                for u in range(kr)
                for v in range(kc)
            ],
            axis=2,
        )
        return jnp.einsum("bcpij,fcp->bfij", patches, kernels.reshape(f, c, kr * kc), precision=lax.Precision.HIGHEST)

    return correlate


@node_rewriter([Conv2dGradInputs, Conv2dGradWeights])
def sizes_as_tuples(fgraph, node):
    """Pass a gradient's size input, when built from shapes, as a tuple of ints.

    A symbolic size is a `MakeVector` of shape entries, which JAX would turn
    into an array known only when the function runs, while XLA needs the
    shape of the gradient when it compiles.  `JAXShapeTuple` passes the
    entries, which JAX knows when compiling, as they are.
    """
    size = node.inputs[2]
    if size.owner is None or not isinstance(size.owner.op, MakeVector):
        return None
    return node.op.make_node(*node.inputs[:2], JAXShapeTuple()(*size.owner.inputs)).outputs


def _static_size(node, what):
    """The gradient's (rows, cols): a function of the size input that gives Python ints when tracing.

    A constant size is read from the graph: inside a traced function (under
    `checkify`, for one) JAX may hand even a constant over as an array known
    only at run time.  Otherwise the size must be the tuple of
    `sizes_as_tuples`.
    """
    size = node.inputs[2]
    if isinstance(size, Constant):
        value = tuple(int(n) for n in size.data)
        return lambda runtime_value: value

    def static(runtime_value):
        try:
            return tuple(int(n) for n in runtime_value)
        except jax.errors.ConcretizationTypeError:
            raise NotImplementedError(f"JAX needs the {what} of a conv2d gradient when compiling") from None

    return static


@jax_funcify.register(Conv2d)
def jax_funcify_Conv2d(op, node, **kwargs):
    return _correlation(op, node)


@jax_funcify.register(Conv2dGradInputs)
def jax_funcify_Conv2dGradInputs(op, node, **kwargs):
    correlate = _correlation(op, node)
    dtype = node.outputs[0].type.dtype
    static_size = _static_size(node, "input size")

    def conv2d_grad_inputs(w, gz, input_size):
        x = jax.ShapeDtypeStruct((gz.shape[0], w.shape[1], *static_size(input_size)), dtype)
        (grad,) = jax.linear_transpose(lambda images: correlate(images, w), x)(gz.astype(dtype))
        return grad

    return conv2d_grad_inputs


@jax_funcify.register(Conv2dGradWeights)
def jax_funcify_Conv2dGradWeights(op, node, **kwargs):
    correlate = _correlation(op, node)
    dtype = node.outputs[0].type.dtype
    static_size = _static_size(node, "filter size")

    def conv2d_grad_weights(x, gz, filter_size):
        w = jax.ShapeDtypeStruct((gz.shape[1], x.shape[1], *static_size(filter_size)), dtype)
        (grad,) = jax.linear_transpose(lambda filters: correlate(x, filters), w)(gz.astype(dtype))
        return grad

    return conv2d_grad_weights
