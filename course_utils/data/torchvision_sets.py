"""CIFAR-10 and STL-10 through torchvision, as uint8 :class:`ImageDataset` s.

torchvision knows each dataset's archive, URL, checksums and file layout; this module
adds what a course needs around it: one folder for every dataset (:func:`data_root`), an
archive placed there by hand is used as is, and a missing archive fails at once with
instructions instead of a long network timeout (see :mod:`course_utils.data.download`).

Example
-------
>>> from course_utils.data import load_dataset
>>> train = load_dataset("cifar10", "train", download=True)  # doctest: +SKIP
>>> train.images.shape                                        # doctest: +SKIP
torch.Size([50000, 3, 32, 32])

References
----------
Krizhevsky, A. (2009). Learning multiple layers of features from tiny images. Technical report,
University of Toronto.

Coates, A., Ng, A., & Lee, H. (2011). An analysis of single-layer networks in unsupervised
feature learning. AISTATS.
"""
from __future__ import annotations

import numpy as np
import torch

from .dataset import ImageDataset
from .download import data_root, fetch, missing_file_error

STL10_CLASSES = ["airplane", "bird", "car", "cat", "deer", "dog", "horse", "monkey", "ship", "truck"]


def load_cifar10(split: str = "train", root=None, download: bool = False) -> ImageDataset:
    """CIFAR-10 (Krizhevsky, 2009): 60,000 colour 32x32 images of 10 classes.

    Parameters
    ----------
    split : ``"train"`` (50,000 images, in the order CIFAR-10N's labels follow) or ``"test"`` (10,000).
    root : the data folder, see :func:`data_root`; the archive ``cifar-10-python.tar.gz``
        goes there and is extracted to ``cifar-10-batches-py/``.
    download : download the archive (163 MB) if it is not there.

    Returns
    -------
    :class:`ImageDataset`: images uint8 ``(N, 3, 32, 32)``, labels int64 ``(N,)``, the 10
    class names, no factors.
    """
    from torchvision.datasets import CIFAR10

    ds = _open(CIFAR10, root, download, train=split == "train")
    images = np.ascontiguousarray(ds.data.transpose(0, 3, 1, 2))  # stored (N, H, W, C)
    return ImageDataset(torch.from_numpy(images), torch.tensor(ds.targets, dtype=torch.int64),
                        list(ds.classes))


def load_stl10(split: str = "train", root=None, download: bool = False) -> ImageDataset:
    """STL-10 (Coates et al., 2011): colour 96x96 images of 10 classes, plus 100,000 unlabeled.

    Parameters
    ----------
    split : ``"train"`` (5,000 labeled), ``"test"`` (8,000 labeled), ``"unlabeled"``
        (100,000, label -1) or ``"train+unlabeled"`` (both, the usual SSL pretraining set).
    root : the data folder, see :func:`data_root`; the archive ``stl10_binary.tar.gz``
        goes there and is extracted to ``stl10_binary/``.
    download : download the archive (2.6 GB) if it is not there.

    Returns
    -------
    :class:`ImageDataset`: images uint8 ``(N, 3, 96, 96)``, labels int64 ``(N,)`` (-1 for
    unlabeled images), the 10 class names, no factors.
    """
    from torchvision.datasets import STL10

    ds = _open(STL10, root, download, split=split)
    return ImageDataset(torch.from_numpy(np.ascontiguousarray(ds.data)),  # already (N, C, H, W)
                        torch.from_numpy(ds.labels.astype(np.int64)), list(STL10_CLASSES))


def _open(dataset_class, root, download: bool, **kwargs):
    """Construct a torchvision dataset from its extracted files, extracting or fetching its archive first."""
    from torchvision.datasets.utils import extract_archive

    folder = data_root(root)
    try:
        return dataset_class(str(folder), download=False, **kwargs)
    except RuntimeError:  # torchvision's "Dataset not found or corrupted"
        pass
    archive = fetch(dataset_class.url, folder / dataset_class.filename, md5=dataset_class.tgz_md5,
                    download=download)
    extract_archive(str(archive), str(folder))
    try:
        return dataset_class(str(folder), download=False, **kwargs)
    except RuntimeError as error:
        raise missing_file_error(archive, dataset_class.url, f"The files extracted from {archive} into "
                                 f"{folder / dataset_class.base_folder} are incomplete ({error}).") from None
