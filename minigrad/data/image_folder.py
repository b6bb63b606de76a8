"""Your own images: one sub-folder per class, like Keras ``flow_from_directory``.

    root/
        cats/  a.png  b.jpg ...
        dogs/  c.png ...

Class ids follow the *sorted* folder names, so the numbering never depends on the
order the file system lists things in. Every image is converted to RGB (or grey),
resized to one size (a batch must be a single array) and scaled to [0, 1].

Pillow is imported inside the function, so ``import minigrad`` does not pay for it.
"""

import os

import numpy as np

from ._checks import check_int

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


def _visible_entries(folder):
    """Sorted names in ``folder`` without hidden ones (``.DS_Store``, ``.ipynb_checkpoints``)."""
    return sorted(name for name in os.listdir(folder) if not name.startswith("."))


def load_image_folder(root, image_size=(32, 32), grayscale=False):
    """Return ``(x, y, class_names)`` for the images under ``root``.

    ``x`` is float32 NCHW ``(N, C, height, width)`` with ``C`` = 1 if ``grayscale``
    else 3, values in [0, 1]; ``y`` int64 class ids; ``class_names`` the sorted
    sub-folder names (``class_names[y[i]]`` is the folder of image ``i``).
    ``image_size`` is ``(height, width)``, as in Keras. Files whose extension is
    not an image type are skipped; a file that Pillow cannot decode is an error.
    """
    from PIL import Image, UnidentifiedImageError  # lazy: Pillow is only needed here

    root = os.fspath(root)
    if not os.path.isdir(root):
        raise FileNotFoundError(
            f"root must be a folder with one sub-folder per class; {root} is not a folder"
        )
    if not isinstance(grayscale, bool):
        raise TypeError(f"grayscale must be True or False, got {grayscale!r}")
    if not isinstance(image_size, (tuple, list)) or len(image_size) != 2:
        raise TypeError(f"image_size must be a (height, width) pair, got {image_size!r}")
    height = check_int(image_size[0], "image_size[0] (height)", minimum=1)
    width = check_int(image_size[1], "image_size[1] (width)", minimum=1)

    class_names = [name for name in _visible_entries(root) if os.path.isdir(os.path.join(root, name))]
    if not class_names:
        raise ValueError(f"{root} has no class sub-folders; expected root/<class_name>/<image files>")

    mode = "L" if grayscale else "RGB"
    images, labels = [], []
    for class_id, class_name in enumerate(class_names):
        folder = os.path.join(root, class_name)
        files = [name for name in _visible_entries(folder) if name.lower().endswith(IMAGE_EXTENSIONS)]
        if not files:
            raise ValueError(
                f"class folder {folder} contains no images (extensions {', '.join(IMAGE_EXTENSIONS)}); "
                f"remove it or add images"
            )
        for name in files:
            path = os.path.join(folder, name)
            try:
                with Image.open(path) as image:
                    # Pillow's resize takes (width, height): the opposite of our NCHW order.
                    pixels = np.asarray(image.convert(mode).resize((width, height), Image.BILINEAR))
            except (UnidentifiedImageError, OSError) as exc:
                raise ValueError(f"{path}: Pillow cannot read this image ({exc})") from exc
            if grayscale:
                pixels = pixels[None, :, :]          # (H, W) -> (1, H, W)
            else:
                pixels = pixels.transpose(2, 0, 1)   # (H, W, C) -> (C, H, W)
            images.append(pixels)
            labels.append(class_id)
    x = (np.stack(images) / np.float32(255.0)).astype(np.float32)
    return x, np.asarray(labels, dtype=np.int64), class_names
