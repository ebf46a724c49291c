"""The two SimCLR input pipelines that the training benchmarks compare, and a step timer.

- ours (:func:`resident_pipeline`): images resident on the training device (uint8),
  batch-wise :class:`course_utils.augment.SimCLRAugment` inside
  :func:`course_utils.train.simclr_step`;
- per image (:func:`dataloader_pipeline`): a ``torch.utils.data.DataLoader`` over PIL
  images (as torchvision's CIFAR-10 dataset serves them) with lightly's
  ``SimCLRTransform`` (a ``torchvision`` Compose of PIL transforms) making the two views,
  fed to the same model and loss by :func:`views_step`.

:func:`anatomy` times one training step phase by phase (data, augmentation, forward,
loss, backward, optimizer) to show where the time goes; :func:`print_phase_table` prints it.
"""
from __future__ import annotations

import functools
import itertools
import statistics
import time
from contextlib import nullcontext
from typing import Callable, Iterator, NamedTuple

import torch
from torch.utils.data import DataLoader, Dataset

from course_utils.augment import SimCLRAugment
from course_utils.losses import nt_xent
from course_utils.models import ProjectionHead, SimCLRNet, build_encoder
from course_utils.train import amp_dtype, simclr_step
from course_utils.train.batches import TensorBatches

from _common import print_table

PHASES = ("data", "augmentation", "forward", "loss", "backward", "optimizer")
TEMPERATURE = 0.5


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


def views_step(model, batch, *, temperature: float) -> dict:
    """:func:`course_utils.train.simclr_step` for batches that bring their own two views:
    ``batch = ((view1, view2), labels)``, views ``(B, C, H, W)``."""
    (v1, v2), _ = batch
    _, z = model(torch.cat([v1, v2]))
    return {"loss": nt_xent(*z.chunk(2), temperature)}


def simclr_model(encoder: str) -> SimCLRNet:
    """SimCLRNet with ``build_encoder(encoder)`` (3 input channels) and the default projection head."""
    net = build_encoder(encoder)
    return SimCLRNet(net, ProjectionHead(net.feature_dim))


class Pipeline(NamedTuple):
    """One input pipeline: what :func:`course_utils.train.fit` and :func:`anatomy` take.

    ``step``, ``data`` and ``batch_size`` are fit's arguments (``batch_size`` None for a
    loader); ``batches`` is an endless iterator of batches for :func:`anatomy`, augmented
    there by ``augment`` (None: the batches bring their two views).
    """

    step: Callable
    data: object
    batch_size: int | None
    batches: Iterator
    augment: Callable | None


def resident_pipeline(images: torch.Tensor, labels: torch.Tensor, batch_size: int) -> Pipeline:
    """Ours: uint8 images ``(N, C, H, W)`` and labels ``(N,)``, kept on their device (the
    training device), two views ``(B, C, H, W)`` made batch-wise there by SimCLRAugment
    inside simclr_step."""
    augment = SimCLRAugment(images.shape[-1])
    step = functools.partial(simclr_step, augment=augment, temperature=TEMPERATURE)
    return Pipeline(step, (images, labels), batch_size, resident_batches(images, labels, batch_size),
                    augment)


def dataloader_pipeline(images: torch.Tensor, labels: torch.Tensor, batch_size: int, *, workers: int,
                        **loader_options) -> Pipeline:
    """The alternative: a shuffled, drop-last DataLoader with ``workers`` worker processes
    (persistent if any; ``loader_options`` go to the DataLoader) over uint8 images
    ``(N, C, H, W)`` and labels ``(N,)`` on the CPU, served as PIL images, lightly's
    SimCLRTransform making two views ``(C, H, W)`` per image; batches
    ``((view1, view2), labels)``."""
    dataset = PILImages(images, labels, lightly_transform(images.shape[-1]))
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True, drop_last=True, num_workers=workers,
                        persistent_workers=workers > 0, **loader_options)
    step = functools.partial(views_step, temperature=TEMPERATURE)
    return Pipeline(step, loader, None, endless(loader), None)


def anatomy(model, batches: Iterator, *, augment: Callable | None, steps: int, device: torch.device,
            amp=False) -> dict[str, float]:
    """Median seconds per training step spent in each of :data:`PHASES`.

    ``batches`` yields ``(images (B, C, H, W), labels (B,))`` (augmented here by
    ``augment``, twice) or, with ``augment=None``, ``((view1, view2), labels)``; ``data``
    is the time to get a batch onto ``device``. The loss is NT-Xent at
    :data:`TEMPERATURE`, the optimizer a fresh AdamW (lr 1e-3, weight decay 1e-4) over
    ``model``'s parameters, the forward pass and loss under autocast as ``fit(amp=amp)``
    would (:func:`course_utils.train.amp_dtype`). The device is synchronised at each phase
    boundary (on CUDA this serialises the step a little: the phases sum to slightly more
    than a step).
    """
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    dtype = amp_dtype(amp, device)
    autocast = torch.autocast(device.type, dtype=dtype) if dtype is not None else nullcontext()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)
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
        mark(marks)
        with autocast:
            _, z = model(views)
            mark(marks)
            loss = nt_xent(*z.chunk(2), TEMPERATURE)
            mark(marks)
        loss.backward()
        mark(marks)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        mark(marks)
        for phase, start, stop in zip(PHASES, marks, marks[1:]):
            times[phase].append(stop - start)
    return {phase: statistics.median(t) for phase, t in times.items()}


def print_phase_table(phases: dict[str, dict[str, float]], *, digits: int, shares: bool) -> None:
    """Print :func:`anatomy`'s results as milliseconds with ``digits`` decimals: a row per
    phase, a column per method (``phases[method][phase]``, seconds). With ``shares``, each
    cell also gives the phase's share of the step, and a last row the step (the sum)."""
    def cell(times: dict[str, float], phase: str) -> str:
        ms, step_ms = 1e3 * times[phase], 1e3 * sum(times.values())
        return f"{ms:.{digits}f}" + (f" ({100 * ms / step_ms:.0f}%)" if shares else "")

    rows = [[phase, *(cell(times, phase) for times in phases.values())] for phase in PHASES]
    if shares:
        rows.append(["step (sum)", *(f"{1e3 * sum(times.values()):.{digits}f}" for times in phases.values())])
    print_table(["phase", *phases], rows)


def resident_batches(images: torch.Tensor, labels: torch.Tensor, batch_size: int) -> Iterator:
    """Endless shuffled drop-last batches ``(images (B, ...), labels (B,))`` of tensors on
    the training device: :class:`course_utils.train.batches.TensorBatches` (what
    :func:`course_utils.train.fit` draws tensor data from) epoch after epoch."""
    tensor_batches = TensorBatches(images, labels, batch_size=batch_size, device=images.device, seed=0)
    return (batch for epoch in itertools.count() for batch in tensor_batches.epoch(epoch))


def endless(loader) -> Iterator:
    """The batches of ``loader``, epoch after epoch."""
    while True:
        yield from loader
