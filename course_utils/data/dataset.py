"""The one container every dataset of the kit comes in: images as stored, labels, classes, factors.

Images stay uint8 ``(N, C, H, W)`` (a quarter of float32's memory, so a whole dataset fits
on a GPU); models take float32 in ``[0, 1]``, which :func:`to_float` makes batch by batch.

Example
-------
>>> import torch
>>> from course_utils.data import ImageDataset, to_float
>>> ds = ImageDataset(torch.zeros(4, 3, 8, 8, dtype=torch.uint8), torch.tensor([0, 1, 0, 1]),
...                   classes=["cat", "dog"])
>>> image, label = ds[1]
>>> image.shape, int(label), len(ds.subset([0, 2]))
(torch.Size([3, 8, 8]), 1, 2)
>>> to_float(ds.images).dtype
torch.float32
"""
from __future__ import annotations

import dataclasses

import torch

from .._validate import check_same_device, check_tensor

UNLABELED = -1
"""The label of an image without one (STL-10's ``unlabeled`` split)."""


def to_float(images: torch.Tensor) -> torch.Tensor:
    """Convert stored images to what models take: float32 in ``[0, 1]``, on the same device.

    Parameters
    ----------
    images : uint8 tensor, any shape (usually ``(N, C, H, W)``), or a float tensor,
        which is returned unchanged.

    Returns
    -------
    float tensor of the same shape: ``images / 255`` as float32 for uint8 input.

    Example
    -------
    >>> to_float(torch.tensor([0, 255], dtype=torch.uint8))
    tensor([0., 1.])
    """
    check_tensor(images, "images")
    if images.is_floating_point():
        return images
    if images.dtype != torch.uint8:
        raise TypeError(f"images must be uint8 (0..255) or floating point, got dtype {images.dtype}")
    return images.to(torch.float32).div_(255)


@dataclasses.dataclass(repr=False, eq=False)
class ImageDataset:
    """Images with their labels, class names and (optional) factors of variation.

    Parameters
    ----------
    images : uint8 tensor ``(N, C, H, W)``, values 0..255, as stored.
    labels : int64 tensor ``(N,)`` on the device of ``images``, class indices in
        ``[0, len(classes))``, or ``UNLABELED`` (-1) for images without a label.
    classes : list of str, the class names; ``classes[labels[i]]`` names image ``i``.
    factors : dict of str to int64 tensor ``(N,)`` (same device), further discrete labels of every
        image (for example ``"color"`` or ``"texture"`` for the shapes dataset); may be empty.

    Indexing ``ds[i]`` gives ``(image, label)``; a tensor, slice or list index gives
    batches, like indexing the tensors themselves.

    Example
    -------
    >>> ds = ImageDataset(torch.zeros(2, 1, 8, 8, dtype=torch.uint8), torch.tensor([0, 1]),
    ...                   classes=["a", "b"], factors={"size": torch.tensor([3, 5])})
    >>> ds
    ImageDataset(n=2, image_shape=(1, 8, 8), classes=['a', 'b'], factors=['size'])
    """

    images: torch.Tensor
    labels: torch.Tensor
    classes: list[str]
    factors: dict[str, torch.Tensor] = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        check_tensor(self.images, "images", ndim=4, dtypes=[torch.uint8])
        n = self.images.shape[0]
        _check_index_vector(self.labels, "labels", n)
        if not isinstance(self.classes, (list, tuple)) or not all(isinstance(c, str) for c in self.classes):
            raise TypeError(f"classes must be a list of str, got {self.classes!r}")
        self.classes = list(self.classes)
        if self.labels.numel():
            low, high = int(self.labels.min()), int(self.labels.max())
            if low < UNLABELED or high >= len(self.classes):
                raise ValueError(f"labels must lie in [0, {len(self.classes)}) (one per class in classes)"
                                 f" or be {UNLABELED} (unlabeled), got values in [{low}, {high}]")
        if not isinstance(self.factors, dict):
            raise TypeError("factors must be a dict of str to int64 tensors, "
                            f"got {type(self.factors).__name__}")
        for key, value in self.factors.items():
            _check_index_vector(value, f"factors[{key!r}]", n)
        check_same_device(images=self.images, labels=self.labels,
                          **{f"factors[{key!r}]": value for key, value in self.factors.items()})

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, index):
        return self.images[index], self.labels[index]

    @property
    def num_classes(self) -> int:
        """``len(classes)``."""
        return len(self.classes)

    def subset(self, indices) -> ImageDataset:
        """The images at ``indices`` (ints, a slice or a boolean mask), with their labels and factors.

        The classes are kept, so the labels keep their meaning.
        """
        if not isinstance(indices, slice):
            indices = torch.as_tensor(indices)
            if indices.ndim != 1 or indices.is_floating_point() or indices.is_complex():
                raise TypeError(f"indices must be a slice, a 1-D boolean mask or 1-D integer indices,"
                                f" got {indices.dtype} of shape {tuple(indices.shape)}")
            indices = indices.to(self.images.device)
        return ImageDataset(self.images[indices], self.labels[indices], self.classes,
                            {key: value[indices] for key, value in self.factors.items()})

    def __repr__(self) -> str:
        return (f"ImageDataset(n={len(self)}, image_shape={tuple(self.images.shape[1:])}, "
                f"classes={self.classes}, factors={list(self.factors)})")


def _check_index_vector(x, name: str, n: int) -> None:
    """Check an int64 ``(n,)`` tensor."""
    check_tensor(x, name, ndim=1, dtypes=[torch.int64])
    if x.shape[0] != n:
        raise ValueError(f"{name} must have length {n} (one per image), got {x.shape[0]}")
