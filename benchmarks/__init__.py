"""Measurements of the tutorials' speed: one entry point, ``python -m benchmarks``, run from the repository's root.

Subcommands (``python -m benchmarks SUBCOMMAND --help`` for each):

- ``run``: start-up, epoch time and memory of each chapter under each
  mode, beside the same models in PyTorch (and the historical code under
  Theano), each in fresh processes; writes the figures as JSON
  (`benchmarks.results`, into ``benchmarks/results/``).
- ``render``: writes ``docs/speed.md`` from such a JSON record.
- ``step-time``: the time of one call of a chapter's training step.
- ``jax-call``: the time of a JAX call reading shared data, on or off the device.
- ``jax-conv``: LeNet's convolutions under JAX, the package's im2col against XLA's.

The processes that `run` measures are modules of this package started as
``python -m benchmarks.tutorial``, ``benchmarks.torch_peers`` and
``benchmarks.legacy``.  They see a chapter's training steps through
`benchmarks.watch`, which stands in for the library's ``function`` while
they run: a measuring device that the package itself never uses.
"""
