"""Step functions for :func:`~course_utils.train.fit`: what one training step computes.

A step is ``step(model, batch) -> loss`` or ``-> {"loss": loss, ...}``; ``batch`` is
``(images, labels)`` on the training device with images as stored (uint8), so that the
step augments them batch-wise on that device. Bind the options with
:func:`functools.partial`; write your own step to plug in another loss.

Example
-------
>>> import functools
>>> from course_utils.augment import SimCLRAugment
>>> step = functools.partial(simclr_step, augment=SimCLRAugment(32), temperature=0.5)
>>> # history = fit(model, step, train, epochs=10, batch_size=256)
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..losses import nt_xent


def simclr_step(model, batch, *, augment, temperature: float = 0.5) -> dict:
    """One SimCLR step (Chen et al., 2020a, Algorithm 1).

    Draws two augmented views of each image, passes the concatenated ``2N`` batch through
    ``model`` in one forward (so BatchNorm sees both views) and scores it with
    :func:`~course_utils.losses.nt_xent`.

    Parameters
    ----------
    model: returns ``(h, z)`` for a float batch ``(2N, C, S, S)``: the representation
        ``h`` ``(2N, D)`` and the projection ``z`` ``(2N, P)`` (e.g.
        :class:`~course_utils.models.SimCLRNet`).
    batch: ``(images, labels)``, images ``(N, C, H, W)`` uint8 or float, labels ``(N,)``.
    augment: batch-wise view generator, ``(N, C, H, W) -> (N, C, S, S)`` float32, e.g.
        :class:`~course_utils.augment.SimCLRAugment`.
    temperature: NT-Xent's temperature.

    Returns
    -------
    ``{"loss": scalar, "features": h of view 1 (N, D) detached, "labels": (N,)}``; the
    features feed :class:`~course_utils.train.OnlineProbe`.
    """
    images, labels = batch
    h, z = model(torch.cat([augment(images), augment(images)]))
    z1, z2 = z.chunk(2)
    return {"loss": nt_xent(z1, z2, temperature), "features": h[: len(images)].detach(),
            "labels": labels}


def supervised_step(model, batch, *, augment=None) -> dict:
    """One supervised step: cross-entropy of ``model``'s logits.

    Parameters
    ----------
    model: float images ``(N, C, S, S)`` -> logits ``(N, K)``.
    batch: ``(images, labels)``, images ``(N, C, H, W)`` uint8 or float, labels ``(N,)``.
    augment: optional batch-wise augmentation returning float32 images; without it the
        images are only converted with :func:`course_utils.data.to_float`.

    Returns
    -------
    ``{"loss": scalar, "logits": (N, K) detached, "labels": (N,)}``.
    """
    from ..data import to_float

    images, labels = batch
    logits = model(augment(images) if augment is not None else to_float(images))
    return {"loss": F.cross_entropy(logits, labels), "logits": logits.detach(), "labels": labels}
