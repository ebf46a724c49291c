"""Batches for :func:`~course_utils.train.fit`: from resident tensors, or from an iterable.

Tensor data (an :class:`~course_utils.data.ImageDataset` or a tuple ``(images, labels)``)
stays on the training device when it fits (on CUDA: less than half the free memory),
as in airbench; otherwise each batch is gathered into pinned host memory and copied
asynchronously. Each epoch's order is a permutation drawn from a ``torch.Generator``
seeded by ``(seed, epoch)``, so a resumed run sees the same batches. Under DDP each rank
takes its contiguous share of every global batch.
"""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from .._validate import check_positive, check_tensor
from ..distributed import rank, world_size


def is_tensor_data(data) -> bool:
    """True for an ImageDataset-like object or a pair of tensors ``(images, labels)``."""
    if hasattr(data, "images") and hasattr(data, "labels"):
        return True
    return isinstance(data, (tuple, list)) and len(data) == 2 and all(
        isinstance(t, torch.Tensor) for t in data)


def as_tensors(data, name: str):
    """``(images (N, ...), labels (N,))`` from an ImageDataset or an ``(images, labels)`` pair.

    Labels are not checked to be class indices: an unlabeled split (labels -1) trains.
    """
    if not is_tensor_data(data):
        raise TypeError(f"{name} must be an ImageDataset or a tuple (images, labels) of tensors, "
                        f"got {type(data).__name__}")
    images, labels = (data.images, data.labels) if hasattr(data, "images") else data
    check_tensor(images, f"{name} images")
    if images.ndim == 0:
        raise ValueError(f"{name} images must have a leading sample dimension, got a 0-d tensor")
    check_tensor(labels, f"{name} labels", ndim=1)
    if len(labels) != len(images):
        raise ValueError(f"{name} labels must have length {len(images)} (one per image), got {len(labels)}")
    return images, labels


def epoch_seed(seed: int, epoch: int) -> int:
    """The seed of ``epoch``'s shuffling generator: numpy's ``SeedSequence`` mixing of ``(seed, epoch)``."""
    return int(np.random.SeedSequence((seed, epoch)).generate_state(1)[0])


class TensorBatches:
    """Shuffled, drop-last batches ``(images, labels)`` of resident tensor data.

    Parameters
    ----------
    images: ``(N, ...)`` tensor (uint8 images are kept uint8); labels: ``(N,)``.
    batch_size: the global batch size; each of the ``world_size`` ranks gets
        ``batch_size // world_size`` consecutive samples of every global batch.
    """

    def __init__(self, images, labels, *, batch_size, device, seed):
        check_positive(batch_size, "batch_size", integer=True)
        if batch_size % world_size():
            raise ValueError(f"batch_size must be divisible by the world size {world_size()} "
                             f"(it is the global batch), got {batch_size}")
        if batch_size > len(images):
            raise ValueError(f"batch_size must be at most the number of samples {len(images)} "
                             f"(batches drop the last incomplete one), got {batch_size}")
        self.batch_size, self.device, self.seed = batch_size, device, seed
        nbytes = images.nbytes + labels.nbytes
        self.resident = (device.type != "cuda" or images.is_cuda
                         or nbytes < torch.cuda.mem_get_info(device)[0] / 2)
        self.images, self.labels = (images.to(device), labels.to(device)) if self.resident else (
            images, labels)

    def __len__(self) -> int:
        return len(self.images) // self.batch_size

    def epoch(self, epoch: int, start: int = 0):
        """An iterator over this rank's share of batches ``start, start + 1, ...`` of ``epoch``."""
        order = torch.randperm(len(self.images), generator=torch.Generator().manual_seed(
            epoch_seed(self.seed, epoch)))
        if self.resident:  # one copy per epoch: a per-batch copy from pageable memory would
            order = order.to(self.device)  # synchronise the device at every step
        share = self.batch_size // world_size()
        first = rank() * share
        return (self._take(order[b * self.batch_size + first:][:share]) for b in range(start, len(self)))

    def _take(self, idx):
        if self.resident:
            return self.images[idx], self.labels[idx]
        return tuple(t[idx].pin_memory().to(self.device, non_blocking=True)
                     for t in (self.images, self.labels))


def _to_device(batch, device):
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, (tuple, list)):
        return type(batch)(_to_device(b, device) for b in batch)
    if isinstance(batch, dict):
        return {k: _to_device(v, device) for k, v in batch.items()}
    return batch


class IterableBatches:
    """Batches of a re-iterable object with a length (e.g. a ``DataLoader``), moved to ``device``.

    Under DDP the iterable must yield this rank's batches (a ``DataLoader`` with a
    ``DistributedSampler``; its ``set_epoch`` is called every epoch).
    """

    def __init__(self, data, *, batch_size, device):
        if (isinstance(data, (str, bytes, torch.Tensor, Iterator)) or not hasattr(data, "__len__")
                or not hasattr(data, "__iter__")):
            raise TypeError("data must be an ImageDataset, a tuple (images, labels) of tensors, or a re-"
                            "iterable of batches with a length (e.g. a DataLoader), got "
                            f"{type(data).__name__}")
        if len(data) == 0:
            raise ValueError("data must yield at least one batch, got an empty iterable")
        if batch_size is not None and batch_size != getattr(data, "batch_size", None):
            raise ValueError("batch_size must be None for an iterable of batches (they come batched)"
                             f" or equal its own batch_size, got {batch_size}")
        self.data, self.device = data, device

    def __len__(self) -> int:
        return len(self.data)

    def epoch(self, epoch: int, start: int = 0):
        """An iterator over batches ``start, start + 1, ...`` of ``epoch`` (the first skipped now)."""
        sampler = getattr(self.data, "sampler", None)
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(epoch)
        it = iter(self.data)
        for _ in range(start):
            next(it)
        return (_to_device(b, self.device) for b in it)


def make_batches(data, *, batch_size, device, seed):
    """:class:`TensorBatches` for tensor data, else :class:`IterableBatches`."""
    if is_tensor_data(data):
        if batch_size is None:
            raise ValueError("batch_size is required for tensor data (an ImageDataset or (images, labels))")
        return TensorBatches(*as_tensors(data, "data"), batch_size=batch_size, device=device, seed=seed)
    return IterableBatches(data, batch_size=batch_size, device=device)
