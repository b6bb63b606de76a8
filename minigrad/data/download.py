"""Downloading a data set file safely: try mirrors in turn, verify a checksum.

Why the care:

* Mirrors go down (the original MNIST site famously did), so we take a *list* of
  URLs and try them in order; the lists live in module constants you can edit.
* A half-finished or tampered download must never be mistaken for the data set,
  so we stream into ``<name>.part``, hash while writing, and rename to the final
  name only after the checksum matches. An interrupted run leaves no bad file.
* Many machines (CI, classrooms) are offline. Then the error says exactly which
  files to fetch by hand and where to put them.

``urllib.request`` is imported inside the function so ``import minigrad`` stays fast.
"""

import hashlib
import os


class DownloadError(OSError):
    """No mirror delivered a file with the expected checksum."""


class DatasetNotFoundError(FileNotFoundError):
    """The data set files are not in ``root`` and downloading was not requested."""


def file_digest(path, algorithm="sha256", chunk_size=1 << 20):
    """Hex digest of a file, read in chunks so big files do not fill memory."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _expected_digests(md5, sha256):
    """Pair each given checksum with its hashlib name (at least one is required)."""
    expected = {name: value.lower() for name, value in (("md5", md5), ("sha256", sha256)) if value}
    if not expected:
        raise ValueError("download_file needs md5= or sha256= so the download can be verified")
    return expected


def download_file(urls, path, md5=None, sha256=None, timeout=30.0, chunk_size=1 << 16):
    """Download the first mirror in ``urls`` that works to ``path``; return ``path``.

    Every given checksum (``md5`` and/or ``sha256``, hex strings) must match, or the
    partial file is deleted and the next mirror is tried. When all mirrors fail,
    raises :class:`DownloadError` listing what went wrong with each one and
    telling the user where to put the file by hand.
    """
    import urllib.error
    import urllib.request

    if isinstance(urls, str):
        urls = [urls]
    urls = list(urls)
    if not urls:
        raise ValueError("urls must list at least one URL to download from, got an empty list")
    expected = _expected_digests(md5, sha256)
    path = os.fspath(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    partial = path + ".part"
    failures = []
    for url in urls:
        digests = {name: hashlib.new(name) for name in expected}
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response, open(partial, "wb") as out:
                for chunk in iter(lambda: response.read(chunk_size), b""):
                    out.write(chunk)
                    for digest in digests.values():
                        digest.update(chunk)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            # URLError: DNS/connection/HTTP failures; OSError: timeouts, disk errors;
            # ValueError: a malformed URL.
            failures.append(f"{url}: {exc}")
            _remove_quietly(partial)
            continue
        wrong = {
            name: digest.hexdigest()
            for name, digest in digests.items()
            if digest.hexdigest() != expected[name]
        }
        if wrong:
            detail = ", ".join(f"{name} expected {expected[name]} got {got}" for name, got in wrong.items())
            failures.append(f"{url}: checksum mismatch ({detail})")
            _remove_quietly(partial)
            continue
        os.replace(partial, path)  # atomic: the final name only ever holds verified data
        return path
    raise DownloadError(
        f"could not download {os.path.basename(path)}:\n  "
        + "\n  ".join(failures)
        + f"\nIf this machine is offline, download the file on another machine from one of "
        f"the URLs above and copy it to {path}"
    )


def _remove_quietly(path):
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
