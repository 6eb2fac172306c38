"""The training steps of the later chapters, built as their training functions build them, timed in a process.

A recipe builds one chapter's model and compiled functions with the
chapter's own classes, as its training function does (same seeds, shapes,
batch sizes and arguments), and hands back its steps, each a call of one
minibatch index, and its evaluation passes.  The same recipe serves this
package under PyTensor and the historical code under Theano: the port keeps
the historical names and signatures, so a recipe sees either through a
`Library`.  Started by ``python -m benchmarks steps``::

    python -m benchmarks.chapter_steps pytensor CHAPTER MODE CALLS BUDGET STARTED
    python -m benchmarks.chapter_steps theano CHAPTER - CALLS BUDGET STARTED

Under PyTensor the process first runs the chapter's own training function
(its defaults, its printed lines going nowhere) up to the end of its first
training step: that is the start-up a user meets (``startup_s``), cold when
the caches are empty.  Under Theano, ``PYTHONPATH`` holds the historical
``code/`` folder.  The last line printed is one line of JSON::

    {"startup_s": float|null, "peak_rss_mb": float,
     "steps": {KEY: {"s": median seconds of a call, "cpu_s": median CPU seconds of a call, "calls": int}},
     "passes": {KEY: {... the same}}}

Only the standard library and NumPy at import: the historical code's
interpreter runs it too.
"""

import argparse
import contextlib
import importlib
import io
import json
import resource
import statistics
import time

import numpy

#: Examples in MNIST's training split.
N_TRAIN = 50000

#: Step key -> what one call does (the keys `benchmarks.torch_steps` uses too).
STEPS = {
    "dA": "training step, corruption 0.3, batch 20, 500 hidden",
    "cA": "training step, batch 10 (the default), 500 hidden",
    "SdA pretraining layer 0": "layer 0's dA step (784 -> 1 000), corruption 0.1, batch 1",
    "SdA pretraining layer 1": "layer 1's dA step (1 000 -> 1 000), corruption 0.2, batch 1",
    "SdA pretraining layer 2": "layer 2's dA step (1 000 -> 1 000), corruption 0.3, batch 1",
    "SdA fine-tuning": "SGD step of the whole network, batch 1",
    "logistic_cg": "objective and gradient at one point: 83 training minibatches of 600 each",
    "rbm": "PCD-15 step, batch 20, 500 hidden",
    "hmc": "one draw: 3 chains, 5 dimensions, 20 leap-frog steps",
    "DBN pretraining layer 0": "layer 0's CD-1 step (784 -> 1 000), batch 10",
    "DBN pretraining layer 1": "layer 1's CD-1 step (1 000 -> 1 000), batch 10",
    "DBN pretraining layer 2": "layer 2's CD-1 step (1 000 -> 1 000), batch 10",
    "DBN fine-tuning": "SGD step of the whole network, batch 10",
}

#: Pass key -> what one call does.
PASSES = {
    "SdA validation pass": "10 000 validation minibatches of 1",
    "logistic_cg validation pass": "16 validation minibatches of 600",
    "DBN validation pass": "1 000 validation minibatches of 10",
}

#: Timed calls of a step at least, whatever the time budget.
MIN_CALLS = 5


class Library:
    """What a recipe needs of PyTensor and this package, or of Theano and the historical code."""

    def __init__(self, T, shared, function, chapter, load_data, floatX):
        self.T = T  # the tensor module
        self.shared = shared
        self.function = function  # compiles as the chapters do (this package: in the tutorials' mode)
        self.chapter = chapter  # chapter name -> its module
        self.load_data = load_data  # () -> the three (x, y) shared pairs of MNIST
        self.floatX = floatX


def pytensor_library():
    import pytensor
    import pytensor.tensor as T

    from deeplearning_tutorial import tutorials
    from deeplearning_tutorial.data import load_data
    from deeplearning_tutorial.modes import tutorial_mode

    def function(*args, **kwargs):
        return pytensor.function(*args, mode=tutorial_mode(), **kwargs)

    return Library(
        T,
        pytensor.shared,
        function,
        tutorials.chapter_module,
        lambda: load_data("mnist.pkl.gz"),
        pytensor.config.floatX,
    )


def theano_library():
    import theano
    import theano.tensor as T

    def chapter(name):
        # the historical HMC code is the package code/hmc/
        return importlib.import_module("hmc.hmc" if name == "hmc" else name)

    def load_data():
        return importlib.import_module("logistic_sgd").load_data("mnist.pkl.gz")

    return Library(T, theano.shared, theano.function, chapter, load_data, theano.config.floatX)


def minibatch(shared_x, index, size):
    return shared_x[index * size : (index + 1) * size]


def dA_steps(lib):
    """test_dA's second model (30 % corruption)."""
    dA = lib.chapter("dA")
    (train_set_x, _), _, _ = lib.load_data()
    index, x = lib.T.lscalar(), lib.T.matrix("x")
    rng = numpy.random.RandomState(123)
    theano_rng = dA.RandomStreams(rng.randint(2**30))
    da = dA.dA(numpy_rng=rng, theano_rng=theano_rng, input=x, n_visible=28 * 28, n_hidden=500)
    cost, updates = da.get_cost_updates(corruption_level=0.3, learning_rate=0.1)
    train_da = lib.function([index], cost, updates=updates, givens={x: minibatch(train_set_x, index, 20)})
    return {"dA": (train_da, N_TRAIN // 20)}, {}


def cA_steps(lib):
    cA = lib.chapter("cA")
    (train_set_x, _), _, _ = lib.load_data()
    index, x = lib.T.lscalar(), lib.T.matrix("x")
    ca = cA.cA(numpy_rng=numpy.random.RandomState(123), input=x, n_visible=28 * 28, n_hidden=500, n_batchsize=10)
    cost, updates = ca.get_cost_updates(contraction_level=0.1, learning_rate=0.01)
    outputs = [lib.T.mean(ca.L_rec), ca.L_jacob]
    train_ca = lib.function([index], outputs, updates=updates, givens={x: minibatch(train_set_x, index, 10)})
    return {"cA": (train_ca, N_TRAIN // 10)}, {}


def _layer_step(fns, layer, **named):
    return lambda i: fns[layer](index=i, **named)


def SdA_steps(lib):
    SdA = lib.chapter("SdA")
    datasets = lib.load_data()
    sda = SdA.SdA(
        numpy_rng=numpy.random.RandomState(89677), n_ins=28 * 28, hidden_layers_sizes=[1000, 1000, 1000], n_outs=10
    )
    fns = sda.pretraining_functions(train_set_x=datasets[0][0], batch_size=1)
    train_fn, validate_model, _ = sda.build_finetune_functions(datasets=datasets, batch_size=1, learning_rate=0.1)
    steps = {
        f"SdA pretraining layer {i}": (_layer_step(fns, i, corruption=level, lr=0.001), N_TRAIN)
        for i, level in enumerate([0.1, 0.2, 0.3])
    }
    steps["SdA fine-tuning"] = (train_fn, N_TRAIN)
    return steps, {"SdA validation pass": validate_model}


def DBN_steps(lib):
    DBN = lib.chapter("DBN")
    datasets = lib.load_data()
    dbn = DBN.DBN(
        numpy_rng=numpy.random.RandomState(123), n_ins=28 * 28, hidden_layers_sizes=[1000, 1000, 1000], n_outs=10
    )
    fns = dbn.pretraining_functions(train_set_x=datasets[0][0], batch_size=10, k=1)
    train_fn, validate_model, _ = dbn.build_finetune_functions(datasets=datasets, batch_size=10, learning_rate=0.1)
    steps = {f"DBN pretraining layer {i}": (_layer_step(fns, i, lr=0.01), N_TRAIN // 10) for i in range(3)}
    steps["DBN fine-tuning"] = (train_fn, N_TRAIN // 10)
    return steps, {"DBN validation pass": validate_model}


def logistic_cg_steps(lib):
    """What one evaluation of ``fmin_cg``'s objective and of its gradient costs, at theta = 0."""
    cg, T = lib.chapter("logistic_cg"), lib.T
    (train_x, train_y), (valid_x, valid_y), _ = lib.load_data()
    batch_size, n_train_batches, n_valid_batches = 600, N_TRAIN // 600, 10000 // 600
    offset, x, y = T.lscalar(), T.matrix(), T.ivector()
    classifier = cg.LogisticRegression(input=x, n_in=28 * 28, n_out=10)
    cost = classifier.negative_log_likelihood(y).mean()

    def on(set_x, set_y):
        return {x: set_x[offset : offset + batch_size], y: set_y[offset : offset + batch_size]}

    batch_cost = lib.function([offset], cost, givens=on(train_x, train_y), name="batch_cost")
    batch_grad = lib.function([offset], T.grad(cost, classifier.theta), givens=on(train_x, train_y), name="batch_grad")
    validate_model = lib.function([offset], classifier.errors(y), givens=on(valid_x, valid_y), name="validate")
    theta = numpy.zeros((28 * 28 + 1) * 10, dtype=lib.floatX)

    def evaluation(_):
        classifier.theta.set_value(theta, borrow=True)
        objective = numpy.mean([batch_cost(i * batch_size) for i in range(n_train_batches)])
        classifier.theta.set_value(theta, borrow=True)
        grad = batch_grad(0)
        for i in range(1, n_train_batches):
            grad += batch_grad(i * batch_size)
        return objective, grad / n_train_batches

    def validation_pass():
        return [validate_model(i * batch_size) for i in range(n_valid_batches)]

    return {"logistic_cg": (evaluation, 1)}, {"logistic_cg validation pass": validation_pass}


def rbm_steps(lib):
    rbm = lib.chapter("rbm")
    (train_set_x, _), _, _ = lib.load_data()
    index, x = lib.T.lscalar(), lib.T.matrix("x")
    rng = numpy.random.RandomState(123)
    theano_rng = rbm.RandomStreams(rng.randint(2**30))
    persistent_chain = lib.shared(numpy.zeros((20, 500), dtype=lib.floatX), borrow=True)
    model = rbm.RBM(input=x, n_visible=28 * 28, n_hidden=500, numpy_rng=rng, theano_rng=theano_rng)
    cost, updates = model.get_cost_updates(lr=0.1, persistent=persistent_chain, k=15)
    train_rbm = lib.function(
        [index], cost, updates=updates, givens={x: minibatch(train_set_x, index, 20)}, name="train_rbm"
    )
    return {"rbm": (train_rbm, N_TRAIN // 20)}, {}


def hmc_steps(lib):
    """test_hmc's sampler: the 5-dimensional Gaussian and three chains of `sampler_on_nd_gaussian`."""
    hmc, T, dim = lib.chapter("hmc"), lib.T, 5
    rng = numpy.random.RandomState(123)
    mu = numpy.array(rng.rand(dim) * 10, dtype=lib.floatX)
    cov = numpy.array(rng.rand(dim, dim), dtype=lib.floatX)
    cov = (cov + cov.T) / 2.0
    cov[numpy.arange(dim), numpy.arange(dim)] = 1.0
    cov_inv = numpy.linalg.inv(cov)

    def gaussian_energy(x):
        return 0.5 * (T.dot((x - mu), cov_inv) * (x - mu)).sum(axis=1)

    position = lib.shared(rng.randn(3, dim).astype(lib.floatX))
    sampler = hmc.HMC_sampler.new_from_shared_positions(
        position, gaussian_energy, initial_stepsize=1e-3, stepsize_max=0.5
    )
    return {"hmc": (lambda _: sampler.draw(), 1)}, {}


#: Chapter -> its recipe: ``recipe(library)`` -> (steps {key: (call(index), number of indices)}, passes {key: call()}).
RECIPES = {
    "dA": dA_steps,
    "cA": cA_steps,
    "SdA": SdA_steps,
    "logistic_cg": logistic_cg_steps,
    "rbm": rbm_steps,
    "hmc": hmc_steps,
    "DBN": DBN_steps,
}


def time_calls(call, calls, budget_s, min_calls=MIN_CALLS):
    """Median wall-clock and CPU seconds of ``call(i)`` for i = 1, 2...; the call with 0 is not timed.

    Stops after ``calls`` calls, or earlier once ``budget_s`` seconds have
    gone and at least ``min_calls`` were timed.  Medians, so that a rare
    slow call (a late compilation, a pause of the machine) moves neither.
    """
    call(0)  # the first call: a JIT backend compiles here
    walls, cpus = [], []
    began = time.perf_counter()
    for i in range(1, calls + 1):
        started, cpu = time.perf_counter(), time.process_time()
        call(i)
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu)
        if len(walls) >= min_calls and time.perf_counter() - began > budget_s:
            break
    return {"s": statistics.median(walls), "cpu_s": statistics.median(cpus), "calls": len(walls)}


def time_recipe(steps, passes, calls, budget_s):
    """The figures of every step and pass of a recipe (see the module's docstring)."""
    timed_steps = {}
    for key, (fn, n_indices) in steps.items():
        timed_steps[key] = time_calls(lambda i, fn=fn, n=n_indices: fn(i % n), calls, budget_s)
    timed_passes = {key: time_calls(lambda i, fn=fn: fn(), 3, budget_s / 2, 1) for key, fn in passes.items()}
    return timed_steps, timed_passes


def startup(chapter, started):
    """Run chapter ``chapter``'s training function to the end of its first step; seconds since ``started``."""
    from benchmarks.watch import first_training_step
    from deeplearning_tutorial import tutorials

    train = tutorials.training_function(chapter)
    # conjugate gradients trains without updates: its first step is the first cost of a minibatch
    is_step = (lambda kwargs: kwargs.get("name") == "batch_cost") if chapter == "logistic_cg" else None
    first_training_step(train, is_step=is_step)
    return time.time() - started


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.chapter_steps", description=__doc__.splitlines()[0])
    parser.add_argument("library", choices=("pytensor", "theano"))
    parser.add_argument("chapter", choices=sorted(RECIPES))
    parser.add_argument("mode", help="a mode of --mode (pytensor), '-' (theano)")
    parser.add_argument("calls", type=int)
    parser.add_argument("budget_s", type=float)
    parser.add_argument("started", type=float)
    args = parser.parse_args(argv)

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        if args.library == "pytensor":
            from benchmarks.tutorial import select_mode

            select_mode(args.mode)
            startup_s = startup(args.chapter, args.started)
            library = pytensor_library()
        else:
            startup_s = None
            library = theano_library()
        steps, passes = RECIPES[args.chapter](library)
        timed_steps, timed_passes = time_recipe(steps, passes, args.calls, args.budget_s)
    report = {
        "startup_s": startup_s,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "steps": timed_steps,
        "passes": timed_passes,
    }
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
