"""CIFAR-10 from its "python version" batches, unpickled with a strict allow-list.

The archive ``cifar-10-python.tar.gz`` holds a folder ``cifar-10-batches-py`` with
``data_batch_1`` .. ``data_batch_5`` (10 000 training images each) and
``test_batch``. Each batch is a pickled dict: ``b'data'`` is a uint8 array of shape
(N, 3072) -- per image 1024 red, then 1024 green, then 1024 blue bytes, each
plane row by row -- and ``b'labels'`` a list of N ints in 0..9. So a plain
``reshape(N, 3, 32, 32)`` gives NCHW directly.

Memory note: the 50 000 training images as float32 take about 600 MB.
"""

import importlib
import io
import os
import pickle

import numpy as np

from .download import DatasetNotFoundError, download_file

CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)
CIFAR10_ARCHIVE = "cifar-10-python.tar.gz"
CIFAR10_FOLDER = "cifar-10-batches-py"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"
CIFAR10_URLS = ["https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"]
CIFAR10_TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR10_TEST_BATCH = "test_batch"


def _numpy_function(name):
    """Find a NumPy pickle helper whether NumPy calls its core ``_core`` (2.x) or ``core`` (1.x)."""
    module_name, attr = name.rsplit(".", 1)
    for package in ("numpy._core", "numpy.core"):
        try:
            return getattr(importlib.import_module(f"{package}.{module_name}"), attr)
        except (ImportError, AttributeError):
            continue
    raise pickle.UnpicklingError(f"this NumPy has no {name}")


class _ArrayOnlyUnpickler(pickle.Unpickler):
    """An unpickler that can rebuild NumPy arrays and nothing else.

    Why: unpickling runs code. A pickle names functions ("globals") that are
    called while loading, so a malicious file could name ``os.system``. CIFAR-10
    is distributed as pickles, so we cannot avoid the format -- but a batch only
    needs dicts, lists, ints, bytes and NumPy arrays. ``find_class`` is the one
    place where a pickle asks for a global; we answer only for the handful that
    rebuild an array and refuse everything else.
    """

    _ALLOWED = {
        # ndarray.__reduce__ (NumPy 1.x writes numpy.core..., 2.x writes numpy._core...)
        ("numpy.core.multiarray", "_reconstruct"): "multiarray._reconstruct",
        ("numpy._core.multiarray", "_reconstruct"): "multiarray._reconstruct",
        # protocol-5 pickles of arrays
        ("numpy.core.numeric", "_frombuffer"): "numeric._frombuffer",
        ("numpy._core.numeric", "_frombuffer"): "numeric._frombuffer",
    }

    def find_class(self, module, name):
        if (module, name) in self._ALLOWED:
            return _numpy_function(self._ALLOWED[(module, name)])
        if module == "numpy" and name in ("ndarray", "dtype"):
            return getattr(np, name)
        if (module, name) == ("_codecs", "encode"):
            # Python 3 writes bytes this way at protocol 2; it only encodes a string.
            import _codecs
            return _codecs.encode
        raise pickle.UnpicklingError(
            f"refusing to load global {module}.{name}: a CIFAR batch only contains "
            f"dicts, lists, numbers, bytes and NumPy arrays"
        )


def _get(batch, key):
    """Batches written by Python 2 have bytes keys; re-saved ones may have str keys."""
    for candidate in (key.encode(), key):
        if candidate in batch:
            return batch[candidate]
    raise KeyError(key)


def read_cifar_batch(path):
    """Read one batch file into ``(images uint8 (N, 3, 32, 32), labels int64 (N,))``."""
    path = os.fspath(path)
    with open(path, "rb") as handle:
        raw = handle.read()
    try:
        # encoding="bytes": the official files were pickled by Python 2, whose
        # 8-bit strings (keys, array data) must stay bytes, not be decoded as text.
        batch = _ArrayOnlyUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except Exception as exc:  # truncated or garbage pickles raise many different types
        raise ValueError(f"{path}: not a readable CIFAR-10 batch ({type(exc).__name__}: {exc})") from exc
    if not isinstance(batch, dict):
        raise ValueError(f"{path}: expected a pickled dict, got {type(batch).__name__}")
    try:
        data, labels = _get(batch, "data"), _get(batch, "labels")
    except KeyError as exc:
        raise ValueError(
            f"{path}: the batch dict has no {exc.args[0]!r} entry (keys: {list(batch)})"
        ) from None
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        shape = getattr(data, "shape", None)
        dtype = getattr(data, "dtype", type(data).__name__)
        raise ValueError(f"{path}: 'data' must be a uint8 array of shape (N, 3072), got {dtype} {shape}")
    labels = np.asarray(labels)
    if labels.ndim != 1 or len(labels) != len(data) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"{path}: 'labels' must be {len(data)} integers (one per image), got shape {labels.shape} "
            f"dtype {labels.dtype}"
        )
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise ValueError(f"{path}: labels must be in 0..9, found {labels.min()}..{labels.max()}")
    return data.reshape(-1, 3, 32, 32), labels.astype(np.int64)


def _batch_folder(root):
    """Where the batches are: ``root/cifar-10-batches-py`` or ``root`` itself, or None."""
    for folder in (os.path.join(root, CIFAR10_FOLDER), root):
        names = CIFAR10_TRAIN_BATCHES + (CIFAR10_TEST_BATCH,)
        if all(os.path.isfile(os.path.join(folder, name)) for name in names):
            return folder
    return None


def _extract_batches(archive, root):
    """Copy the six batch files out of the archive into ``root/cifar-10-batches-py``.

    We read members by their expected names and write them under names we choose,
    instead of ``extractall``: a crafted archive then cannot write outside ``root``
    (no ``../`` or absolute paths ever reach the file system).
    """
    import tarfile

    target = os.path.join(root, CIFAR10_FOLDER)
    os.makedirs(target, exist_ok=True)
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for name in CIFAR10_TRAIN_BATCHES + (CIFAR10_TEST_BATCH,):
                try:
                    member = tar.getmember(f"{CIFAR10_FOLDER}/{name}")
                except KeyError:
                    raise ValueError(f"{archive}: archive has no {CIFAR10_FOLDER}/{name}") from None
                source = tar.extractfile(member)
                if source is None:
                    raise ValueError(f"{archive}: {CIFAR10_FOLDER}/{name} is not a regular file")
                with source, open(os.path.join(target, name), "wb") as out:
                    out.write(source.read())
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise ValueError(f"{archive}: cannot read the archive ({exc}); delete it and retry") from exc
    return target


def load_cifar10(root, download=False, urls=None):
    """Return ``(x_train, y_train), (x_test, y_test)`` of CIFAR-10.

    ``root`` may hold the extracted ``cifar-10-batches-py`` folder, the six batch
    files directly, or the ``cifar-10-python.tar.gz`` archive (extracted on first
    use). With ``download=True`` the archive is fetched from ``urls`` (default
    :data:`CIFAR10_URLS`) and MD5-checked. Images are float32 NCHW
    ``(N, 3, 32, 32)`` in [0, 1]; labels int64, names in :data:`CIFAR10_CLASSES`.
    """
    root = os.fspath(root)
    if not isinstance(download, bool):
        raise TypeError(f"download must be True or False, got {download!r}")
    folder = _batch_folder(root)
    if folder is None:
        archive = os.path.join(root, CIFAR10_ARCHIVE)
        if not os.path.isfile(archive):
            if not download:
                raise DatasetNotFoundError(
                    f"CIFAR-10 not found in {root}: expected the folder {CIFAR10_FOLDER} "
                    f"(data_batch_1..5, test_batch) or the archive {CIFAR10_ARCHIVE}. "
                    f"Pass download=True, or copy one of them into {root} by hand."
                )
            download_file(CIFAR10_URLS if urls is None else urls, archive, md5=CIFAR10_MD5)
        folder = _extract_batches(archive, root)

    parts = [read_cifar_batch(os.path.join(folder, name)) for name in CIFAR10_TRAIN_BATCHES]
    train_images = np.concatenate([images for images, _ in parts])
    train_labels = np.concatenate([labels for _, labels in parts])
    test_images, test_labels = read_cifar_batch(os.path.join(folder, CIFAR10_TEST_BATCH))

    def to_float(images):
        return (images / np.float32(255.0)).astype(np.float32)

    return (to_float(train_images), train_labels), (to_float(test_images), test_labels)
