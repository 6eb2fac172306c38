"""Measurements of the tutorials' speed: one entry point, ``python -m benchmarks``, run from the repository's root.

Subcommands (``python -m benchmarks SUBCOMMAND --help`` for each):

- ``run``: start-up, epoch time and memory of each chapter under each
  mode, beside the same models in PyTorch (and the historical code under
  Theano), each in fresh processes; writes the figures as JSON
  (`benchmarks.results`, into ``benchmarks/results/``).
- ``steps``: the later chapters' training steps (dA, cA, SdA, logistic_cg,
  rbm, hmc, DBN), each in fresh processes beside the same steps in PyTorch
  and the historical code's under Theano, with the chapters' cold start
  and their full default runs estimated; writes JSON the same way.
- ``render``: writes ``docs/speed.md`` from such JSON records.
- ``step-time``: the time of one call of a chapter's training step.
- ``jax-call``: the time of a JAX call reading shared data, on or off the device.
- ``jax-conv``: LeNet's convolutions under JAX, the package's im2col against XLA's.

The processes that `run` measures are modules of this package started as
``python -m benchmarks.tutorial``, ``benchmarks.torch_peers`` and
``benchmarks.legacy``; those of `steps` are ``benchmarks.chapter_steps``
(this package or the historical code) and ``benchmarks.torch_steps``.  They see a chapter's training steps through
`benchmarks.watch`, which stands in for the library's ``function`` while
they run: a measuring device that the package itself never uses.
"""
