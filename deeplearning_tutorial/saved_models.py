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


def save(path, tutorial, arguments, dtype, params):
    """Write ``params`` (arrays) and the header to ``path`` atomically."""
    header = {"format": FORMAT, "tutorial": tutorial, "arguments": arguments, "floatX": dtype}
    arrays = {f"param{i}": numpy.asarray(p) for i, p in enumerate(params)}
    with data.atomic_write(path) as tmp, open(tmp, "wb") as f:
        numpy.savez(f, header=numpy.array(json.dumps(header)), **arrays)


def load(path):
    """Return ``(header, params)`` of a model saved by `save`; `ModelFileError` if it is not one."""
    try:
        with numpy.load(path, allow_pickle=False) as content:
            header = json.loads(str(content["header"]))
            params = [content[f"param{i}"] for i in range(len(content.files) - 1)]
    except FileNotFoundError:
        raise ModelFileError(f"{path}: no such file") from None
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise ModelFileError(f"{path} is not a saved model, or is damaged ({e}); save one with --save-model") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ModelFileError(f"{path} is an .npz file but not a model saved by --save-model")
    return header, params
