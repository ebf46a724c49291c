"""Encoders and heads for the course's SimCLR experiments.

- :class:`SmallConvNet`: four conv-BN-ReLU blocks and global average pooling; quick on
  a CPU, for 8x8 digits up to 96x96 images.
- :func:`resnet18_cifar`: torchvision's ResNet-18 with the CIFAR stem (3x3 stride-1
  first convolution, no max-pool), as SimCLR uses on CIFAR-10.
- :class:`ProjectionHead`: SimCLR's MLP projection head ``g``.
- :class:`SimCLRNet`: encoder ``f`` and head ``g`` together, ``x -> (h, z)``.
- :func:`build_encoder`: an encoder by name (``profile().encoder`` picks one).

Every encoder maps float images ``(N, C, H, W)`` to features ``(N, D)`` and has an
attribute ``feature_dim`` (``D``).

References
----------
He, Zhang, Ren, Sun (2016). Deep Residual Learning for Image Recognition. CVPR.
https://arxiv.org/abs/1512.03385

Chen, Kornblith, Norouzi, Hinton (2020a). A Simple Framework for Contrastive Learning of
Visual Representations. ICML. https://arxiv.org/abs/2002.05709 (Section 2.1: encoder and
projection head; Appendix B.9: the CIFAR-10 ResNet stem).

Example
-------
>>> encoder = build_encoder("small", in_channels=3)
>>> model = SimCLRNet(encoder, ProjectionHead(encoder.feature_dim))
>>> h, z = model(torch.rand(4, 3, 32, 32))
>>> tuple(h.shape), tuple(z.shape)
((4, 256), (4, 128))
"""
from __future__ import annotations

import torch
from torch import nn

from ._validate import check_choice, check_positive

ENCODERS = ("small", "resnet18")


def _conv_bn_relu(in_channels: int, out_channels: int, stride: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class SmallConvNet(nn.Module):
    """A small convolutional encoder: four 3x3 conv-BN-ReLU blocks, global average pool.

    Widths ``w, 2w, 4w, 8w``; every block halves the resolution (stride 2), so 8x8
    inputs end at 1x1 and 32x32 inputs at 2x2 before pooling. About 0.39 M parameters
    and 3.8 M multiply-adds per 32x32 RGB image at ``width=32``: a SimCLR step on 512
    views takes about 0.1 s on 2 CPU cores (a stride-1 first block would take 0.55 s).

    Parameters
    ----------
    in_channels: channels ``C`` of the input images (1 for digits, 3 for RGB).
    width: channels ``w`` of the first block; ``feature_dim = 8 * width``.

    Shapes
    ------
    ``forward``: float ``(N, C, H, W)``, ``H, W >= 1`` -> ``(N, feature_dim)``.

    Example
    -------
    >>> net = SmallConvNet(in_channels=1, width=16)
    >>> net(torch.rand(5, 1, 8, 8)).shape
    torch.Size([5, 128])
    """

    def __init__(self, in_channels: int = 3, width: int = 32):
        super().__init__()
        self.in_channels = check_positive(in_channels, "in_channels", integer=True)
        check_positive(width, "width", integer=True)
        widths = (width, 2 * width, 4 * width, 8 * width)
        blocks, previous = [], in_channels
        for w in widths:
            blocks.append(_conv_bn_relu(previous, w, stride=2))
            previous = w
        self.features = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.feature_dim = widths[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"x must have shape (N, {self.in_channels}, H, W), got "
                             f"{tuple(x.shape)}")
        return self.pool(self.features(x)).flatten(1)


def resnet18_cifar(in_channels: int = 3) -> nn.Module:
    """ResNet-18 (He et al., 2016) with the CIFAR stem of SimCLR (Chen et al., 2020a).

    torchvision's ``resnet18(weights=None)`` with the first 7x7 stride-2 convolution
    replaced by a 3x3 stride-1 one and the max-pool removed (so 32x32 images keep their
    resolution in the first stage), and ``fc`` replaced by the identity: the model
    returns the 512-d pooled features. ``feature_dim = 512``.

    Parameters
    ----------
    in_channels: channels ``C`` of the input images.

    Shapes
    ------
    float ``(N, C, H, W)`` -> ``(N, 512)``.

    References
    ----------
    He et al. (2016), https://arxiv.org/abs/1512.03385; Chen et al. (2020a), Appendix
    B.9, https://arxiv.org/abs/2002.05709

    Example
    -------
    >>> net = resnet18_cifar()
    >>> net(torch.rand(2, 3, 32, 32)).shape
    torch.Size([2, 512])
    """
    from torchvision.models import resnet18

    check_positive(in_channels, "in_channels", integer=True)
    net = resnet18(weights=None)
    net.conv1 = nn.Conv2d(in_channels, 64, kernel_size=3, stride=1, padding=1, bias=False)
    nn.init.kaiming_normal_(net.conv1.weight, mode="fan_out", nonlinearity="relu")  # as torchvision
    net.maxpool = nn.Identity()
    net.fc = nn.Identity()
    net.feature_dim = 512
    return net


class ProjectionHead(nn.Sequential):
    """SimCLR's projection head ``g``: ``num_layers - 1`` Linear-BN-ReLU layers, then a Linear.

    The contrastive loss is computed on ``z = g(h)``; the representation ``h`` before
    the head is what downstream tasks use (Chen et al., 2020a, Section 2.1).

    Parameters
    ----------
    in_dim: dimension of the representation ``h`` (the encoder's ``feature_dim``).
    hidden_dim: width of the hidden layers; default ``in_dim``.
    out_dim: dimension of ``z``.
    num_layers: number of Linear layers (1 is a linear head).

    Shapes
    ------
    ``(N, in_dim)`` -> ``(N, out_dim)``. BatchNorm needs ``N > 1`` in training mode.

    Example
    -------
    >>> head = ProjectionHead(512, out_dim=128)
    >>> head(torch.rand(4, 512)).shape
    torch.Size([4, 128])
    """

    def __init__(self, in_dim: int, hidden_dim: int | None = None, out_dim: int = 128,
                 num_layers: int = 2):
        check_positive(in_dim, "in_dim", integer=True)
        hidden_dim = in_dim if hidden_dim is None else check_positive(hidden_dim, "hidden_dim",
                                                                      integer=True)
        check_positive(out_dim, "out_dim", integer=True)
        check_positive(num_layers, "num_layers", integer=True)
        layers, previous = [], in_dim
        for _ in range(num_layers - 1):
            # no bias before BatchNorm, whose shift makes it redundant
            layers += [nn.Linear(previous, hidden_dim, bias=False), nn.BatchNorm1d(hidden_dim),
                       nn.ReLU(inplace=True)]
            previous = hidden_dim
        layers.append(nn.Linear(previous, out_dim))
        super().__init__(*layers)

    def __getitem__(self, idx):
        """A layer, or for a slice a plain ``nn.Sequential`` of those layers (sharing their
        parameters): ``head[:3]`` is the head's first Linear-BN-ReLU, which SimCLRv2 keeps
        when fine-tuning (Chen et al., 2020b, Section 2)."""
        if isinstance(idx, slice):
            return nn.Sequential(*list(self)[idx])
        return super().__getitem__(idx)


class SimCLRNet(nn.Module):
    """An encoder ``f`` followed by a projection head ``g``: ``x -> (h, z)``.

    Parameters
    ----------
    encoder: module mapping ``(N, C, H, W)`` to ``h`` ``(N, D)``.
    head: module mapping ``h`` to ``z`` ``(N, P)``, e.g. :class:`ProjectionHead`.

    Shapes
    ------
    ``forward(x)``: ``(N, C, H, W)`` -> ``(h (N, D), z (N, P))``.

    Example
    -------
    >>> model = SimCLRNet(SmallConvNet(1, width=8), ProjectionHead(64, out_dim=16))
    >>> h, z = model(torch.rand(3, 1, 8, 8))
    >>> tuple(h.shape), tuple(z.shape)
    ((3, 64), (3, 16))
    """

    def __init__(self, encoder: nn.Module, head: nn.Module):
        super().__init__()
        for name, module in (("encoder", encoder), ("head", head)):
            if not isinstance(module, nn.Module):
                raise TypeError(f"{name} must be a torch.nn.Module, got {type(module).__name__}")
        self.encoder = encoder
        self.head = head

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.encoder(x)
        return h, self.head(h)


def build_encoder(name: str, in_channels: int = 3) -> nn.Module:
    """An encoder by name: ``"small"`` (:class:`SmallConvNet`) or ``"resnet18"``
    (:func:`resnet18_cifar`). It has ``.feature_dim``.

    Example
    -------
    >>> build_encoder("resnet18").feature_dim
    512
    """
    check_choice(name, "name", ENCODERS)
    if name == "small":
        return SmallConvNet(in_channels)
    return resnet18_cifar(in_channels)
