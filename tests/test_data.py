"""Tests for minigrad.data: every loader runs on small files written here, offline."""

import gzip
import os
import pickle
import subprocess
import sys
import tarfile
from functools import partial

import numpy as np
import pytest

import minigrad.data as data
from minigrad.data import idx as idx_module


# ----------------------------------------------------------------------------- import cost

def test_import_does_not_load_pillow_or_sklearn():
    """Pillow and scikit-learn are imported lazily, inside the loaders that need them."""
    code = (
        "import sys, importlib; importlib.import_module('minigrad'); before = set(sys.modules); "
        "import minigrad.data; new = set(sys.modules) - before; "
        "print(sorted(m for m in new if m.split('.')[0] in ('PIL', 'sklearn', 'scipy')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ----------------------------------------------------------------------------- digits

def test_digits_shapes_dtypes_ranges_and_total():
    (x_train, y_train), (x_test, y_test) = data.load_digits()
    assert x_train.shape[1:] == (1, 8, 8) and x_test.shape[1:] == (1, 8, 8)
    assert x_train.dtype == np.float32 and y_train.dtype == np.int64
    assert 0.0 <= x_train.min() and x_train.max() <= 1.0 and x_train.max() == 1.0
    assert len(x_train) + len(x_test) == 1797  # scikit-learn's count
    assert len(x_test) == round(1797 * 0.2)
    assert set(y_train) == set(range(10)) and set(y_test) == set(range(10))


def test_digits_deterministic_flatten_and_seed_changes_split():
    (a, ya), _ = data.load_digits(seed=3)
    (b, yb), _ = data.load_digits(seed=3)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ya, yb)
    (c, _), _ = data.load_digits(seed=4)
    assert not np.array_equal(a, c)
    (flat, _), _ = data.load_digits(seed=3, flatten=True)
    np.testing.assert_array_equal(flat, a.reshape(len(a), 64))
    # returned arrays are private copies
    a[0] = 5.0
    (again, _), _ = data.load_digits(seed=3)
    assert again.max() <= 1.0


def test_digits_matches_sklearn_values():
    from sklearn.datasets import load_digits as sk_load
    sk_x, _ = sk_load(return_X_y=True)
    (x_train, _), (x_test, _) = data.load_digits(flatten=True)
    ours = np.concatenate([x_train, x_test]) * 16
    np.testing.assert_allclose(np.sort(ours.sum(1)), np.sort(sk_x.sum(1)), rtol=1e-5)


def test_digits_bad_arguments():
    with pytest.raises(ValueError, match="test_fraction"):
        data.load_digits(test_fraction=1.5)
    with pytest.raises(TypeError, match="flatten"):
        data.load_digits(flatten="yes")


# ----------------------------------------------------------------------------- toy sets

@pytest.mark.parametrize("maker", [data.make_moons, data.make_circles, data.make_spirals])
def test_toy_shapes_balance_determinism(maker):
    x, y = maker(n=101, noise=0.1, seed=1)
    assert x.shape == (101, 2) and x.dtype == np.float32
    assert y.shape == (101,) and y.dtype == np.int64
    counts = np.bincount(y)
    assert counts.max() - counts.min() <= 1
    x2, y2 = maker(n=101, noise=0.1, seed=1)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    x3, _ = maker(n=101, noise=0.1, seed=2)
    assert not np.array_equal(x, x3)


def test_moons_without_noise_lie_on_half_circles():
    x, y = data.make_moons(n=200, seed=0)
    top, bottom = x[y == 0].astype(np.float64), x[y == 1].astype(np.float64)
    # class 0: unit circle at the origin, upper half
    np.testing.assert_allclose(np.hypot(top[:, 0], top[:, 1]), 1.0, atol=1e-6)
    assert top[:, 1].min() >= -1e-6
    # class 1: unit circle centred at (1, 0.5), lower half
    np.testing.assert_allclose(np.hypot(bottom[:, 0] - 1.0, bottom[:, 1] - 0.5), 1.0, atol=1e-6)
    assert bottom[:, 1].max() <= 0.5 + 1e-6
    assert len(np.unique(y[:20])) == 2  # shuffled, not sorted by class


def test_circles_radii_and_spirals_three_classes():
    x, y = data.make_circles(n=100, factor=0.3, seed=0)
    r = np.hypot(x[:, 0], x[:, 1])
    np.testing.assert_allclose(r[y == 0], 1.0, atol=1e-6)
    np.testing.assert_allclose(r[y == 1], 0.3, atol=1e-6)
    x, y = data.make_spirals(n=90, classes=3, seed=0)
    assert np.bincount(y).tolist() == [30, 30, 30]
    assert np.hypot(x[:, 0], x[:, 1]).max() <= 1.0 + 1e-6


def test_regression_noise_free_is_linear():
    x, y, w, b = data.make_regression(n=50, n_features=3, seed=0, return_coef=True)
    assert x.shape == (50, 3) and y.shape == (50, 1) and y.dtype == np.float32
    np.testing.assert_allclose(y, x @ w + b, atol=1e-5)
    x2, y2 = data.make_regression(n=50, n_features=3, seed=0)
    np.testing.assert_array_equal(y, y2)


def test_toy_bad_arguments():
    with pytest.raises(ValueError, match="noise"):
        data.make_moons(noise=-1)
    with pytest.raises(TypeError, match="n must be an int"):
        data.make_moons(n=10.5)
    with pytest.raises(ValueError, match="factor"):
        data.make_circles(factor=1.5)
    with pytest.raises(ValueError, match="classes"):
        data.make_spirals(classes=1)


# ----------------------------------------------------------------------------- MNIST (IDX)

def _idx_bytes(array, type_byte=0x08):
    header = bytes([0, 0, type_byte, array.ndim])
    header += b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.astype(">u1").tobytes()


def _write_mnist(root, n_train=5, n_test=3, gz=False, rows=4, cols=3, seed=0):
    rng = np.random.default_rng(seed)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, size=(n_train, rows, cols), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, size=n_train, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, size=(n_test, rows, cols), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, size=n_test, dtype=np.uint8),
    }
    for name, array in arrays.items():
        raw = _idx_bytes(array)
        if gz:
            with gzip.open(os.path.join(root, name + ".gz"), "wb") as handle:
                handle.write(raw)
        else:
            with open(os.path.join(root, name), "wb") as handle:
                handle.write(raw)
    return arrays


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_reads_plain_and_gzipped(tmp_path, gz):
    arrays = _write_mnist(tmp_path, gz=gz)
    (x_train, y_train), (x_test, y_test) = data.load_mnist(tmp_path)
    assert x_train.shape == (5, 1, 4, 3) and x_train.dtype == np.float32
    assert y_train.dtype == np.int64 and x_test.shape == (3, 1, 4, 3)
    np.testing.assert_allclose(x_train[:, 0] * 255, arrays["train-images-idx3-ubyte"], atol=1e-4)
    np.testing.assert_array_equal(y_test, arrays["t10k-labels-idx1-ubyte"])


def test_read_idx_other_types(tmp_path):
    values = np.arange(6, dtype=">i4").reshape(2, 3)
    path = tmp_path / "ints.idx"
    header = bytes([0, 0, 0x0C, 2]) + (2).to_bytes(4, "big") + (3).to_bytes(4, "big")
    path.write_bytes(header + values.tobytes())
    np.testing.assert_array_equal(data.read_idx(path), values)


def test_mnist_bad_magic_truncated_and_swapped(tmp_path):
    _write_mnist(tmp_path)
    images = tmp_path / "train-images-idx3-ubyte"
    good = images.read_bytes()

    images.write_bytes(b"\x12\x34" + good[2:])
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte.*bad magic"):
        data.load_mnist(tmp_path)

    images.write_bytes(good[:-5])
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte.*truncated"):
        data.load_mnist(tmp_path)

    images.write_bytes(good[:6])
    with pytest.raises(ValueError, match="truncated header"):
        data.load_mnist(tmp_path)

    images.write_bytes((tmp_path / "train-labels-idx1-ubyte").read_bytes())
    with pytest.raises(ValueError, match="swapped"):
        data.load_mnist(tmp_path)


def test_mnist_corrupt_gzip_and_count_mismatch(tmp_path):
    _write_mnist(tmp_path, gz=True)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(b"not gzip at all")
    with pytest.raises(ValueError, match=r"t10k-labels-idx1-ubyte.gz.*gzip"):
        data.load_mnist(tmp_path)

    other = tmp_path / "other"
    other.mkdir()
    _write_mnist(other)
    labels = np.zeros(4, dtype=np.uint8)  # 5 images, 4 labels
    (other / "train-labels-idx1-ubyte").write_bytes(_idx_bytes(labels))
    with pytest.raises(ValueError, match="5 images.*4 labels"):
        data.load_mnist(other)


def test_mnist_missing_files_offline(tmp_path, monkeypatch):
    with pytest.raises(data.DatasetNotFoundError, match="download=True"):
        data.load_mnist(tmp_path)

    def no_network(*args, **kwargs):
        raise OSError("network is unreachable (test)")

    monkeypatch.setattr("urllib.request.urlopen", no_network)
    with pytest.raises(data.DownloadError) as info:
        data.load_mnist(tmp_path, download=True, mirrors=["https://mirror.invalid/mnist/"])
    message = str(info.value)
    assert "offline" in message and str(tmp_path) in message
    assert "https://mirror.invalid/mnist/train-images-idx3-ubyte.gz" in message
    assert not any(name.endswith(".part") for name in os.listdir(tmp_path))


def test_mnist_download_from_local_mirror_with_checksum(tmp_path, monkeypatch):
    """file:// URLs exercise the real download code without any network."""
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    _write_mnist(mirror, gz=True)
    sums = {name: data.file_digest(mirror / name, "md5") for name in os.listdir(mirror)}
    monkeypatch.setattr(idx_module, "MNIST_MD5", sums)
    root = tmp_path / "root"
    (x_train, _), _ = data.load_mnist(root, download=True, mirrors=[mirror.as_uri()])
    assert x_train.shape == (5, 1, 4, 3)
    assert sorted(os.listdir(root)) == sorted(sums)

    # A mirror serving different bytes is rejected by the checksum.
    bad_sums = dict(sums, **{"t10k-labels-idx1-ubyte.gz": "0" * 32})
    monkeypatch.setattr(idx_module, "MNIST_MD5", bad_sums)
    root2 = tmp_path / "root2"
    with pytest.raises(data.DownloadError, match="checksum mismatch"):
        data.load_mnist(root2, download=True, mirrors=[mirror.as_uri()])
    assert not (root2 / "t10k-labels-idx1-ubyte.gz").exists()


def test_download_file_tries_next_mirror_and_needs_checksum(tmp_path):
    source = tmp_path / "blob.bin"
    source.write_bytes(b"hello data")
    sha = data.file_digest(source)
    dead = "http://127.0.0.1:9/blob.bin"  # nothing listens on the discard port
    out = data.download_file([dead, source.as_uri()], tmp_path / "out" / "blob.bin", sha256=sha, timeout=2)
    with open(out, "rb") as handle:
        assert handle.read() == b"hello data"
    with pytest.raises(ValueError, match="md5= or sha256="):
        data.download_file([source.as_uri()], tmp_path / "x.bin")


# ----------------------------------------------------------------------------- CIFAR-10

def _cifar_batch(n, seed, protocol=2, str_keys=False):
    rng = np.random.default_rng(seed)
    batch = {
        b"data": rng.integers(0, 256, size=(n, 3072), dtype=np.uint8),
        b"labels": rng.integers(0, 10, size=n).tolist(),
        b"batch_label": b"testing batch",
    }
    if str_keys:
        batch = {key.decode(): value for key, value in batch.items()}
    return batch, pickle.dumps(batch, protocol=protocol)


def _write_cifar(folder, n=2):
    folder.mkdir(parents=True, exist_ok=True)
    batches = {}
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for seed, name in enumerate(names):
        batch, raw = _cifar_batch(n, seed, protocol=2 if seed % 2 else pickle.HIGHEST_PROTOCOL)
        (folder / name).write_bytes(raw)
        batches[name] = batch
    return batches


def test_cifar_loads_batches(tmp_path):
    batches = _write_cifar(tmp_path / "cifar-10-batches-py")
    (x_train, y_train), (x_test, y_test) = data.load_cifar10(tmp_path)
    assert x_train.shape == (10, 3, 32, 32) and x_train.dtype == np.float32
    assert x_test.shape == (2, 3, 32, 32) and y_test.dtype == np.int64
    first = batches["data_batch_1"][b"data"][0]
    # red plane first, row by row
    np.testing.assert_allclose(x_train[0, 0].ravel() * 255, first[:1024], atol=1e-4)
    np.testing.assert_allclose(x_train[0, 2, 31, 31] * 255, first[3071], atol=1e-4)
    np.testing.assert_array_equal(y_test, batches["test_batch"][b"labels"])
    assert len(data.CIFAR10_CLASSES) == 10 and data.CIFAR10_CLASSES[0] == "airplane"


def test_cifar_str_keys_and_batches_directly_in_root(tmp_path):
    _write_cifar(tmp_path)
    batch, raw = _cifar_batch(3, 7, str_keys=True)
    (tmp_path / "test_batch").write_bytes(raw)
    _, (x_test, y_test) = data.load_cifar10(tmp_path)
    assert x_test.shape == (3, 3, 32, 32)
    np.testing.assert_array_equal(y_test, batch["labels"])


def _py2_style_batch(values, labels):
    """Assemble, opcode by opcode, a pickle like the official files (Python 2 cPickle,
    protocol 2, NumPy 1.x): 8-bit strings (SHORT_BINSTRING/BINSTRING) and the global
    numpy.core.multiarray._reconstruct. Python 3 cannot write this form itself."""
    def py2_str(b):
        return (b"U" + bytes([len(b)]) if len(b) < 256 else b"T" + len(b).to_bytes(4, "little")) + b

    def small_int(v):
        return b"K" + bytes([v])

    n, m = values.shape
    array = (
        b"cnumpy.core.multiarray\n_reconstruct\n" + b"cnumpy\nndarray\n" + small_int(0) + b"\x85"
        + py2_str(b"b") + b"\x87R"
        + b"(" + small_int(1) + small_int(n) + b"M" + m.to_bytes(2, "little") + b"\x86"
        + b"cnumpy\ndtype\n" + py2_str(b"u1") + small_int(0) + small_int(1) + b"\x87R"
        + b"(" + small_int(3) + py2_str(b"|") + b"NNN" + b"J\xff\xff\xff\xff" * 2 + small_int(0) + b"tb"
        + b"\x89" + py2_str(values.tobytes()) + b"tb"
    )
    label_list = b"](" + b"".join(small_int(v) for v in labels) + b"e"
    return b"\x80\x02}(" + py2_str(b"data") + array + py2_str(b"labels") + label_list + b"u."


def test_cifar_reads_python2_style_pickle(tmp_path):
    values = np.random.default_rng(0).integers(0, 256, size=(2, 3072), dtype=np.uint8)
    path = tmp_path / "py2_batch"
    path.write_bytes(_py2_style_batch(values, [3, 9]))
    images, labels = data.read_cifar_batch(path)
    np.testing.assert_array_equal(images.reshape(2, -1), values)
    assert labels.tolist() == [3, 9]


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo should-never-run",))


def test_cifar_restricted_unpickler_refuses_code(tmp_path):
    path = tmp_path / "evil"
    path.write_bytes(pickle.dumps({b"data": _Evil(), b"labels": []}))
    with pytest.raises(ValueError, match="refusing to load global"):
        data.read_cifar_batch(path)


def test_cifar_corruption_errors(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    _write_cifar(folder)
    good = (folder / "data_batch_3").read_bytes()
    (folder / "data_batch_3").write_bytes(good[: len(good) // 2])
    with pytest.raises(ValueError, match=r"data_batch_3.*not a readable CIFAR-10 batch"):
        data.load_cifar10(tmp_path)

    wrong = {b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}
    (folder / "data_batch_3").write_bytes(pickle.dumps(wrong))
    with pytest.raises(ValueError, match=r"\(N, 3072\)"):
        data.load_cifar10(tmp_path)

    wrong = {b"data": np.zeros((2, 3072), np.uint8), b"labels": [0]}
    (folder / "data_batch_3").write_bytes(pickle.dumps(wrong))
    with pytest.raises(ValueError, match="one per image"):
        data.load_cifar10(tmp_path)

    (folder / "data_batch_3").write_bytes(pickle.dumps([1, 2, 3]))
    with pytest.raises(ValueError, match="expected a pickled dict"):
        data.load_cifar10(tmp_path)


def test_cifar_archive_extraction_and_offline_error(tmp_path, monkeypatch):
    staging = tmp_path / "staging"
    _write_cifar(staging / "cifar-10-batches-py")
    archive = tmp_path / "mirror" / "cifar-10-python.tar.gz"
    archive.parent.mkdir()
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(staging / "cifar-10-batches-py", arcname="cifar-10-batches-py")

    root = tmp_path / "root"
    with pytest.raises(data.DatasetNotFoundError, match="cifar-10-python.tar.gz"):
        data.load_cifar10(root)

    def no_network(*args, **kwargs):
        raise OSError("network is unreachable (test)")

    monkeypatch.setattr("urllib.request.urlopen", no_network)
    with pytest.raises(data.DownloadError, match="offline"):
        data.load_cifar10(root, download=True)
    monkeypatch.undo()

    from minigrad.data import cifar as cifar_module
    monkeypatch.setattr(cifar_module, "CIFAR10_MD5", data.file_digest(archive, "md5"))
    (x_train, _), _ = data.load_cifar10(root, download=True, urls=[archive.as_uri()])
    assert x_train.shape == (10, 3, 32, 32)
    assert (root / "cifar-10-batches-py" / "test_batch").is_file()


# ----------------------------------------------------------------------------- image folder

def test_image_folder(tmp_path):
    from PIL import Image
    colours = {"blue": (0, 0, 255), "red": (255, 0, 0)}
    for name, colour in colours.items():
        (tmp_path / name).mkdir()
        for i in range(2):
            Image.new("RGB", (10 + i, 7), colour).save(tmp_path / name / f"{i}.png")
    (tmp_path / "red" / "notes.txt").write_text("not an image")
    x, y, class_names = data.load_image_folder(tmp_path, image_size=(4, 6))
    assert class_names == ["blue", "red"]
    assert x.shape == (4, 3, 4, 6) and x.dtype == np.float32
    assert y.tolist() == [0, 0, 1, 1]
    np.testing.assert_allclose(x[0, 2], 1.0)   # blue channel of a blue image
    np.testing.assert_allclose(x[3, 0], 1.0)   # red channel of a red image
    np.testing.assert_allclose(x[3, 1:], 0.0)
    grey, _, _ = data.load_image_folder(tmp_path, image_size=(4, 6), grayscale=True)
    assert grey.shape == (4, 1, 4, 6)


def test_image_folder_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        data.load_image_folder(tmp_path / "nope")
    with pytest.raises(ValueError, match="no class sub-folders"):
        data.load_image_folder(tmp_path)
    (tmp_path / "cat").mkdir()
    (tmp_path / "cat" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="broken.png"):
        data.load_image_folder(tmp_path)
    with pytest.raises(TypeError, match="image_size"):
        data.load_image_folder(tmp_path, image_size=32)


# ----------------------------------------------------------------------------- DataLoader

def test_loader_covers_every_sample_once_per_epoch():
    x = np.arange(23, dtype=np.float32).reshape(23, 1)
    y = np.arange(23)
    loader = data.DataLoader(x, y, batch_size=5, shuffle=True, seed=0)
    assert len(loader) == 5
    for _ in range(2):
        batches = list(loader)
        assert [len(xb) for xb, _ in batches] == [5, 5, 5, 5, 3]
        seen = np.concatenate([yb for _, yb in batches])
        assert sorted(seen.tolist()) == list(range(23))
        for xb, yb in batches:
            np.testing.assert_array_equal(xb[:, 0], yb)  # x and y stay paired


def test_loader_drop_last_and_no_labels():
    loader = data.DataLoader(np.zeros((23, 2)), batch_size=5, drop_last=True)
    assert len(loader) == 4
    batches = list(loader)
    assert len(batches) == 4 and all(xb.shape == (5, 2) and yb is None for xb, yb in batches)


def test_loader_deterministic_and_reshuffles():
    y = np.arange(50)
    a = data.DataLoader(y, y, batch_size=50, shuffle=True, seed=7)
    b = data.DataLoader(y, y, batch_size=50, shuffle=True, seed=7)
    epoch1_a, epoch2_a = next(iter(a))[1], next(iter(a))[1]
    epoch1_b, epoch2_b = next(iter(b))[1], next(iter(b))[1]
    np.testing.assert_array_equal(epoch1_a, epoch1_b)
    np.testing.assert_array_equal(epoch2_a, epoch2_b)
    assert not np.array_equal(epoch1_a, epoch2_a)
    ordered = next(iter(data.DataLoader(y, y, batch_size=50)))[1]
    np.testing.assert_array_equal(ordered, y)


def test_loader_transform_and_validation():
    x = np.ones((8, 1, 4, 4), np.float32)
    noisy = data.compose(partial(data.add_noise, std=0.5))
    loader = data.DataLoader(x, batch_size=4, transform=noisy, seed=1)
    xb, _ = next(iter(loader))
    assert xb.shape == (4, 1, 4, 4) and not np.allclose(xb, 1.0)
    np.testing.assert_array_equal(x, 1.0)  # the stored data is untouched
    with pytest.raises(ValueError, match=r"same number of samples.*\(8, 1, 4, 4\).*\(3,\)"):
        data.DataLoader(x, np.zeros(3))
    with pytest.raises(ValueError, match="batch_size"):
        data.DataLoader(x, batch_size=0)
    with pytest.raises(TypeError, match="transform must accept"):
        data.DataLoader(x, transform=lambda batch: batch)


# ----------------------------------------------------------------------------- transforms and splits

def test_one_hot():
    out = data.one_hot([2, 0, 1])
    np.testing.assert_array_equal(out, [[0, 0, 1], [1, 0, 0], [0, 1, 0]])
    assert out.dtype == np.float32
    assert data.one_hot(np.array([[1], [3]]), num_classes=5).shape == (2, 1, 5)
    with pytest.raises(ValueError, match="num_classes=3"):
        data.one_hot([0, 3], num_classes=3)
    with pytest.raises(TypeError, match="integer"):
        data.one_hot([0.0, 1.0])


def test_standardize_normalize_min_max():
    rng = np.random.default_rng(0)
    x = rng.normal(5.0, 3.0, size=(100, 3)).astype(np.float32)
    x[:, 2] = 4.0  # a constant feature must not produce NaN
    z, mean, std = data.standardize(x)
    assert mean.shape == (1, 3) and np.isfinite(z).all()
    np.testing.assert_allclose(z[:, :2].mean(0), 0.0, atol=1e-5)
    np.testing.assert_allclose(z[:, :2].std(0), 1.0, atol=1e-5)
    np.testing.assert_allclose(data.normalize(x, mean, std), z, atol=1e-6)

    images = rng.random((4, 3, 5, 3)).astype(np.float32)  # W == C: per-channel must still hit C
    out = data.normalize(images, mean=[0.1, 0.2, 0.3], std=[1.0, 2.0, 4.0])
    np.testing.assert_allclose(out[:, 2], (images[:, 2] - 0.3) / 4.0, rtol=1e-6)
    with pytest.raises(ValueError, match="std must be > 0"):
        data.normalize(x, 0.0, 0.0)

    scaled, lo, hi = data.min_max_scale(x[:, :2], feature_range=(-1, 1))
    np.testing.assert_allclose(scaled.min(0), -1.0, atol=1e-6)
    np.testing.assert_allclose(scaled.max(0), 1.0, atol=1e-6)


def test_train_test_split_stratified_proportions():
    y = np.repeat([0, 1, 2], [60, 30, 10])
    x = np.arange(100)
    (x_tr, y_tr), (x_te, y_te) = data.train_test_split(x, y, test_fraction=0.2, seed=0, stratify=True)
    assert np.bincount(y_te).tolist() == [12, 6, 2]
    assert sorted(np.concatenate([x_tr, x_te]).tolist()) == list(range(100))
    np.testing.assert_array_equal(y[x_tr], y_tr)  # pairs kept
    (again, _), _ = data.train_test_split(x, y, test_fraction=0.2, seed=0, stratify=True)
    np.testing.assert_array_equal(x_tr, again)
    (_, _), (x_te2, _) = data.train_test_split(x, y, test_fraction=0.25, seed=1)
    assert len(x_te2) == 25
    with pytest.raises(ValueError, match="same number of samples"):
        data.train_test_split(x, y[:5])


def test_kfold_disjoint_and_complete():
    folds = list(data.kfold_indices(23, k=4, seed=0))
    assert len(folds) == 4
    vals = [val for _, val in folds]
    assert sorted(np.concatenate(vals).tolist()) == list(range(23))
    assert [len(v) for v in vals] == [6, 6, 6, 5]
    for train, val in folds:
        assert not set(train) & set(val) and len(train) + len(val) == 23
    contiguous = [val.tolist() for _, val in data.kfold_indices(4, k=2, shuffle=False)]
    assert contiguous == [[0, 1], [2, 3]]
    with pytest.raises(ValueError, match="k=5"):
        list(data.kfold_indices(3, k=5))


def test_class_weights_formula():
    y = np.array([0, 0, 0, 1, 2, 2])
    w = data.class_weights(y)
    np.testing.assert_allclose(w, [6 / (3 * 3), 6 / (3 * 1), 6 / (3 * 2)], rtol=1e-6)
    from sklearn.utils.class_weight import compute_class_weight
    np.testing.assert_allclose(w, compute_class_weight("balanced", classes=np.arange(3), y=y), rtol=1e-6)
    with pytest.raises(ValueError, match=r"\[3\]"):
        data.class_weights(y, num_classes=4)


# ----------------------------------------------------------------------------- augmentation

@pytest.fixture
def batch():
    return np.random.default_rng(0).random((6, 3, 7, 9)).astype(np.float32)


def test_augment_shapes_and_determinism(batch):
    fns = [
        partial(data.random_shift, max_shift=2),
        partial(data.random_flip),
        partial(data.random_rotation, max_degrees=15),
        partial(data.add_noise, std=0.1),
    ]
    for fn in fns:
        a = fn(batch, rng=np.random.default_rng(3))
        b = fn(batch, rng=np.random.default_rng(3))
        assert a.shape == batch.shape and a.dtype == batch.dtype
        np.testing.assert_array_equal(a, b)
    pipeline = data.compose(*fns)
    np.testing.assert_array_equal(
        pipeline(batch, np.random.default_rng(1)), pipeline(batch, np.random.default_rng(1))
    )


def test_augment_identities(batch):
    rng = np.random.default_rng(0)
    np.testing.assert_array_equal(data.random_shift(batch, 0, rng), batch)
    np.testing.assert_allclose(data.random_rotation(batch, 0, rng), batch, atol=1e-6)
    np.testing.assert_array_equal(data.add_noise(batch, 0.0, rng), batch)
    twice = data.random_flip(data.random_flip(batch, np.random.default_rng(5)), np.random.default_rng(5))
    np.testing.assert_array_equal(twice, batch)
    np.testing.assert_array_equal(data.random_flip(batch, rng, p=1.0), batch[:, :, :, ::-1])
    np.testing.assert_array_equal(data.random_flip(batch, rng, horizontal=False, p=1.0), batch[:, :, ::-1, :])


def test_shift_moves_content_and_rotation_quarter_turn():
    x = np.zeros((1, 1, 5, 5), np.float32)
    x[0, 0, 2, 2] = 1.0
    shifted = data.random_shift(x, 1, np.random.default_rng(0))
    assert shifted.sum() == 1.0 and abs(np.argwhere(shifted[0, 0])[0] - 2).max() <= 1

    class FixedAngle(np.random.Generator):  # uniform() always gives +90 degrees
        def uniform(self, low=0.0, high=1.0, size=None):
            return np.full(size, 90.0)
    rng = FixedAngle(np.random.PCG64(0))
    x = np.zeros((1, 1, 5, 5), np.float32)
    x[0, 0, 2, 4] = 1.0  # right of centre
    turned = data.random_rotation(x, 90, rng)
    # counter-clockwise quarter turn: right of centre -> above centre
    np.testing.assert_allclose(turned[0, 0, 0, 2], 1.0, atol=1e-6)
    np.testing.assert_allclose(turned.sum(), 1.0, atol=1e-6)


def test_augment_validation(batch):
    with pytest.raises(ValueError, match=r"4-D.*\(7, 9\)"):
        data.random_shift(np.zeros((7, 9)), 1, np.random.default_rng(0))
    with pytest.raises(TypeError, match="Generator"):
        data.random_flip(batch, rng=0)
    with pytest.raises(ValueError, match="max_degrees"):
        data.random_rotation(batch, -5, np.random.default_rng(0))
    with pytest.raises(TypeError, match="callable"):
        data.compose(data.add_noise, 3)
