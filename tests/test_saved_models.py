"""Tests of deeplearning_tutorial.saved_models: what a file that is not a saved model is told."""

import gzip
import io
import pickle
import zipfile

import numpy
import pytest

from deeplearning_tutorial import saved_models

WHAT = "a model saved by --save-model"


def npy_bytes():
    buffer = io.BytesIO()
    numpy.save(buffer, numpy.arange(3.0))
    return buffer.getvalue()


def npz_bytes(**arrays):
    buffer = io.BytesIO()
    numpy.savez(buffer, **arrays)
    return buffer.getvalue()


def zip_bytes():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("notes.txt", "not arrays")
    return buffer.getvalue()


def refusal(path):
    with pytest.raises(saved_models.ModelFileError) as info:
        saved_models.load(str(path))
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    # NumPy's own advice (load it unsafely with allow_pickle) is never passed on.
    assert "allow_pickle" not in message and "pickle.load" not in message and "unsafe" not in message
    return message


@pytest.mark.parametrize(
    "content, said",
    [
        (pickle.dumps({"W": numpy.zeros(3)}), f"is not {WHAT}: it is a pickle (such as logistic regression's"),
        (pickle.dumps([1, 2], protocol=2), f"is not {WHAT}: it is a pickle"),
        (npy_bytes(), f"is not {WHAT}: it is a single NumPy array (.npy), not an .npz archive"),
        (gzip.compress(b"text"), f"is not {WHAT}: it is a gzip file, not an .npz archive"),
        (b"epoch 1, minibatch 83/83\n", f"is not {WHAT}: it is some other kind of file, not an .npz archive"),
        (b"", f"is not {WHAT}, or is truncated or damaged (it is empty)"),
        (b"PK\x03\x04 cut short", f"is not {WHAT}, or is truncated or damaged (its .npz archive cannot be read)"),
        (npz_bytes(x=numpy.arange(3)), f"is an .npz archive but not {WHAT}"),
        (npz_bytes(header=numpy.array("not json")), f"is an .npz archive but not {WHAT}"),
        (npz_bytes(header=numpy.array([{"a": 1}], dtype=object)), "or is truncated or damaged"),
        (zip_bytes(), f"is an .npz archive but not {WHAT}"),
    ],
    ids=["pickle", "pickle-protocol-2", "npy", "gzip", "text", "empty", "cut-zip", "no-header", "bad-header"]
    + ["object-header", "other-zip"],
)
def test_a_file_that_is_not_a_saved_model_gets_one_line_of_ours(tmp_path, content, said):
    path = tmp_path / "model.npz"
    path.write_bytes(content)
    assert said in refusal(path)


def test_a_saved_model_cut_short_is_told_truncated(tmp_path):
    path = tmp_path / "model.npz"
    saved_models.save(str(path), "mlp", {"n_hidden": 3}, "float64", [numpy.ones((300, 300)), numpy.zeros(3)])
    content = path.read_bytes()
    path.write_bytes(content[: len(content) // 2])
    assert refusal(path).endswith(f"is not {WHAT}, or is truncated or damaged (its .npz archive cannot be read)")


def test_a_missing_file_and_a_folder_are_named(tmp_path):
    assert refusal(tmp_path / "nothing.npz") == f"{tmp_path / 'nothing.npz'}: no such file; expected {WHAT}"
    assert refusal(tmp_path).startswith(f"{tmp_path}: cannot read it (")


def test_a_checkpoint_is_not_taken_for_a_saved_model(tmp_path):
    """read_archive serves checkpoints too: each kind of file refuses the other, with the caller's error."""

    class OtherError(ValueError):
        pass

    path = str(tmp_path / "m.npz")
    saved_models.save(path, "mlp", {"n_hidden": 3}, "float64", [numpy.ones(2)])
    with pytest.raises(OtherError, match="is an .npz archive but not a checkpoint of a stopped run"):
        saved_models.read_archive(path, "another format", OtherError, "a checkpoint of a stopped run")
    header, arrays = saved_models.read_archive(path, saved_models.FORMAT, OtherError, WHAT)
    assert header["tutorial"] == "mlp" and list(arrays) == ["param0"]
