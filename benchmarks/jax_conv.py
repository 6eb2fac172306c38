"""LeNet's convolutions under JAX: the package's im2col against XLA's own convolution.

The package's JAX convolution (`deeplearning_tutorial.link.jax.ops.conv`)
gathers the image patches by strided slices ("im2col") and multiplies
them by the filters in one ``dot_general``.  This calls that
implementation directly, and beside it one built on XLA's
``lax.conv_general_dilated`` for the same op, on the two convolutions of
LeNet's training step (a minibatch of 500 images; 20 then 50 filters of
5 x 5): each jitted function computes a layer's output and both of its
gradients, as a training step does, and the median time of a call is
printed.  Nothing in the package is replaced: the two are plain functions
of images and filters.

    python -m benchmarks jax-conv [--floatX float32] [--calls 30]
"""

import argparse
import statistics
import time

#: LeNet's convolutions at its default sizes: (images shape, filters shape).
LENET_LAYERS = (((500, 1, 28, 28), (20, 1, 5, 5)), ((500, 20, 12, 12), (50, 20, 5, 5)))


def conv_node(image_shape, filter_shape, dtype):
    """The package's ``Conv2d`` node for images and filters of these shapes, as LeNet builds it."""
    import pytensor.tensor as pt

    from deeplearning_tutorial.ops import conv2d

    images, filters = pt.tensor4(dtype=dtype), pt.tensor4(dtype=dtype)
    out = conv2d(input=images, filters=filters, filter_shape=filter_shape, input_shape=image_shape)
    return out.owner


def xla_correlation(op, node):
    """The op's convolution as XLA's ``conv_general_dilated``, with the same signature as the package's."""
    from jax import lax

    from deeplearning_tutorial.ops.shapes import conv_padding

    dtype = node.outputs[0].type.dtype

    def correlate(x, w):
        x, w = x.astype(dtype), w.astype(dtype)
        kernels = w[:, :, ::-1, ::-1] if op.filter_flip else w
        pad = conv_padding(op.border_mode, w.shape[2:])
        return lax.conv_general_dilated(
            x,
            kernels,
            window_strides=op.subsample,
            padding=[(p, p) for p in pad],
            dimension_numbers=("NCHW", "OIHW", "NCHW"),
            precision=lax.Precision.HIGHEST,
        )

    return correlate


def implementations():
    """Name -> function ``(op, node) -> correlate(x, w)``: the package's and XLA's."""
    from deeplearning_tutorial.link.jax.ops import conv

    return {"im2col": conv._correlation, "xla": xla_correlation}


def layer_step(correlate):
    """A jitted function of (images, filters, output gradient): the output and both gradients."""
    import jax

    def step(x, w, gz):
        out, pullback = jax.vjp(correlate, x, w)
        gx, gw = pullback(gz)
        return out, gx, gw

    return jax.jit(step)


def median_seconds(fn, args, calls):
    """Median seconds of a call of ``fn(*args)``, waiting for its results, after one call to compile it."""
    import jax

    jax.block_until_ready(fn(*args))
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def measure(floatX, calls):
    """Name -> [median seconds of each LeNet layer's step]."""
    import numpy

    rng = numpy.random.RandomState(0)
    seconds = {name: [] for name in implementations()}
    for image_shape, filter_shape in LENET_LAYERS:
        node = conv_node(image_shape, filter_shape, floatX)
        x = rng.uniform(-1, 1, image_shape).astype(floatX)
        w = rng.uniform(-1, 1, filter_shape).astype(floatX)
        out_shape = (image_shape[0], filter_shape[0], image_shape[2] - 4, image_shape[3] - 4)
        gz = rng.uniform(-1, 1, out_shape).astype(floatX)
        for name, correlation in implementations().items():
            seconds[name].append(median_seconds(layer_step(correlation(node.op, node)), (x, w, gz), calls))
    return seconds


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks jax-conv", description=__doc__.splitlines()[0])
    parser.add_argument("--floatX", choices=("float32", "float64"), default="float32")
    parser.add_argument("--calls", type=int, default=30, help="timed calls per layer and implementation")
    args = parser.parse_args(argv)
    if args.calls < 1:
        parser.error(f"--calls must be at least 1 (got {args.calls})")
    if args.floatX == "float64":
        import jax

        jax.config.update("jax_enable_x64", True)
    seconds = measure(args.floatX, args.calls)
    for name, layers in seconds.items():
        per_layer = "  ".join(f"layer {i}: {s * 1e3:7.1f} ms" for i, s in enumerate(layers))
        print(f"LeNet convolutions, JAX {args.floatX}, {name:<6} {per_layer}  total {sum(layers) * 1e3:7.1f} ms")
    print(f"im2col / XLA: {sum(seconds['im2col']) / sum(seconds['xla']):.2f} (median of {args.calls} calls each)")


if __name__ == "__main__":
    main()
