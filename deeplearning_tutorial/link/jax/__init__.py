"""The JAX backend: the package's ops, and the tutorials' JAX mode.

`ops`
    The ops of `deeplearning_tutorial.ops`, one module per op module.
`minibatch`
    The static-length minibatch slice of the ``NUMPY`` mode's rewrite of
    the same name (`deeplearning_tutorial.link.numpy.minibatch`), which the
    JAX mode uses too.
`mode`
    The tutorials' JAX mode (`mode.tutorial_mode`), and what it adds to a
    JAX mode: its linker (`linker`, `checks`), PyTensor's op conversions it
    replaces (`dispatch`), and its rewrites (`rounding`,
    `ops.conv.sizes_as_tuples`).

Importing this package loads nothing of JAX; `register` registers the
implementations with PyTensor's ``jax_funcify``.
"""


def register():
    """Register this backend's implementations with PyTensor's JAX dispatch; calling it again does nothing.

    Each module registers its implementations when it is imported, which
    Python does once.
    """
    from deeplearning_tutorial.link.jax import dispatch, minibatch  # noqa: F401
    from deeplearning_tutorial.link.jax.ops import conv, pool  # noqa: F401
