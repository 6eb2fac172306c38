"""LeNet's training step under JAX with XLA's convolution and with im2col plus a matrix product.

The package's JAX convolution (`deeplearning_tutorial/link/jax/ops/conv.py`)
is XLA's ``lax.conv_general_dilated``.  This times LeNet's real training
step (batch of 500) with it and with the other formulation: the image
patches gathered into a matrix by strided slices ("im2col") and multiplied
by the filters in one ``dot_general``; both gradients are, as in the
package, the transposes of the function.  Each runs in a fresh process.

    python benchmarks/jax_conv.py [--floatX float32] [--calls 30]
"""

import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(HERE), HERE]

FORMULATIONS = ("xla", "im2col")


def use_im2col():
    """Register the im2col formulation for the three convolution ops, in place of the package's."""
    import jax
    import jax.numpy as jnp
    from jax import lax
    from pytensor.link.jax.dispatch import jax_funcify

    import deeplearning_tutorial.link.jax.ops.conv as package
    from deeplearning_tutorial.ops.conv import Conv2d, Conv2dGradInputs, Conv2dGradWeights
    from deeplearning_tutorial.ops.shapes import conv_padding

    def correlation(op, node):
        dtype = node.outputs[0].type.dtype

        def correlate(x, w):
            x, w = x.astype(dtype), w.astype(dtype)
            kernels = w[:, :, ::-1, ::-1] if op.filter_flip else w
            (pr, pc), (sr, sc) = conv_padding(op.border_mode, w.shape[2:]), op.subsample
            x = jnp.pad(x, ((0, 0), (0, 0), (pr, pr), (pc, pc)))
            f, c, kr, kc = kernels.shape
            oh, ow = (x.shape[2] - kr) // sr + 1, (x.shape[3] - kc) // sc + 1
            patches = jnp.stack(
                [
                    x[:, :, u : u + (oh - 1) * sr + 1 : sr, v : v + (ow - 1) * sc + 1 : sc]
                    for u in range(kr)
                    for v in range(kc)
                ],
                axis=2,
            )
            matrix = kernels.reshape(f, c, kr * kc)
            return jnp.einsum("bcpij,fcp->bfij", patches, matrix, precision=lax.Precision.HIGHEST)

        return correlate

    @jax_funcify.register(Conv2d)
    def conv(op, node, **kwargs):
        return correlation(op, node)

    @jax_funcify.register(Conv2dGradInputs)
    def grad_inputs(op, node, **kwargs):
        correlate, dtype = correlation(op, node), node.outputs[0].type.dtype
        static_size = package._static_size(node, "input size")

        def transpose(w, gz, size):
            x = jax.ShapeDtypeStruct((gz.shape[0], w.shape[1], *static_size(size)), dtype)
            return jax.linear_transpose(lambda images: correlate(images, w), x)(gz.astype(dtype))[0]

        return transpose

    @jax_funcify.register(Conv2dGradWeights)
    def grad_weights(op, node, **kwargs):
        correlate, dtype = correlation(op, node), node.outputs[0].type.dtype
        static_size = package._static_size(node, "filter size")

        def transpose(x, gz, size):
            w = jax.ShapeDtypeStruct((gz.shape[1], x.shape[1], *static_size(size)), dtype)
            return jax.linear_transpose(lambda filters: correlate(x, filters), w)(gz.astype(dtype))[0]

        return transpose


def measure(formulation, calls):
    """Median time of LeNet's JAX training step with ``formulation``, in seconds."""
    import statistics
    import time

    import pytensor
    from step_time import training_step

    from deeplearning_tutorial.link import jax  # noqa: F401 (the package's implementations first)

    pytensor.config.mode = "JAX"
    if formulation == "im2col":
        use_im2col()
    step = training_step("convolutional_mlp")
    float(step(0))
    times = []
    for i in range(calls):
        started = time.perf_counter()
        float(step(i % 100))
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--floatX", default="float32")
    parser.add_argument("--calls", type=int, default=30)
    parser.add_argument("--formulation", choices=FORMULATIONS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.formulation:
        print(measure(args.formulation, args.calls))
        return
    env = dict(os.environ, PYTENSOR_FLAGS=f"floatX={args.floatX}")
    seconds = {}
    for formulation in FORMULATIONS:
        command = [sys.executable, __file__, "--formulation", formulation, "--calls", str(args.calls)]
        proc = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
        seconds[formulation] = float(proc.stdout.strip().splitlines()[-1])
        print(f"LeNet training step, JAX, {formulation:<6} {seconds[formulation] * 1e3:7.1f} ms", flush=True)
    print(f"im2col / XLA: {seconds['im2col'] / seconds['xla']:.2f}")


if __name__ == "__main__":
    main()
