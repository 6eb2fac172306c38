"""The optimisers' updates and the learning-rate schedule.

``sdlm`` is the paper's stochastic diagonal Levenberg-Marquardt method: each
parameter steps by ``eps / (mu + h)`` times its gradient, ``h`` being an
estimate of the loss's second derivative with respect to it.  ``sgd`` and
``adam`` are the articles' optimisers.  A learning rate is a number or a
schedule over the passes, ``"RATE:PASSES,...,RATE"``.
"""

import numpy
import pytensor
import pytensor.tensor as T

OPTIMIZERS = ("sdlm", "sgd", "adam")

#: The paper's schedule for its 20 passes: (eps, passes), the last value kept
#: for all remaining passes.
PAPER_SCHEDULE = "0.0005:2,0.0002:3,0.0001:3,0.00005:4,0.00001"

#: The default SDLM schedule.  At the initial weights the estimated second
#: derivatives of the lower layers are far below mu, so their steps are
#: eps / mu times the gradient: with the paper's rates those steps saturate
#: the network within a few dozen updates.  The default starts at 0.00001,
#: the largest rate that trains smoothly, and decays more slowly than the
#: paper's schedule scaled down to that start, which falls so low that
#: learning stalls.  docs/lenet5.md has the measurements behind it.
DEFAULT_SCHEDULE = "0.00001:8,0.000005:6,0.000002"

#: Each optimiser's default learning rate.  For SGD on LeNet-5's mean loss,
#: 0.01 is the step that SDLM's first rate takes (1e-5 / mu per example,
#: over a minibatch of 20) on the many parameters whose second derivative is
#: far below mu.
DEFAULT_RATES = {"sdlm": DEFAULT_SCHEDULE, "sgd": "0.01", "adam": "0.001"}


def parse_schedule(text):
    """``"0.0005:2,0.0002:3,0.00001"`` -> [(0.0005, 2), (0.0002, 3), (0.00001, None)].

    Each item is a rate and the number of passes it lasts; the last one has
    no count and lasts for the remaining passes.  A single number is a
    constant rate.
    """
    items = [item.strip() for item in str(text).split(",")]
    schedule = []
    for pos, item in enumerate(items):
        rate_text, sep, count_text = item.partition(":")
        last = pos == len(items) - 1
        try:
            rate = float(rate_text)
            count = int(count_text) if sep else None
        except ValueError:
            raise ValueError(
                f"cannot read learning-rate schedule {text!r}: write RATE:PASSES,...,RATE, e.g. {PAPER_SCHEDULE!r}"
            ) from None
        if not numpy.isfinite(rate) or rate <= 0:
            raise ValueError(f"learning rates must be positive numbers, got {rate_text!r} in {text!r}")
        if (count is None) != last or (count is not None and count < 1):
            raise ValueError(
                f"cannot read learning-rate schedule {text!r}: every rate but the last needs ':PASSES' "
                f"(a positive count), e.g. {PAPER_SCHEDULE!r}"
            )
        schedule.append((rate, count))
    return schedule


def rate_for_epoch(schedule, epoch):
    """The learning rate of pass ``epoch`` (counted from 1)."""
    done = 0
    for rate, count in schedule:
        if count is None or epoch <= done + count:
            return rate
        done += count
    raise AssertionError("unreachable: the last item has no count")


def updates(optimizer, params, grads, rate, hessians=None, mu=0.02):
    """Update pairs for one minibatch step; ``rate`` is a shared scalar.

    The parameters come first, in the order of ``params``; the optimiser's
    own state (Adam's step count and moment estimates) follows, so that
    the first ``len(params)`` updated variables are always the model's.
    """
    if optimizer == "sgd":
        return [(p, p - rate * g) for p, g in zip(params, grads)]
    if optimizer == "sdlm":
        # Each parameter's own step size: large where the loss is flat,
        # small where it curves; mu keeps it bounded where h is tiny.
        return [(p, p - (rate / (mu + h)) * g) for p, g, h in zip(params, grads, hessians)]
    if optimizer == "adam":
        b1, b2, tiny = 0.9, 0.999, 1e-8
        dtype = pytensor.config.floatX
        t = pytensor.shared(numpy.asarray(0.0, dtype=dtype), name="adam.t")
        t_new = t + 1
        steps, state = [], [(t, t_new)]
        for p, g in zip(params, grads):
            zeros = numpy.zeros_like(p.get_value(borrow=True))
            m = pytensor.shared(zeros.copy(), name=f"{p.name}.m")
            v = pytensor.shared(zeros.copy(), name=f"{p.name}.v")
            m_new = b1 * m + (1 - b1) * g
            v_new = b2 * v + (1 - b2) * g**2
            step = rate * T.sqrt(1 - b2**t_new) / (1 - b1**t_new)
            steps.append((p, p - step * m_new / (T.sqrt(v_new) + tiny)))
            state += [(m, m_new), (v, v_new)]
        return steps + state
    raise ValueError(f"unknown optimizer {optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
