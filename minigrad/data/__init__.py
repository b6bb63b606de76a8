"""``minigrad.data``: data sets, batching, preprocessing and augmentation in NumPy.

Nothing here depends on the graph engine: every function takes and returns plain
NumPy arrays, so you can use (and test) the data side on its own.

Conventions used throughout:

* images are float32 **NCHW** -- (batch, channels, height, width) -- scaled to [0, 1];
* class labels are int64 class ids (use :func:`one_hot` when a loss wants vectors);
* loaders return ``(x_train, y_train), (x_test, y_test)`` like Keras;
* randomness comes from an explicit ``seed`` or ``np.random.Generator``, so every
  result can be reproduced.

Only NumPy and the standard library are imported here; scikit-learn (digits) and
Pillow (image folders) are imported inside the functions that need them, so
``import minigrad`` stays fast.

Files: ``digits.py``, ``toy.py`` (moons, circles, spirals, regression), ``idx.py``
(MNIST), ``cifar.py``, ``image_folder.py``, ``download.py``, ``loader.py``
(DataLoader), ``transforms.py`` (one_hot, scaling), ``split.py``, ``augment.py``.
"""

from .augment import add_noise, compose, random_flip, random_rotation, random_shift
from .cifar import CIFAR10_CLASSES, load_cifar10, read_cifar_batch
from .digits import load_digits
from .download import DatasetNotFoundError, DownloadError, download_file, file_digest
from .idx import load_mnist, read_idx
from .image_folder import load_image_folder
from .loader import DataLoader
from .split import class_weights, kfold_indices, train_test_split
from .toy import make_circles, make_moons, make_regression, make_spirals
from .transforms import min_max_scale, normalize, one_hot, standardize

__all__ = [
    # data sets
    "load_digits", "load_mnist", "load_cifar10", "load_image_folder", "CIFAR10_CLASSES",
    "make_moons", "make_circles", "make_spirals", "make_regression",
    # file formats and downloads
    "read_idx", "read_cifar_batch", "download_file", "file_digest",
    "DownloadError", "DatasetNotFoundError",
    # batching and splitting
    "DataLoader", "train_test_split", "kfold_indices", "class_weights",
    # preprocessing
    "one_hot", "normalize", "standardize", "min_max_scale",
    # augmentation
    "random_shift", "random_flip", "random_rotation", "add_noise", "compose",
]
