"""The two SimCLR input pipelines that the training benchmarks compare, and a step timer.

- ours: images resident on the training device (uint8), batch-wise
  :class:`course_utils.augment.SimCLRAugment` inside :func:`course_utils.train.simclr_step`;
- per image: a ``torch.utils.data.DataLoader`` over PIL images (as torchvision's CIFAR-10
  dataset serves them) with lightly's ``SimCLRTransform`` (a ``torchvision`` Compose of
  PIL transforms) making the two views, fed to the same model and loss by
  :func:`views_step`.

:func:`anatomy` times one training step phase by phase (data, augmentation, forward,
loss, backward, optimizer) to show where the time goes.
"""
from __future__ import annotations

import statistics
import time
from contextlib import nullcontext
from typing import Callable, Iterator

import torch
from torch.utils.data import Dataset

from course_utils.losses import nt_xent
from course_utils.models import ProjectionHead, SimCLRNet, build_encoder

PHASES = ("data", "augmentation", "forward", "loss", "backward", "optimizer")


def lightly_transform(size: int):
    """lightly's SimCLRTransform with SimCLR's CIFAR-10 recipe (colour strength 0.5, no blur),
    unnormalised: a PIL image -> a list of two float views ``(3, size, size)``."""
    from lightly.transforms import SimCLRTransform

    return SimCLRTransform(input_size=size, cj_strength=0.5, gaussian_blur=0.0, normalize=None)


class PILImages(Dataset):
    """uint8 images ``(N, C, H, W)`` served one at a time as PIL images through
    ``transform``, with their labels, as ``torchvision.datasets.CIFAR10`` does (HWC
    arrays in memory, ``Image.fromarray`` per item)."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, transform: Callable):
        self.arrays = images.permute(0, 2, 3, 1).contiguous().numpy()
        self.labels, self.transform = labels.tolist(), transform

    def __len__(self) -> int:
        return len(self.arrays)

    def __getitem__(self, i: int):
        from PIL import Image

        return self.transform(Image.fromarray(self.arrays[i])), self.labels[i]


def views_step(model, batch, *, temperature: float = 0.5) -> dict:
    """:func:`course_utils.train.simclr_step` for batches that bring their own two views:
    ``batch = ((view1, view2), labels)``."""
    (v1, v2), _ = batch
    _, z = model(torch.cat([v1, v2]))
    return {"loss": nt_xent(*z.chunk(2), temperature)}


def simclr_model(encoder: str, in_channels: int = 3) -> SimCLRNet:
    """SimCLRNet with ``build_encoder(encoder)`` and the default projection head."""
    net = build_encoder(encoder, in_channels)
    return SimCLRNet(net, ProjectionHead(net.feature_dim))


def anatomy(model, optimizer, batches: Iterator, *, augment: Callable | None, steps: int,
            temperature: float = 0.5, device: torch.device, amp_dtype=None,
            to_input: Callable = lambda x: x) -> dict[str, float]:
    """Median seconds per training step spent in each of :data:`PHASES`.

    ``batches`` yields ``(images, labels)`` (augmented here by ``augment``, twice) or,
    with ``augment=None``, ``((view1, view2), labels)``; ``data`` is the time to get a
    batch onto ``device``. The device is synchronised at each phase boundary (on CUDA
    this serialises the step a little: the phases sum to slightly more than a step).
    ``to_input`` prepares the views for the model (e.g. channels_last).
    """
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    autocast = (torch.autocast(device.type, dtype=amp_dtype) if amp_dtype is not None
                else nullcontext())
    times = {phase: [] for phase in PHASES}

    def mark(marks):
        sync()
        marks.append(time.perf_counter())

    model.train()
    for _ in range(steps):
        marks = [time.perf_counter()]
        images, _ = next(batches)
        images = ([v.to(device, non_blocking=True) for v in images] if augment is None
                  else images.to(device, non_blocking=True))
        mark(marks)
        views = torch.cat(images if augment is None else [augment(images), augment(images)])
        views = to_input(views)
        mark(marks)
        with autocast:
            _, z = model(views)
            mark(marks)
            loss = nt_xent(*z.chunk(2), temperature)
            mark(marks)
        loss.backward()
        mark(marks)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        mark(marks)
        for phase, start, stop in zip(PHASES, marks, marks[1:]):
            times[phase].append(stop - start)
    return {phase: statistics.median(t) for phase, t in times.items()}


def resident_batches(images: torch.Tensor, labels: torch.Tensor, batch_size: int,
                     seed: int = 0) -> Iterator:
    """Endless shuffled batches ``(images, labels)`` indexed from resident tensors (as
    :func:`course_utils.train.fit` does for tensor data)."""
    g = torch.Generator().manual_seed(seed)
    while True:
        order = torch.randperm(len(images), generator=g).to(images.device)
        for b in range(len(images) // batch_size):
            idx = order[b * batch_size:(b + 1) * batch_size]
            yield images[idx], labels[idx]


def endless(loader) -> Iterator:
    """The batches of ``loader``, epoch after epoch."""
    while True:
        yield from loader
