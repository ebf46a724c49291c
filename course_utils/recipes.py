"""Recipes shared by the demo, the benchmarks and the project starter.

- :func:`pretrain_simclr`: SimCLR (Chen et al., 2020a) with the kit's training core.
- :func:`label_subset`: a stratified fraction of the labels, as in semi-supervised
  benchmarks (Chen et al., 2020b).
- :func:`train_supervised`: the supervised-from-scratch baseline on those labels, or,
  given a pretrained encoder, the same training fine-tuning it (Chen et al., 2020a, Table 7).
- :func:`label_efficiency`: linear-probe accuracy with 1%, 10%, ... of the labels,
  beside the supervised baseline: the lecture's SimCLRv2 table at small scale.

The notebooks write these steps out themselves; this module is for code that only
needs the result.

Example
-------
>>> import course_utils as cu
>>> from course_utils.recipes import pretrain_simclr, label_efficiency
>>> train = cu.data.load_dataset("shapes", "train", n=512)          # doctest: +SKIP
>>> test = cu.data.load_dataset("shapes", "test", n=256)            # doctest: +SKIP
>>> model, history = pretrain_simclr(train, epochs=2, batch_size=128)  # doctest: +SKIP
>>> label_efficiency(model.encoder, train, test, fractions=(0.1, 1.0))  # doctest: +SKIP
"""
from __future__ import annotations

import copy
import functools
import math

import torch
from torch import nn

from ._validate import check_fraction, check_positive
from .augment import SimCLRAugment
from .data import ImageDataset
from .evaluate import extract_features, linear_probe
from .models import ProjectionHead, SimCLRNet, build_encoder
from .runtime import get_device, seed_everything
from .train import fit, simclr_step, supervised_step


SHAPES_COLOUR = {"jitter": 1.0, "grayscale_p": 0.5}
"""Colour distortion for the shapes, as notebook 04 teaches it: hues shift by up to a fifth
of a turn and half the views are grey, since at SimCLR's CIFAR-10 strength (0.5, grey 0.2)
the six saturated colours identify an image on their own and SimCLR matches views by colour."""


def default_augment(dataset: ImageDataset) -> SimCLRAugment:
    """SimCLR's recipe sized for ``dataset``, with crops no smaller than the objects.

    Crops keep at least 30% of the area of images up to 32 px (50% up to 16 px): below
    that, a crop of a small image often misses the object, and the views share only
    the background. Datasets that record their objects' colour as a factor of variation
    (``"color" in dataset.factors``: the shapes) also get :data:`SHAPES_COLOUR`. The runs
    behind both choices are in ``benchmarks/RESULTS.md``.
    """
    side = dataset.images.shape[-1]
    smallest = 0.5 if side <= 16 else 0.3 if side <= 32 else 0.08
    colour = SHAPES_COLOUR if "color" in dataset.factors else {}
    return SimCLRAugment(side, scale=(smallest, 1.0), **colour)


def pretrain_simclr(train: ImageDataset, *, epochs: int, batch_size: int, encoder: str = "small",
                    temperature: float = 0.2, lr: float = 3e-3, warmup_epochs: float | None = None,
                    augment=None, seed: int = 0, device=None, checkpoint=None, callbacks=(),
                    progress: bool = True):
    """Pretrain a SimCLR model on ``train`` (labels unused).

    Parameters
    ----------
    train: images uint8 ``(N, C, H, W)``; only ``train.images`` is used for the loss.
    epochs, batch_size: the budget, usually from :func:`course_utils.profile`.
    temperature: NT-Xent's; 0.2 learns the shapes' class far better than 0.5 at the
        ``cpu`` profile's budget (``benchmarks/RESULTS.md``).
    lr, warmup_epochs: AdamW's peak learning rate, reached after a linear warmup of
        ``warmup_epochs`` (default a tenth of ``epochs``), then cosine decay; 3e-3 learned
        more of the shapes' class than 1e-3 or 1e-2 in ``cpu`` runs (notebook 04).
    encoder: ``"small"`` or ``"resnet18"`` (see :func:`course_utils.models.build_encoder`).
    augment: a batch-wise view generator; default :func:`default_augment`.
    checkpoint: path passed to :func:`course_utils.train.fit` (resumes if it exists).

    Returns
    -------
    (model, history): a :class:`~course_utils.models.SimCLRNet` whose ``.encoder`` is
    the representation ``g``, and the training history.
    """
    seed_everything(seed)
    net = build_encoder(encoder, in_channels=train.images.shape[1])
    model = SimCLRNet(net, ProjectionHead(net.feature_dim))
    step = functools.partial(simclr_step, augment=augment or default_augment(train),
                             temperature=temperature)
    history = fit(model, step, train, epochs=epochs, batch_size=min(batch_size, len(train)), lr=lr,
                  warmup_epochs=epochs / 10 if warmup_epochs is None else warmup_epochs,
                  device=device, seed=seed, checkpoint=checkpoint, callbacks=callbacks, progress=progress)
    return model, history


def label_subset(labels: torch.Tensor, fraction: float, seed: int = 0) -> torch.Tensor:
    """Indices of a stratified ``fraction`` of ``labels`` (at least one per class).

    Returns an int64 tensor of sorted indices into ``labels`` (N,).
    """
    check_fraction(fraction, "fraction")
    if fraction == 0:
        raise ValueError("fraction must be > 0 (at least one label per class)")
    g = torch.Generator().manual_seed(seed)
    labels = labels.cpu()
    picked = []
    for c in labels.unique():
        idx = (labels == c).nonzero().flatten()
        k = max(1, round(fraction * len(idx)))
        picked.append(idx[torch.randperm(len(idx), generator=g)[:k]])
    return torch.cat(picked).sort().values


def train_supervised(train: ImageDataset, test: ImageDataset, *, encoder: str | nn.Module = "small",
                     min_steps: int = 300, epochs: int = 30, lr: float = 1e-3, seed: int = 0,
                     device=None, progress: bool = False) -> float:
    """Test accuracy of ``encoder`` + a linear head, every weight trained on ``train``'s labels.

    ``encoder`` is a name for :func:`~course_utils.models.build_encoder` (supervised from
    scratch), or a pretrained module with ``.feature_dim`` mapping ``(N, C, H, W)`` to
    ``(N, feature_dim)``, which a copy of is fine-tuned (the module itself is left as it
    was). That is how SimCLR is evaluated with 1% and 10% of ImageNet's labels (Chen et
    al., 2020a, Table 7: "fine-tune the whole base network on the labeled data"). Either way
    the training is the same, so two runs differ only in where the weights start:
    AdamW at ``lr`` with light augmentation (crops and flips) for ``epochs`` epochs or at
    least ``min_steps`` steps, so that tiny label subsets get as many updates as large ones.
    """
    check_positive(min_steps, "min_steps", integer=True)
    if not isinstance(encoder, (str, nn.Module)):
        raise TypeError(f"encoder must be an encoder name or a torch.nn.Module, got {type(encoder).__name__}")
    if isinstance(encoder, nn.Module) and not hasattr(encoder, "feature_dim"):
        raise TypeError("encoder must have .feature_dim (its output width), as build_encoder's encoders do")
    seed_everything(seed)
    device = device or get_device()
    net = (copy.deepcopy(encoder).requires_grad_(True)  # a copy of a frozen encoder is trained too
           if isinstance(encoder, nn.Module) else build_encoder(encoder, in_channels=train.images.shape[1]))
    model = nn.Sequential(net, nn.Linear(net.feature_dim, len(train.classes)))
    side = train.images.shape[-1]
    augment = SimCLRAugment(side, scale=(0.5, 1.0), jitter_p=0.0, grayscale_p=0.0)
    batch_size = min(128, len(train))
    steps_per_epoch = len(train) // batch_size
    epochs = max(epochs, math.ceil(min_steps / steps_per_epoch))
    fit(model, functools.partial(supervised_step, augment=augment), train, epochs=epochs,
        batch_size=batch_size, lr=lr, device=device, seed=seed, progress=progress)
    logits = extract_features(model, test.images, device=device)  # eval mode, no grad
    return (logits.argmax(1) == test.labels).float().mean().item()


def label_efficiency(encoder: nn.Module, train: ImageDataset, test: ImageDataset, *,
                     fractions=(0.01, 0.1, 1.0), seed: int = 0, device=None) -> dict:
    """Linear-probe accuracy of a frozen ``encoder`` using a fraction of the training labels.

    Returns ``{fraction: accuracy}``; features are extracted once and the probe is
    trained on the stratified subset given by :func:`label_subset`.
    """
    train_x = extract_features(encoder, train.images, device=device)
    test_x = extract_features(encoder, test.images, device=device)
    out = {}
    for f in fractions:
        idx = label_subset(train.labels, f, seed)
        out[f] = linear_probe(train_x[idx], train.labels[idx], test_x, test.labels,
                              device=device, seed=seed)
    return out
