"""Trained models as ``.npz`` files: parameter arrays and a JSON header.

A saved model is the list of a tutorial's parameters, in the order of its
training updates, with a header naming the tutorial, the arguments it was
trained with and the float type.  No pickle: loading a pickle runs code,
loading arrays and a string does not.
"""

import json
import zipfile
import zlib

import numpy

from deeplearning_tutorial import data

FORMAT = "deeplearning_tutorial saved model 1"


class ModelFileError(ValueError):
    """A file that is not a model saved by `save`."""


def write_archive(path, header, **arrays):
    """Write ``arrays`` and the JSON ``header`` to an ``.npz`` file, atomically."""
    with data.atomic_write(path) as tmp, open(tmp, "wb") as f:
        numpy.savez(f, header=numpy.array(json.dumps(header)), **arrays)


#: How a file that is not an .npz archive begins, and what it then is.
_OTHER_KINDS = (
    (b"\x80", "a pickle (such as logistic regression's best_model.pkl)"),
    (b"\x93NUMPY", "a single NumPy array (.npy)"),
    (b"\x1f\x8b", "a gzip file"),
)


def _not_an_archive(start):
    """What a file beginning with ``start`` is, in a few words, or None when it may be a zip (.npz) archive."""
    if start.startswith(b"PK"):
        return None
    if not start:
        return None  # empty: told as truncated
    kind = next((kind for magic, kind in _OTHER_KINDS if start.startswith(magic)), "some other kind of file")
    return f"it is {kind}, not an .npz archive"


def read_archive(path, expected_format, error, what):
    """``(header, arrays)`` of a file written by `write_archive` with ``expected_format``.

    Anything else (missing, truncated, damaged, another kind of file) raises
    ``error`` with one line of our own that names ``what`` was expected;
    NumPy's messages are not passed on, since they speak of loading pickles
    unsafely, which is never the remedy here.
    """
    try:
        with open(path, "rb") as f:
            start = f.read(8)
    except FileNotFoundError:
        raise error(f"{path}: no such file; expected {what}") from None
    except OSError as e:
        raise error(f"{path}: cannot read it ({e.strerror}); expected {what}") from None
    other = _not_an_archive(start)
    if other:
        raise error(f"{path} is not {what}: {other}")
    if not start:
        raise error(f"{path} is not {what}, or is truncated or damaged (it is empty)")
    try:
        with numpy.load(path, allow_pickle=False) as content:
            arrays = {name: content[name] for name in content.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error):
        raise error(f"{path} is not {what}, or is truncated or damaged (its .npz archive cannot be read)") from None
    try:
        header = json.loads(str(arrays.pop("header")))
    except (KeyError, ValueError):
        header = None
    if not isinstance(header, dict) or header.get("format") != expected_format:
        raise error(f"{path} is an .npz archive but not {what}")
    return header, arrays


def numbered(arrays, prefix):
    """``arrays[prefix + "0"]``, ``arrays[prefix + "1"]``... while they exist."""
    return [arrays[f"{prefix}{i}"] for i in range(len([n for n in arrays if n.startswith(prefix)]))]


#: The chapters whose classifier `deeplearning_tutorial.predict` rebuilds itself.
BUILT_IN_CLASSIFIERS = ("logistic_sgd", "mlp", "convolutional_mlp")


def is_classifier(tutorial):
    """Whether a model of chapter ``tutorial`` can be saved for predict: one of the first three, or one
    whose module says how to rebuild its classifier (``build_classifier``)."""
    from deeplearning_tutorial import tutorials

    return tutorial in BUILT_IN_CLASSIFIERS or hasattr(tutorials.chapter_module(tutorial), "build_classifier")


def save(path, tutorial, arguments, dtype, params):
    """Write ``params`` (arrays) and the header to ``path`` atomically."""
    header = {"format": FORMAT, "tutorial": tutorial, "arguments": arguments, "floatX": dtype}
    write_archive(path, header, **{f"param{i}": numpy.asarray(p) for i, p in enumerate(params)})


def load(path):
    """Return ``(header, params)`` of a model saved by `save`; `ModelFileError` if it is not one."""
    header, arrays = read_archive(path, FORMAT, ModelFileError, "a model saved by --save-model")
    return header, numbered(arrays, "param")
