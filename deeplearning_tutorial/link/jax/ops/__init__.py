"""JAX implementations of `deeplearning_tutorial.ops`, one module per op module."""

from deeplearning_tutorial.link.jax.ops import conv, pool  # noqa: F401 (registers on import)
