"""LeNet's training step under JAX with XLA's convolution and with im2col plus a matrix product.

The package's JAX convolution (`deeplearning_tutorial/link/jax/ops/conv.py`)
gathers the image patches by strided slices ("im2col") and multiplies them
by the filters in one ``dot_general``.  This times LeNet's real training
step (batch of 500) with it and with XLA's ``lax.conv_general_dilated``;
both gradients are, as in the package, the transposes of the function.
Each runs in a fresh process.

    python benchmarks/jax_conv.py [--floatX float32] [--calls 30]
"""

import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(HERE), HERE]

FORMULATIONS = ("xla", "im2col")


def use_xla():
    """Make the package's three convolution ops use XLA's convolution in place of its im2col.

    The package's JAX implementations (and so both gradients, the transposes
    of the function) look up `_correlation` when they are converted, so
    replacing it is enough.
    """
    from jax import lax

    import deeplearning_tutorial.link.jax.ops.conv as package
    from deeplearning_tutorial.ops.shapes import conv_padding

    def correlation(op, node):
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

    package._correlation = correlation


def measure(formulation, calls):
    """Median time of LeNet's JAX training step with ``formulation``, in seconds."""
    import pytensor
    from step_time import median_call_seconds, training_step

    from deeplearning_tutorial.link import jax  # noqa: F401 (the package's implementations first)

    pytensor.config.mode = "JAX"
    if formulation == "xla":
        use_xla()
    step = training_step("convolutional_mlp")
    float(step(0))
    return median_call_seconds(step, calls, 100)


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
