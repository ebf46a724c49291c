"""Where downloaded data lives, and fetching one file from the web without hanging when offline.

The folder is :func:`data_root`. A file that is missing, cannot be downloaded or is
corrupted raises at once a ``FileNotFoundError`` whose message names the file, the URL it
comes from and the folder to put it in by hand, so an offline machine (a grader, a plane)
gets instructions instead of a stack of network errors.

Example
-------
>>> from course_utils.data import data_root
>>> data_root("/tmp/my-data")
PosixPath('/tmp/my-data')
"""
from __future__ import annotations

import hashlib
import http.client
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

from tqdm.auto import tqdm

DATA_ENV = "SSL_COURSE_DATA"
COLAB_DATA = Path("/content/data")
CHECKOUT_DATA = Path(__file__).resolve().parents[2] / "data"  # the repository's data/ folder
TIMEOUT = 10.0
"""Seconds a connection may stay silent before a download gives up (no retries)."""


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The folder that holds downloaded datasets (it need not exist yet).

    Parameters
    ----------
    root : a folder. When ``None``, the first that applies of: ``$SSL_COURSE_DATA``;
        ``/content/data`` in Google Colab; the ``data/`` folder of the kit's repository when
        the kit runs from a checkout (that folder has a ``README.md``); ``./data``.

    Returns
    -------
    Absolute ``pathlib.Path``; ``~`` is expanded.

    Example
    -------
    >>> import os
    >>> os.environ["SSL_COURSE_DATA"] = "/srv/datasets"
    >>> data_root()
    PosixPath('/srv/datasets')
    >>> del os.environ["SSL_COURSE_DATA"]
    """
    if root is None:
        if os.environ.get(DATA_ENV):
            root = os.environ[DATA_ENV]
        elif in_colab():
            root = COLAB_DATA
        elif (CHECKOUT_DATA / "README.md").is_file():
            root = CHECKOUT_DATA
        else:
            root = "data"
    return Path(os.path.abspath(Path(root).expanduser()))


def in_colab() -> bool:
    """Whether this runs in Google Colab (its package is imported, or its ``/content`` and env)."""
    return "google.colab" in sys.modules or (
        os.path.isdir("/content") and any(key.startswith("COLAB_") for key in os.environ))


def fetch(url: str, path: Path, *, md5: str | None = None, download: bool = False) -> Path:
    """Make sure ``path`` holds the file published at ``url``; download it if allowed.

    Parameters
    ----------
    url : where the file is published (``https://``, ``http://`` or ``file://``).
    path : where it belongs; its folder is created when downloading.
    md5 : the file's MD5 checksum, checked when given (also on a file placed by hand).
    download : fetch the file when it is missing or corrupted. One attempt, which gives up
        after :data:`TIMEOUT` seconds without data; the file appears only when complete.

    Returns
    -------
    ``path``.

    Raises
    ------
    FileNotFoundError : the file is missing (or corrupted) and ``download`` is false, or the
        download failed; the message names the file, the URL and the folder.
    """
    path = Path(path)
    if path.is_file():
        if md5 is None or _md5(path) == md5:
            return path
        if not download:
            raise missing_file_error(path, url, f"{path.name} in {path.parent} is corrupted (its MD5 is "
                                     f"not {md5}): delete it, or pass download=True to replace it.")
    elif not download:
        raise missing_file_error(path, url, f"{path.name} is not in {path.parent}. Pass download=True to "
                                 "download it.")
    _download(url, path, md5)
    return path


def missing_file_error(path: Path, url: str, problem: str) -> FileNotFoundError:
    """The error for a data file that is not usable: ``problem``, then how to place it by hand."""
    return FileNotFoundError(
        f"{problem}\nTo place it by hand, download\n    {url}\nand save it as {path.name} in the folder\n"
        f"    {path.parent}\n(that folder is data_root(root): the root argument, else ${DATA_ENV}, else "
        "/content/data in Colab, else the repository's data/ folder, else ./data).")


def _download(url: str, path: Path, md5: str | None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    request = urllib.request.Request(url, headers={"User-Agent": "ssl-course-kit"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response, open(partial, "wb") as out:
            size = response.headers.get("Content-Length")
            with tqdm(total=int(size) if size else None, unit="B", unit_scale=True, desc=path.name) as bar:
                while chunk := response.read(1 << 20):
                    out.write(chunk)
                    bar.update(len(chunk))
    except (OSError, http.client.HTTPException) as error:  # URLError, HTTPError, timeouts are OSErrors
        partial.unlink(missing_ok=True)
        reason = getattr(error, "reason", None) or error
        problem = f"Could not download {path.name} from {url} ({reason})."
        raise missing_file_error(path, url, problem) from None
    if md5 is not None and _md5(partial) != md5:
        partial.unlink()
        raise missing_file_error(path, url, f"The download of {path.name} from {url} is corrupted (its MD5 "
                                 f"is not {md5}); try again.")
    partial.replace(path)


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
