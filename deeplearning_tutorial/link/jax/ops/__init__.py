"""JAX implementations of `deeplearning_tutorial.ops`, one module per op module."""
