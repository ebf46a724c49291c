"""CIFAR-10N: real human label noise for CIFAR-10's training images (Wei et al., 2022).

Every CIFAR-10 training image was labeled by three Amazon Mechanical Turk workers. The
published file ``CIFAR-10_human.pt`` holds, for the 50,000 images in CIFAR-10's training
order: ``clean_label`` (the original labels), ``random_label1..3`` (each worker's label,
about 17% wrong), ``aggre_label`` (their majority vote, about 9% wrong) and ``worse_label``
(a wrong label whenever any worker gave one, about 40% wrong).

Example
-------
>>> from course_utils.data import load_cifar10n, load_dataset
>>> noisy = load_cifar10n(download=True)                # doctest: +SKIP
>>> clean = load_dataset("cifar10", "train").labels     # doctest: +SKIP
>>> float((noisy != clean).float().mean())              # doctest: +SKIP
0.4021

References
----------
Wei, J., Zhu, Z., Cheng, H., Liu, T., Niu, G., & Liu, Y. (2022). Learning with noisy labels
revisited: A study using real-world human annotations. ICLR.
"""
from __future__ import annotations

import pickle

import numpy as np
import torch

from .._validate import check_choice
from .download import data_root, fetch, missing_file_error

URL = "https://github.com/UCSC-REAL/cifar-10-100n/raw/main/data/CIFAR-10_human.pt"
FILENAME = "CIFAR-10_human.pt"
LABEL_SETS = ("clean_label", "worse_label", "aggre_label", "random_label1", "random_label2", "random_label3")
NUM_IMAGES = 50_000

# The file is a torch-saved dict of numpy integer arrays. torch.load(weights_only=True)
# refuses numpy objects unless allowed by name; allowing exactly these keeps the load from
# running arbitrary code, under numpy 1 ("numpy.core") and numpy 2 ("numpy._core") alike.
_reconstruct = np.empty(0).__reduce__()[0]
_NUMPY_GLOBALS = [(_reconstruct, "numpy.core.multiarray._reconstruct"),
                  (_reconstruct, "numpy._core.multiarray._reconstruct"), np.ndarray, np.dtype,
                  *{type(np.dtype(t)) for t in (np.int8, np.int16, np.int32, np.int64,
                                                np.uint8, np.uint16, np.uint32, np.uint64)}]


def load_cifar10n(root=None, download: bool = False, label: str = "worse_label") -> torch.Tensor:
    """One of CIFAR-10N's label sets for the 50,000 CIFAR-10 training images.

    Parameters
    ----------
    root : the data folder, see :func:`data_root`; the file ``CIFAR-10_human.pt`` goes there.
    download : download the file (a few MB) from :data:`URL` if it is not there.
    label : which labels, one of :data:`LABEL_SETS`: ``"worse_label"`` (about 40% noise),
        ``"aggre_label"`` (about 9%), ``"random_label1"``/``2``/``3`` (about 17% each), or
        ``"clean_label"``.

    Returns
    -------
    int64 tensor ``(50000,)`` of class indices in CIFAR-10's class order, aligned with
    ``load_dataset("cifar10", "train")``.
    """
    check_choice(label, "label", LABEL_SETS)
    path = fetch(URL, data_root(root) / FILENAME, download=download)
    try:
        with torch.serialization.safe_globals(_NUMPY_GLOBALS):
            table = torch.load(path, weights_only=True)
        labels = torch.as_tensor(np.asarray(table[label]), dtype=torch.int64)
    except (pickle.UnpicklingError, RuntimeError, EOFError, KeyError, TypeError, ValueError) as error:
        raise missing_file_error(path, URL, f"{path} is not CIFAR-10N's label file ({error!r}); delete it "
                                 "and download it again.") from None
    if labels.shape != (NUM_IMAGES,) or int(labels.min()) < 0 or int(labels.max()) > 9:
        raise missing_file_error(path, URL, f"{path} is not CIFAR-10N's label file: {label} has shape "
                                 f"{tuple(labels.shape)}, expected {NUM_IMAGES} labels in 0..9.")
    return labels
