"""Trained models as ``.npz`` files: parameter arrays and a JSON header.

A saved model is the list of a tutorial's parameters, in the order of its
training updates, with a header naming the tutorial, the arguments it was
trained with and the float type.  No pickle: loading a pickle runs code,
loading arrays and a string does not.
"""

import json
import zipfile

import numpy

from deeplearning_tutorial import data

FORMAT = "deeplearning_tutorial saved model 1"


class ModelFileError(ValueError):
    """A file that is not a model saved by `save`."""


def write_archive(path, header, **arrays):
    """Write ``arrays`` and the JSON ``header`` to an ``.npz`` file, atomically."""
    with data.atomic_write(path) as tmp, open(tmp, "wb") as f:
        numpy.savez(f, header=numpy.array(json.dumps(header)), **arrays)


def read_archive(path, expected_format, error, what):
    """``(header, arrays)`` of a file written by `write_archive` with ``expected_format``.

    Anything else (missing, truncated, damaged, another kind of file) raises
    ``error`` with a message that names ``what`` was expected.
    """
    try:
        with numpy.load(path, allow_pickle=False) as content:
            header = json.loads(str(content["header"]))
            arrays = {name: content[name] for name in content.files if name != "header"}
    except FileNotFoundError:
        raise error(f"{path}: no such file; expected {what}") from None
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise error(f"{path} is not {what}, or is truncated or damaged ({e})") from None
    if not isinstance(header, dict) or header.get("format") != expected_format:
        raise error(f"{path} is an .npz file but not {what}")
    return header, arrays


def numbered(arrays, prefix):
    """``arrays[prefix + "0"]``, ``arrays[prefix + "1"]``... while they exist."""
    return [arrays[f"{prefix}{i}"] for i in range(len([n for n in arrays if n.startswith(prefix)]))]


def save(path, tutorial, arguments, dtype, params):
    """Write ``params`` (arrays) and the header to ``path`` atomically."""
    header = {"format": FORMAT, "tutorial": tutorial, "arguments": arguments, "floatX": dtype}
    write_archive(path, header, **{f"param{i}": numpy.asarray(p) for i, p in enumerate(params)})


def load(path):
    """Return ``(header, params)`` of a model saved by `save`; `ModelFileError` if it is not one."""
    header, arrays = read_archive(path, FORMAT, ModelFileError, "a model saved by --save-model")
    return header, numbered(arrays, "param")
