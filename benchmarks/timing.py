"""What a measured process notes while it trains, and the one line of JSON it reports.

Each runner (a tutorial under a PyTensor mode, its PyTorch peer, the
historical code under Theano) runs in a process of its own, started by
`benchmarks.run`, which passes the time it started the process.  The
process calls `EpochClock.mark` at the end of the first training step of
each epoch and prints `EpochClock.report` as the last line of its output:

- ``startup_s``: from starting the process to the end of the first
  training step: imports, reading the data, building the graphs,
  compiling, and the first step (which a JIT backend compiles);
- ``epoch_s``: the wall-clock time between two consecutive marks, one
  epoch's training steps plus that epoch's validation and test passes, as
  in the tutorials' loop (the first epoch, which holds the start-up, is
  not among them);
- ``epoch_cpu_s``: the process's CPU time over the same spans: on a
  machine shared with other work it varies less than the wall-clock time,
  which also counts the time the process waited for a core;
- ``peak_rss_mb``: the process's peak resident memory.

Only the standard library: the historical code's interpreter runs it too.
"""

import json
import resource
import time


class EpochClock:
    """The wall-clock and CPU times at the end of the first training step of each epoch."""

    def __init__(self, started):
        """``started``: the `time.time` at which the parent started this process."""
        self.started = started
        self.wall, self.cpu = [], []

    def mark(self):
        """Note that the first training step of an epoch has just ended."""
        self.wall.append(time.time())
        self.cpu.append(time.process_time())

    def report(self):
        """The process's figures, as a dict (see the module's docstring)."""
        if len(self.wall) < 2:
            raise RuntimeError(
                f"saw {len(self.wall)} epoch start(s) (a training step called with minibatch index 0) where an "
                "epoch's time needs two: more epochs, or a chapter whose training step takes the minibatch index"
            )
        return {
            "startup_s": self.wall[0] - self.started,
            "epoch_s": [b - a for a, b in zip(self.wall, self.wall[1:])],
            "epoch_cpu_s": [b - a for a, b in zip(self.cpu, self.cpu[1:])],
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }

    def print_report(self):
        """Print `report` as one line of JSON, the line `benchmarks.run` reads."""
        print(json.dumps(self.report()), flush=True)


def marks_epochs(clock):
    """An ``on_step(inputs, cost)`` for `benchmarks.watch.watch_training` that marks each epoch's first step.

    The tutorials call their training step with the minibatch index, which
    is 0 at the first step of each epoch; a step called with anything else
    first (an array) marks nothing.
    """

    def on_step(inputs, cost):
        index = inputs[0] if inputs else None
        if (isinstance(index, int) or getattr(index, "shape", None) == ()) and int(index) == 0:
            clock.mark()

    return on_step
