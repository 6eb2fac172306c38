"""The Theano "Deep Learning Tutorials" on PyTensor.

One module per model, as in the original: `logistic_sgd`, `mlp` and
`convolutional_mlp`, each runnable as a script.  `data` finds and checks
MNIST, `ops` provides Theano's ``conv2d`` and ``pool_2d``, and `modes`
chooses how PyTensor compiles the tutorial functions.
"""
