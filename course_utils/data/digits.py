"""scikit-learn's handwritten digits as an :class:`ImageDataset`: embedded, tiny, always there.

1,797 grey 8x8 images of the digits 0-9 (the UCI "optdigits" test set, Alpaydin & Kaynak,
1998), split 80/20, stratified by class, with a fixed seed.

Example
-------
>>> from course_utils.data import load_dataset
>>> train, test = load_dataset("digits", "train"), load_dataset("digits", "test")
>>> train.images.shape, test.images.shape
(torch.Size([1437, 1, 8, 8]), torch.Size([360, 1, 8, 8]))
"""
from __future__ import annotations

import numpy as np
import torch

from .dataset import ImageDataset

TEST_FRACTION = 0.2
SPLIT_SEED = 0


def load_digits(split: str = "train") -> ImageDataset:
    """One split of scikit-learn's digits, as uint8 images ``(N, 1, 8, 8)``.

    Parameters
    ----------
    split : ``"train"`` (1,437 images) or ``"test"`` (360). The split is stratified by class
        and the same on every machine; each keeps the original order of the images.

    Returns
    -------
    :class:`ImageDataset`: images uint8 ``(N, 1, 8, 8)`` (the 0..16 ink levels scaled to
    0..255), labels int64 ``(N,)``, classes ``["0", ..., "9"]``, no factors.
    """
    from sklearn.datasets import load_digits as sklearn_digits
    from sklearn.model_selection import train_test_split

    bunch = sklearn_digits()
    images = np.rint(bunch.images * (255 / 16)).astype(np.uint8)[:, None]
    labels = bunch.target.astype(np.int64)
    train, test = train_test_split(np.arange(len(labels)), test_size=TEST_FRACTION,
                                   stratify=labels, random_state=SPLIT_SEED)
    index = np.sort(train if split == "train" else test)
    return ImageDataset(torch.from_numpy(images[index]), torch.from_numpy(labels[index]),
                        [str(d) for d in range(10)])
