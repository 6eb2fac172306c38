"""The Theano "Deep Learning Tutorials" on PyTensor.

One module per chapter, as in the original (`logistic_sgd`, `mlp`,
`convolutional_mlp`, ...), each runnable as ``python -m
deeplearning_tutorial.<chapter>``; `tutorials` lists them.  `data` finds and
checks MNIST, `ops` provides Theano's ``conv2d`` and ``pool_2d``, `modes`
chooses how PyTensor compiles the chapters' functions, and `runs` is the
seam through which the command line (`cli`) watches a chapter's run.
"""

import sys


def _check_pytensor_flags():
    """Started as ``python -m deeplearning_tutorial.<chapter>``: a bad PYTENSOR_FLAGS is one line, exit 2.

    PyTensor checks its flags when it is first imported, which is before any
    of our code can parse the command line; Python sets ``sys.argv[0]`` to
    ``-m`` while it imports the package of the module it is about to run.
    Imported any other way, PyTensor's own exception stands.
    """
    try:
        import pytensor  # noqa: F401
    except ValueError as e:
        if sys.argv[:1] != ["-m"]:
            raise
        print(f"deeplearning_tutorial: error: PYTENSOR_FLAGS: {e}; correct or unset PYTENSOR_FLAGS", file=sys.stderr)
        sys.exit(2)


_check_pytensor_flags()
