"""Procedurally generated shapes: one small dataset with known, independent factors of variation.

Every image is one coloured shape (the class) drawn at some position and size on a
textured background. All six factors are drawn independently and recorded, so the same
images answer different questions ("one's style is another's content"): a probe for
``shape`` wants an encoder invariant to colour and background, a probe for ``color`` the
opposite. With ``spurious > 0`` the background texture predicts the class, as the
background predicts the bird in Waterbirds (Izmailov et al., 2022), so a model can score
well on a biased training set by looking at the background alone.

Shapes are drawn from signed distance functions with one pixel of anti-aliasing, so they
stay recognisable from 16x16 to 96x96 pixels, and the whole batch is rendered at once with
tensor operations (50,000 images of 32x32 in about a second on one CPU core).

Example
-------
>>> from course_utils.data import make_shapes
>>> ds = make_shapes(1000, seed=0, spurious=0.9)
>>> ds.images.shape, ds.classes[:2], sorted(ds.factors)
(torch.Size([1000, 3, 32, 32]), ['circle', 'square'], ['color', 'scale', 'shape', 'texture', 'x', 'y'])
>>> round(float((ds.factors["texture"] == ds.labels).float().mean()), 2)  # 0.9 + 0.1 / 6
0.92

References
----------
Izmailov, P., Kirichenko, P., Gruver, N., & Wilson, A. G. (2022). On feature learning in the
presence of spurious correlations. NeurIPS 35.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from .._validate import check_fraction, check_positive
from .._validate import check_seed
from .dataset import ImageDataset

SHAPES = ("circle", "square", "triangle", "cross", "ring")
"""The classes, in label order."""

COLORS = {  # the foreground palette: bright, saturated, far from every background
    "red": (235, 45, 45),
    "green": (50, 215, 60),
    "blue": (70, 120, 255),
    "yellow": (250, 225, 40),
    "magenta": (235, 65, 235),
    "cyan": (40, 225, 230),
}

TEXTURES = {  # background: (base colour, pattern colour); dark and muted, so shapes stand out
    "plain": ((75, 75, 75), (75, 75, 75)),
    "hstripes": ((30, 45, 85), (95, 110, 150)),
    "vstripes": ((85, 45, 30), (150, 110, 95)),
    "checker": ((30, 75, 40), (95, 140, 105)),
    "dots": ((80, 70, 25), (150, 140, 90)),
    "diagonal": ((65, 35, 80), (130, 100, 145)),
}
"""Texture ``k`` is the one tied to class ``k`` when ``spurious > 0`` (``"diagonal"`` to none)."""

FACTORS = {
    "shape": SHAPES,
    "color": tuple(COLORS),
    "texture": tuple(TEXTURES),
    "x": ("left", "center", "right"),
    "y": ("top", "middle", "bottom"),
    "scale": ("small", "medium", "large"),
}
"""The values of each factor, in index order: ``FACTORS[f][ds.factors[f][i]]`` names one."""

_MIN_RADIUS, _MAX_RADIUS = 0.2, 0.38  # half-extent of a shape, as a fraction of the image side
_PERIOD = 1 / 8                       # background pattern period, as a fraction of the image side
_CHUNK_PIXELS = 2**21                 # images rendered together: bounds memory at any image size


def make_shapes(n: int, *, image_size: int = 32, seed: int = 0, spurious: float = 0.0) -> ImageDataset:
    """Render ``n`` RGB images of coloured shapes on textured backgrounds.

    Each image draws, independently and uniformly: its shape (the label, one of
    :data:`SHAPES`), its colour (one of :data:`COLORS`), its background texture (one of
    :data:`TEXTURES`), and its horizontal position, vertical position and size, each in
    one of 3 bins (with a uniform offset inside the bin). The shape always lies inside
    the image. Only ``spurious`` breaks the independence, and only between texture and shape.

    Parameters
    ----------
    n : number of images.
    image_size : side of the square images in pixels (>= 8; shapes read well from 16).
    seed : the whole dataset is a function of ``(n, image_size, seed, spurious)``. Changing
        ``spurious`` alone changes backgrounds only: shapes, colours, positions and sizes stay.
    spurious : in ``[0, 1]``. With this probability an image's texture is the one tied to
        its class (``texture == shape``); otherwise it is uniform over all textures, so
        ``P(texture == shape) = spurious + (1 - spurious) / len(TEXTURES)``. ``0`` makes every
        factor independent (Izmailov et al., 2022, for the effect on what a model learns).

    Returns
    -------
    :class:`ImageDataset` with images uint8 ``(n, 3, image_size, image_size)``, labels int64
    ``(n,)`` (the shape), ``classes == list(SHAPES)`` and ``factors`` with int64 ``(n,)``
    entries ``"shape"``, ``"color"``, ``"texture"``, ``"x"``, ``"y"``, ``"scale"`` whose value
    names are in :data:`FACTORS`.

    Example
    -------
    >>> ds = make_shapes(8, image_size=16, seed=1)
    >>> ds.images.shape, ds.images.dtype
    (torch.Size([8, 3, 16, 16]), torch.uint8)
    >>> bool((ds.factors["shape"] == ds.labels).all())
    True
    """
    check_positive(n, "n", integer=True)
    check_positive(image_size, "image_size", integer=True)
    if image_size < 8:
        raise ValueError(f"image_size must be >= 8 pixels, got {image_size}")
    seed = check_seed(seed)
    spurious = check_fraction(spurious, "spurious")

    rng = np.random.default_rng(seed)
    # Every draw happens whatever `spurious` is, so the random stream (and with it every
    # other factor) does not depend on it.
    shape = rng.integers(len(SHAPES), size=n)
    color = rng.integers(len(COLORS), size=n)
    tied = rng.random(n) < spurious
    texture = np.where(tied, shape, rng.integers(len(TEXTURES), size=n))
    x, y, scale = rng.integers(3, size=(3, n))
    offset = rng.random((3, n))  # where inside its bin each position and size falls

    radius = _MIN_RADIUS + (_MAX_RADIUS - _MIN_RADIUS) * (scale + offset[2]) / 3
    cx = radius + (1 - 2 * radius) * (x + offset[0]) / 3
    cy = radius + (1 - 2 * radius) * (y + offset[1]) / 3
    images = _render(shape, color, texture, cx, cy, radius, image_size)

    factors = {"shape": shape, "color": color, "texture": texture, "x": x, "y": y, "scale": scale}
    factors = {key: torch.from_numpy(value.astype(np.int64)) for key, value in factors.items()}
    return ImageDataset(images, factors["shape"].clone(), list(SHAPES), factors)


def _render(shape, color, texture, cx, cy, radius, size: int) -> torch.Tensor:
    """Composite anti-aliased shapes over their backgrounds; uint8 ``(n, 3, size, size)``."""
    n = len(shape)
    coords = (torch.arange(size, dtype=torch.float32) + 0.5) / size  # pixel centres in (0, 1)
    backgrounds = _backgrounds(size)                                  # (textures, 3, size, size)
    palette = torch.tensor(list(COLORS.values()), dtype=torch.float32)
    shape, color, texture = (torch.from_numpy(a) for a in (shape, color, texture))
    cx, cy, radius = (torch.from_numpy(a).float() for a in (cx, cy, radius))

    out = torch.empty(n, 3, size, size, dtype=torch.uint8)
    chunk = max(1, _CHUNK_PIXELS // (size * size))
    for start in range(0, n, chunk):
        part = slice(start, start + chunk)
        r = radius[part, None, None]
        dx = (coords[None, None, :] - cx[part, None, None]) / r  # (m, 1, size), in radii
        dy = (coords[None, :, None] - cy[part, None, None]) / r  # (m, size, 1)
        distance = torch.empty(len(r), size, size)
        for k, sdf in enumerate(_SDFS):
            sel = shape[part] == k
            if sel.any():
                distance[sel] = sdf(dx[sel], dy[sel])
        # signed distance in pixels -> coverage, with a one-pixel-wide soft edge
        alpha = (0.5 - distance * (r * size)).clamp_(0, 1).unsqueeze(1)
        background = backgrounds[texture[part]]
        foreground = palette[color[part]][:, :, None, None]
        out[part] = background.add_(alpha * (foreground - background)).round_().to(torch.uint8)
    return out


def _backgrounds(size: int) -> torch.Tensor:
    """Each texture as a float image ``(len(TEXTURES), 3, size, size)``; pattern fixed to the image."""
    coords = (torch.arange(size, dtype=torch.float32) + 0.5) / size / _PERIOD
    u, v = coords[None, :], coords[:, None]  # horizontal and vertical, in pattern periods
    dot_u, dot_v = u / 2 % 1 - 0.5, v / 2 % 1 - 0.5  # offsets from the centre of a 2x2-period cell
    patterns = {
        "plain": torch.zeros(size, size),
        "hstripes": (v.floor() % 2).expand(size, size),
        "vstripes": (u.floor() % 2).expand(size, size),
        "checker": (u.floor() + v.floor()) % 2,
        "dots": (dot_u**2 + dot_v**2 < 0.25**2).float(),
        "diagonal": (u + v).floor() % 2,
    }
    images = []
    for name, (base, pattern) in TEXTURES.items():
        base, pattern = (torch.tensor(c, dtype=torch.float32)[:, None, None] for c in (base, pattern))
        images.append(base + patterns[name] * (pattern - base))
    return torch.stack(images)


# Signed distance (< 0 inside) of each shape in SHAPES order, in units of the radius, for
# offsets (dx, dy) from the centre; y points down. Box-like shapes use the max-norm
# distance, exact on the edges, which is all the anti-aliasing needs.
_TRIANGLE_SLOPE = math.hypot(1.9, 1.0)  # apex (0, -1), base corners (+-1, 0.9)
_SDFS = (
    lambda dx, dy: torch.hypot(dx, dy) - 1,                                          # circle
    lambda dx, dy: torch.maximum(dx.abs(), dy.abs()) - 0.85,                        # square
    lambda dx, dy: torch.maximum((1.9 * dx.abs() - (dy + 1)) / _TRIANGLE_SLOPE, dy - 0.9),  # triangle
    lambda dx, dy: torch.minimum(torch.maximum(dx.abs() - 1, dy.abs() - 0.3),       # cross
                                 torch.maximum(dx.abs() - 0.3, dy.abs() - 1)),
    lambda dx, dy: (torch.hypot(dx, dy) - 0.72).abs() - 0.28,                      # ring
)
