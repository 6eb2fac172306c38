"""The progress bar of a command-line run, and the printing of log lines around it.

The bar is drawn on stderr, and only where it cannot mix with the log:
stderr must be a terminal, and stdout a terminal (the bar is cleared
before each line and drawn again after it) or a file.  When stdout is a
pipe, as in ``... | tee run.log``, the program at the other end writes the
lines to the terminal whenever it likes, so there is no bar.

It counts the minibatches of the current epoch.  It appears with the first
training step, when the number of minibatches in an epoch is known, and a
new step function (the next layer's pretraining, fine-tuning) starts it
again from epoch 1.
"""

import os
import shutil
import stat
import sys


def wanted(quiet):
    """Whether a run should show a bar (see the module's docstring)."""
    if quiet or not sys.stderr.isatty():
        return False
    try:
        mode = os.fstat(sys.stdout.fileno()).st_mode
    except (OSError, ValueError, AttributeError):
        return False
    return sys.stdout.isatty() or stat.S_ISREG(mode)


class ProgressBar:
    """A tqdm bar over the minibatches of the current epoch, on stderr."""

    def __init__(self, n_epochs):
        self.n_epochs = n_epochs
        self.bar = None
        self.function = None
        self.epoch = 1
        self.best = None

    def _open(self, total):
        from tqdm import tqdm

        # A few columns short of the terminal's width, so that the "^C" the
        # terminal echoes on Ctrl-C does not wrap the bar onto a line that
        # clearing it would leave behind.
        width = shutil.get_terminal_size().columns - 3
        self.bar = tqdm(total=total, unit="minibatch", leave=False, file=sys.stderr, ncols=width)

    def describe(self):
        if self.bar is None:
            return
        of = f"/{self.n_epochs}" if self.n_epochs else ""
        self.bar.set_description(f"epoch {self.epoch}{of}", refresh=False)
        if self.best is not None:
            self.bar.set_postfix_str(f"best validation {self.best:.2f} %", refresh=False)
        self.bar.refresh()

    def step(self, function, n_batches):
        """One training step of step function number ``function``, whose epoch has ``n_batches`` minibatches."""
        if self.bar is None:
            self._open(n_batches)
        if function != self.function:
            self.function, self.epoch = function, 1
            self.bar.reset(total=n_batches)
            self.describe()
        # A new epoch starts with its first minibatch, so the bar stays full
        # while the previous epoch's validation runs.
        elif self.bar.total and self.bar.n >= self.bar.total:
            self.epoch += 1
            self.bar.reset()
            self.describe()
        self.bar.update()

    def jump(self, function, done, n_batches):
        """Show the position a resumed run starts from: ``done`` steps of step function ``function``."""
        if function is None:
            return
        if self.bar is None:
            self._open(n_batches)
        self.function = function
        if n_batches:
            self.epoch, within = divmod(done, n_batches)
            self.epoch += 1
            self.bar.reset(total=n_batches)
            self.bar.update(within)
        self.describe()

    def show_best(self, best):
        self.best = best
        self.describe()

    def write(self, text, stream):
        """Write ``text`` to ``stream`` without mixing it with the bar."""
        if self.bar is not None:
            self.bar.clear()
        stream.write(text)
        stream.flush()
        if self.bar is not None:
            self.bar.refresh()

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
