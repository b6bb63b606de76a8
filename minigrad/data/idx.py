"""MNIST from its original IDX files, with every header field checked.

The IDX format (from the MNIST web page) is tiny: two zero bytes, one byte for
the element type, one byte for the number of dimensions ``d``, then ``d``
big-endian uint32 sizes, then the raw values in C order. Images files have magic
number 0x00000803 (unsigned bytes, 3 dims: N, rows, cols); label files
0x00000801 (unsigned bytes, 1 dim: N).

Why check so much: a truncated download or swapped file names otherwise shows up
much later as a baffling reshape error or as a network that "does not learn".
Here it becomes a ``ValueError`` naming the file and what is wrong with it.
Fashion-MNIST and KMNIST use the same file names and format, so they load too.
"""

import gzip
import os
import zlib

import numpy as np

from .download import DatasetNotFoundError, download_file

# Element-type byte -> big-endian NumPy dtype, as listed in the IDX spec.
IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
IDX_IMAGES_MAGIC = 0x00000803
IDX_LABELS_MAGIC = 0x00000801

MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
# MD5 of the official gzipped files. Edit MNIST_MIRRORS (or pass mirrors=) to use
# another copy; the checksums guarantee it is the same data.
MNIST_MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
MNIST_MIRRORS = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
]


def _read_bytes(path):
    """Whole file as bytes, un-gzipping ``*.gz`` files; gzip damage becomes ValueError."""
    if str(path).endswith(".gz"):
        try:
            with gzip.open(path, "rb") as handle:
                return handle.read()
        except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError
            raise ValueError(f"{path}: not a valid gzip file ({exc})") from exc
    with open(path, "rb") as handle:
        return handle.read()


def read_idx(path, expected_magic=None):
    """Read one IDX file (plain or ``.gz``) into a NumPy array of native byte order.

    ``expected_magic`` (e.g. :data:`IDX_IMAGES_MAGIC`) additionally checks the
    4-byte magic number, which catches image and label files swapped by mistake.
    """
    path = os.fspath(path)
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise ValueError(f"{path}: only {len(raw)} bytes, too short for the 4-byte IDX magic number")
    magic = int.from_bytes(raw[:4], "big")
    if raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_DTYPES:
        raise ValueError(
            f"{path}: bad magic number 0x{magic:08X}; an IDX file starts with two zero bytes "
            f"and a type byte in {sorted(hex(c) for c in IDX_DTYPES)} (not an IDX file, or corrupted)"
        )
    if expected_magic is not None and magic != expected_magic:
        raise ValueError(
            f"{path}: magic number 0x{magic:08X}, expected 0x{expected_magic:08X} "
            f"(are the image and label files swapped?)"
        )
    ndim = raw[3]
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise ValueError(
            f"{path}: truncated header: {ndim} dimensions need {header_size} header bytes, "
            f"file has {len(raw)}"
        )
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(IDX_DTYPES[raw[2]])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    present = len(raw) - header_size
    if present < expected:
        raise ValueError(
            f"{path}: truncated: the header promises shape {shape} = {expected} bytes of data "
            f"but only {present} are present (incomplete download?)"
        )
    if present > expected:
        raise ValueError(
            f"{path}: {present - expected} unexpected bytes after the data of shape {shape} "
            f"(header and data disagree; corrupted file?)"
        )
    data = np.frombuffer(raw, dtype=dtype, offset=header_size).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def _find(root, name):
    """Path of ``name`` or ``name.gz`` in ``root`` (plain first), or None."""
    for candidate in (name, name + ".gz"):
        path = os.path.join(root, candidate)
        if os.path.isfile(path):
            return path
    return None


def _load_pair(images_path, labels_path):
    images = read_idx(images_path, IDX_IMAGES_MAGIC)
    labels = read_idx(labels_path, IDX_LABELS_MAGIC)
    if images.ndim != 3:
        raise ValueError(f"{images_path}: expected 3 dimensions (N, rows, cols), got shape {images.shape}")
    if len(images) != len(labels):
        raise ValueError(
            f"{images_path} holds {len(images)} images but {labels_path} holds {len(labels)} labels"
        )
    if labels.size and labels.max() > 9:
        raise ValueError(f"{labels_path}: labels must be digits 0..9, found {labels.max()}")
    # NCHW with one grey channel; bytes 0..255 -> [0, 1].
    x = (images[:, None, :, :] / np.float32(255.0)).astype(np.float32)
    return x, labels.astype(np.int64)


def load_mnist(root, download=False, mirrors=None):
    """Return ``(x_train, y_train), (x_test, y_test)`` read from IDX files in ``root``.

    Looks for the four standard file names, each plain or gzipped. Images are
    float32 NCHW ``(N, 1, 28, 28)`` in [0, 1]; labels int64. With ``download=True``
    missing files are fetched (gzipped) from ``mirrors`` (default
    :data:`MNIST_MIRRORS`) and MD5-verified; offline, the error says where to put
    the files by hand.
    """
    root = os.fspath(root)
    if not isinstance(download, bool):
        raise TypeError(f"download must be True or False, got {download!r}")
    missing = [name for name in MNIST_FILES.values() if _find(root, name) is None]
    if missing and not download:
        raise DatasetNotFoundError(
            f"MNIST files not found in {root}: missing {', '.join(missing)} (plain or .gz). "
            f"Pass download=True, or copy the files into {root} by hand."
        )
    for name in missing:
        gz_name = name + ".gz"
        bases = MNIST_MIRRORS if mirrors is None else list(mirrors)
        download_file(
            [base.rstrip("/") + "/" + gz_name for base in bases],
            os.path.join(root, gz_name),
            md5=MNIST_MD5[gz_name],
        )
    paths = {key: _find(root, name) for key, name in MNIST_FILES.items()}
    train = _load_pair(paths["train_images"], paths["train_labels"])
    test = _load_pair(paths["test_images"], paths["test_labels"])
    return train, test
