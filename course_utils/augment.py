"""SimCLR's data augmentation, batch-wise on any device, and as a per-image pipeline.

- :class:`SimCLRAugment`: random resized crop, horizontal flip, colour jitter, random
  grayscale and optional Gaussian blur for a whole batch ``(N, C, H, W)`` at once, on
  the batch's device, with independent random parameters per image.
- :func:`simclr_transform`: the same recipe as a per-image ``torchvision.transforms.v2``
  pipeline, for ``DataLoader`` workers.
- :class:`TwoViews`: ``x -> (t(x), t(x))``, two independent views of one input.

Each operation of :class:`SimCLRAugment` computes what the matching
``torchvision.transforms.v2.functional`` kernel computes on a float image (``resized_crop``
with antialiasing, ``hflip``, ``adjust_brightness/contrast/saturation/hue``,
``rgb_to_grayscale``, ``gaussian_blur``); the tests check this image by image.

Randomness: every random number is drawn with ``torch.rand`` on the images' device, so
``torch.manual_seed`` (or :func:`course_utils.seed_everything`) makes the views
reproducible; a uint8 batch and the same batch as float in [0, 1] give the same views.

References
----------
Chen, Kornblith, Norouzi, Hinton (2020a). A Simple Framework for Contrastive Learning of
Visual Representations. ICML. https://arxiv.org/abs/2002.05709 (Appendix A: the
augmentation recipe and its colour-distortion code; B.9: CIFAR-10 drops the blur).

Example
-------
>>> images = torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8)
>>> augment = SimCLRAugment(32)
>>> view1, view2 = augment(images), augment(images)
>>> view1.shape, view1.dtype
(torch.Size([8, 3, 32, 32]), torch.float32)
"""
from __future__ import annotations

import dataclasses
import math
from typing import Sequence

import torch
import torch.nn.functional as F

from ._validate import check_choice, check_fraction, check_positive, check_tensor

# torchvision's rgb_to_grayscale weights (ITU-R 601-2 luma)
_GRAY = (0.2989, 0.587, 0.114)
# colour-jitter operations as numbered by torchvision's ColorJitter (0 is brightness);
# in a blend slot of the random-order schedule, _KEEP (= 3) leaves the image unchanged
_CONTRAST, _SATURATION, _HUE = 1, 2, 3
_KEEP = 3
# images per chunk on the CPU: large enough to amortise per-operation overhead, small
# enough for the chunk's working set to stay in cache
_CPU_CHUNK = 128
_DTYPES = (torch.uint8, torch.float16, torch.bfloat16, torch.float32, torch.float64)


@dataclasses.dataclass
class AugmentParams:
    """The random parameters of one :class:`SimCLRAugment` call, one row per image.

    Attributes
    ----------
    box: int64 ``(N, 4)``: top, left, height, width of the crop, in input pixels.
    flip: bool ``(N,)``: flip the view horizontally.
    factors: float32 ``(N, 4)``: brightness, contrast, saturation and hue factors as in
        ``torchvision.transforms.v2.functional.adjust_*``; ``(1, 1, 1, 0)`` leaves an
        image unchanged (images without colour jitter get exactly that).
    order: ``None`` (brightness, contrast, saturation, hue for every image) or int64
        ``(N, 4)``, a permutation of ``0..3`` per image: the order in which the jitter
        operations are applied, numbered as in ``ColorJitter``.
    grayscale: bool ``(N,)``: convert the view to grayscale (after the jitter).
    sigma: float32 ``(N,)``: standard deviation of the Gaussian blur in pixels; 0 means
        no blur.
    """

    box: torch.Tensor
    flip: torch.Tensor
    factors: torch.Tensor
    order: torch.Tensor | None
    grayscale: torch.Tensor
    sigma: torch.Tensor

    def __getitem__(self, index) -> "AugmentParams":
        fields = (getattr(self, f.name) for f in dataclasses.fields(self))
        return AugmentParams(*(None if t is None else t[index] for t in fields))


def _check_range(value, name: str, *, low: float, high: float,
                 open_low: bool = False) -> tuple[float, float]:
    """Check a ``(min, max)`` pair with ``low <= min <= max <= high`` (``low < min`` if
    ``open_low``)."""
    if (not isinstance(value, Sequence) or len(value) != 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)):
        raise TypeError(f"{name} must be a pair of numbers (min, max), got {value!r}")
    lo, hi = float(value[0]), float(value[1])
    if not (low < lo if open_low else low <= lo) or not lo <= hi <= high:
        bound = f"{low} {'<' if open_low else '<='} min <= max <= {high}"
        raise ValueError(f"{name} must satisfy {bound}, got {value!r}")
    return lo, hi


def _check_stats(value, name: str) -> tuple[float, ...] | None:
    """Check per-channel normalisation statistics (``None`` or 1 or 3 numbers)."""
    if value is None:
        return None
    if (not isinstance(value, Sequence) or len(value) not in (1, 3)
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)):
        raise TypeError(f"{name} must be None or a sequence of 1 or 3 numbers, got {value!r}")
    return tuple(float(v) for v in value)


def _gray(x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """Luma of RGB ``x`` ``(N, 3, H, W)`` into ``out`` ``(N, H, W)`` (rgb_to_grayscale)."""
    r, g, b = x.unbind(1)
    return torch.mul(r, _GRAY[0], out=out).add_(g, alpha=_GRAY[1]).add_(b, alpha=_GRAY[2])


def _mean_luma(x: torch.Tensor) -> torch.Tensor:
    """Mean luma ``(N,)`` of ``x`` ``(N, C, H, W)``: the weighted channel means."""
    if x.shape[1] == 1:
        return x.mean((1, 2, 3))
    return x.mean((2, 3)) @ torch.tensor(_GRAY, device=x.device)


def _resize_weights(start: torch.Tensor, length: torch.Tensor, flip: torch.Tensor | None,
                    in_size: int, out_size: int, *, out: torch.Tensor,
                    gain: float = 1.0) -> torch.Tensor:
    """Interpolation matrices ``(N, out_size, in_size)`` of an antialiased bilinear resize.

    Row ``i`` of image ``n`` holds the weights with which output pixel ``i`` averages the
    input pixels of the crop ``[start[n], start[n] + length[n])``: a triangle filter of
    half-width ``max(1, length / out_size)``, normalised to sum to ``gain``, as
    ``torch.nn.functional.interpolate(mode="bilinear", antialias=True)`` computes it.
    Where ``flip[n]``, the rows come in reverse order (a horizontal flip of the output).
    Written into ``out``.
    """
    scale = (length / out_size).view(-1, 1, 1)
    start = start.view(-1, 1, 1)
    i = torch.arange(out_size, device=start.device, dtype=torch.float32).view(1, -1, 1)
    if flip is not None:
        i = i + flip.view(-1, 1, 1) * (out_size - 1 - 2 * i)  # i -> S - 1 - i
    j = torch.arange(in_size, device=start.device, dtype=torch.float32).view(1, 1, -1)
    center = start + scale * (i + 0.5)  # in input pixels; pixel k spans [k, k + 1)
    w = torch.sub(j + 0.5, center, out=out).abs_().mul_(-1 / scale.clamp(min=1))
    w = w.add_(1).clamp_(min=0)
    inside = (j - start + 1).clamp_(0, 1) * (start + length.view(-1, 1, 1) - j).clamp_(0, 1)
    w = w.mul_(inside)  # pixels outside the crop get no weight
    return w.div_(w.sum(-1, keepdim=True) / gain)


def _jitter_schedule(order: torch.Tensor) -> torch.Tensor:
    """Operation of each image in the fixed slots ``blend x3, hue, blend x3``.

    Every permutation of (brightness, contrast, saturation, hue) is a subsequence of that
    schedule: the operations before hue fill the first blend slots, those after it the
    last ones, and the remaining slots hold ``_KEEP``. Returns int64 ``(N, 6)``, the
    operations of the six blend slots (hue always runs in the middle).
    """
    hue_pos = (order == _HUE).to(torch.uint8).argmax(1, keepdim=True)  # (N, 1)
    k = torch.arange(3, device=order.device).view(1, 3)
    before = torch.where(k < hue_pos, order[:, :3], _KEEP)
    after_idx = hue_pos + 1 + k
    after = torch.where(after_idx < 4, order.gather(1, after_idx.clamp(max=3)), _KEEP)
    return torch.cat([before, after], 1)


def _blend_(x: torch.Tensor, a: torch.Tensor, scratch: torch.Tensor, *,
            w_mean: torch.Tensor | None = None, w_luma: torch.Tensor | None = None) -> None:
    """Brightness, contrast or saturation, per image, in place.

    ``x <- clamp(a * x + w_mean * mean(luma(x)) + w_luma * luma(x), 0, 1)``: brightness
    with ``w_mean = w_luma = 0``, contrast with ``w_mean = 1 - a``, saturation with
    ``w_luma = 1 - a`` (torchvision's ``adjust_*`` blend the image with black, its mean
    luma or its luma). A weight left ``None`` is zero for every image and not computed.

    Parameters
    ----------
    x: float32 ``(N, C, H, W)``, C in {1, 3}, modified in place.
    a, w_mean, w_luma: ``(N,)`` per-image coefficients.
    scratch: float32 ``(N, H, W)`` work space.
    """
    a = a.view(-1, 1, 1, 1)
    if w_luma is not None:
        luma = _gray(x, scratch) if x.shape[1] == 3 else x[:, 0]
        shift = None if w_mean is None else w_mean.view(-1, 1, 1) * luma.mean((1, 2), keepdim=True)
        reference = torch.mul(luma, w_luma.view(-1, 1, 1), out=scratch)
        if shift is not None:
            reference.add_(shift)
        torch.addcmul(reference.unsqueeze(1), x, a, out=x)
    elif w_mean is not None:
        torch.addcmul((w_mean * _mean_luma(x)).view(-1, 1, 1, 1), x, a, out=x)
    else:
        x.mul_(a)
    x.clamp_(0, 1)


def _adjust_hue_(x: torch.Tensor, shift: torch.Tensor, scratch: torch.Tensor) -> None:
    """Rotate the HSV hue of RGB images ``x`` ``(N, 3, H, W)`` in place.

    The same map as torchvision's ``adjust_hue`` (RGB -> HSV, shift H, HSV -> RGB)
    without materialising HSV: with ``max``, ``min``, ``c = max - min`` and the hue ``h``
    in sixths of a turn, each output channel is ``min + c * w(h + shift)`` for a
    piecewise-linear ``w``. Only arithmetic (no ``where``, comparisons or
    ``remainder``, whose CPU kernels are several times slower), into preallocated planes.

    Parameters
    ----------
    x: float32 ``(N, 3, H, W)`` in [0, 1], modified in place.
    shift: ``(N,)`` hue shift in sixths of a turn (6 x torchvision's ``hue_factor``).
    scratch: float32 ``(>= 6, N, H, W)`` work space.
    """
    r, g, b = x.unbind(1)
    mx, mn, not_r, not_g, gb, br = scratch[:6]
    torch.maximum(torch.maximum(r, g, out=mx), b, out=mx)
    torch.minimum(torch.minimum(r, g, out=mn), b, out=mn)
    # 0/1 indicators: red is not the max, green is not the max (ties: red, then green)
    torch.sub(mx, r, out=not_r).sign_()
    torch.sub(mx, g, out=not_g).sign_()
    torch.sub(g, b, out=gb)
    torch.sub(b, r, out=br)  # r, g, b serve as scratch from here on
    # hue in sixths: gb / c if red is the max, br / c + 2 if green, (r - g) / c + 4 if
    # blue, with r - g = -(gb + br): numerator gb + not_r * ((br - gb) - not_g * (gb + 2 br))
    inner = torch.addcmul(torch.sub(br, gb, out=g), not_g, torch.add(gb, br, alpha=2, out=b),
                          value=-1, out=g)
    numerator = torch.addcmul(gb, not_r, inner, out=gb)
    half_offset = torch.addcmul(not_r, not_r, not_g, out=not_r)  # 0, 1, 2
    c = torch.sub(mx, mn, out=not_g).clamp_(min=1e-12)
    h6 = half_offset.mul_(2).add_(shift.view(-1, 1, 1))
    h6 = torch.addcdiv(h6, numerator, c, out=h6)
    h6 = h6.add_(torch.div(h6, 6, out=br).floor_(), alpha=-6)  # modulo 6, in [0, 6)
    # red peaks at h6 = 0 (w = clamp(|h6 - 3|, 1, 2) - 1), green at 2 and blue at 4
    # (w = 2 - clamp(|h6 - k|, 1, 2)); output = min + c * w
    low, high = mn.sub_(c), mx.add_(c)
    w = br
    torch.addcmul(low, c, torch.sub(h6, 3, out=w).abs_().clamp_(1, 2), out=r)
    torch.addcmul(high, c, torch.sub(h6, 2, out=w).abs_().clamp_(1, 2), value=-1, out=g)
    torch.addcmul(high, c, torch.sub(h6, 4, out=w).abs_().clamp_(1, 2), value=-1, out=b)


class SimCLRAugment:
    r"""SimCLR's augmentation for a whole batch, on the batch's device.

    Each image gets, with its own random parameters (Chen et al., 2020a, Appendix A):

    1. a random resized crop: area fraction in ``scale``, aspect ratio in ``ratio``
       (log-uniform), resized to ``image_size`` with antialiased bilinear interpolation
       (torchvision's ``RandomResizedCrop`` distribution, integer boxes included);
    2. a horizontal flip with probability ``flip_p``;
    3. with probability ``jitter_p``, colour jitter of strength ``s = jitter``:
       brightness, contrast and saturation factors uniform in
       :math:`[\max(0, 1 - 0.8s), 1 + 0.8s]` and a hue shift uniform in
       :math:`[-0.2s, 0.2s]` turns, applied in the order brightness, contrast,
       saturation, hue as in the paper's code (``jitter_order="fixed"``), or in a random
       order per image as torchvision's ``ColorJitter`` does (``"random"``, about 1.5x
       slower on the CPU); then clipped to [0, 1] as in the paper's code;
    4. grayscale with probability ``grayscale_p``;
    5. with probability ``blur_p``, a Gaussian blur with :math:`\sigma` uniform in
       ``blur_sigma`` and a kernel of about 10% of ``image_size`` (odd, at least 3;
       ``.blur_kernel``), reflect padding;
    6. if ``mean`` and ``std`` are given, per-channel normalisation ``(x - mean) / std``.

    Single-channel images skip saturation, hue and grayscale (as torchvision does).
    The defaults are SimCLR's CIFAR-10 settings (``s = 0.5``, no blur); its ImageNet
    settings are ``jitter=1.0, blur_p=0.5``.

    The whole batch is processed with tensor operations, no loop over images: the crop,
    flip and resize are two batched matrix products with per-image interpolation
    matrices; the jitter factors, order, grayscale mask and blur kernels are per-image
    tensors. On the CPU the batch goes through in chunks of 128 images, in place, in
    about 9 MB of work space that the instance keeps between calls (so do not call one
    instance from several threads at once), with the images sorted so that the colour
    jitter and the grayscale run only on the images that drew them (about 10% faster
    than masking; ``benchmarks/bench_augment.py``); on other devices it goes through at
    once, switched-off operations masked (no host synchronisation), with about 10x the
    output's size of temporary memory.

    Parameters
    ----------
    image_size: side ``S`` of the square output views.
    scale: range of the crop's area as a fraction of the image's, ``0 < min <= max <= 1``.
    ratio: range of the crop's aspect ratio (width / height), ``0 < min <= max``.
    flip_p: probability of a horizontal flip.
    jitter: colour-jitter strength ``s`` in ``[0, 2.5]`` (hue shifts within half a turn).
    jitter_p: probability of colour jitter.
    grayscale_p: probability of grayscale.
    blur_p: probability of Gaussian blur.
    blur_sigma: range of the blur's standard deviation in pixels, ``0 < min <= max``.
    mean, std: optional per-channel statistics (1 or C numbers) to normalise with;
        give both or neither.
    jitter_order: ``"fixed"`` or ``"random"`` (see step 3).

    Call
    ----
    ``augment(images)`` with ``images`` ``(N, C, H, W)``, C in {1, 3}, uint8 or float in
    [0, 1], on any device (the values of float images are not checked). Returns float32
    views ``(N, C, S, S)`` on the same device, in [0, 1] unless normalised.
    ``augment.sample(n, height, width, device)`` draws the random parameters and
    ``augment.apply(images, params)`` applies given ones; ``augment(images)`` is the two
    in turn.

    References
    ----------
    Chen et al. (2020a), A Simple Framework for Contrastive Learning of Visual
    Representations, Appendix A. https://arxiv.org/abs/2002.05709

    Example
    -------
    >>> augment = SimCLRAugment(32)
    >>> images = torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8)
    >>> augment(images).shape
    torch.Size([4, 3, 32, 32])
    >>> _ = torch.manual_seed(0); a = augment(images)
    >>> _ = torch.manual_seed(0); b = augment(images.float() / 255)
    >>> bool(torch.allclose(a, b, atol=1e-5))
    True
    """

    def __init__(self, image_size: int, *, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3),
                 flip_p: float = 0.5, jitter: float = 0.5, jitter_p: float = 0.8,
                 grayscale_p: float = 0.2, blur_p: float = 0.0, blur_sigma=(0.1, 2.0),
                 mean=None, std=None, jitter_order: str = "fixed"):
        self.image_size = check_positive(image_size, "image_size", integer=True)
        self.scale = _check_range(scale, "scale", low=0.0, high=1.0, open_low=True)
        self.ratio = _check_range(ratio, "ratio", low=0.0, high=math.inf, open_low=True)
        self.flip_p = check_fraction(flip_p, "flip_p")
        if isinstance(jitter, bool) or not isinstance(jitter, (int, float)):
            raise TypeError(f"jitter must be a number in [0, 2.5], got {type(jitter).__name__}")
        if not 0 <= jitter <= 2.5:
            raise ValueError(f"jitter must be in [0, 2.5] (hue shift 0.2 * jitter <= 0.5), "
                             f"got {jitter}")
        self.jitter = float(jitter)
        self.jitter_p = check_fraction(jitter_p, "jitter_p")
        self.grayscale_p = check_fraction(grayscale_p, "grayscale_p")
        self.blur_p = check_fraction(blur_p, "blur_p")
        self.blur_sigma = _check_range(blur_sigma, "blur_sigma", low=0.0, high=math.inf,
                                       open_low=True)
        self.blur_kernel = max(3, 2 * (int(0.1 * self.image_size) // 2) + 1)
        if self.blur_p > 0 and self.image_size <= self.blur_kernel // 2:
            raise ValueError(f"image_size must be > {self.blur_kernel // 2} for the blur's "
                             f"reflect padding, got {self.image_size}")
        self.mean, self.std = _check_stats(mean, "mean"), _check_stats(std, "std")
        if (self.mean is None) != (self.std is None):
            raise ValueError(f"mean and std must be given together, got mean={mean!r}, std={std!r}")
        if self.std is not None and len(self.mean) != len(self.std):
            raise ValueError(f"mean and std must have the same length, got {len(self.mean)} "
                             f"and {len(self.std)}")
        if self.std is not None and not all(v > 0 for v in self.std):
            raise ValueError(f"std must hold numbers > 0, got {std!r}")
        self.jitter_order = check_choice(jitter_order, "jitter_order", ("fixed", "random"))
        self._cache = None  # (key, _Work): the CPU work space, kept between calls

    def __repr__(self) -> str:
        names = ("scale", "ratio", "flip_p", "jitter", "jitter_p", "grayscale_p", "blur_p",
                 "blur_sigma", "mean", "std", "jitter_order")
        args = ", ".join(f"{n}={getattr(self, n)!r}" for n in names)
        return f"{type(self).__name__}({self.image_size}, {args})"

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_cache": None}  # pickles (DataLoader workers) stay small

    def sample(self, n: int, height: int, width: int, device=None) -> AugmentParams:
        """Draw the random parameters for ``n`` images of ``height x width`` pixels.

        All numbers come from one ``torch.rand`` call on ``device``; the crop follows
        torchvision's ``RandomResizedCrop.make_params`` (ten tries, then a central crop).
        """
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"n must be an int >= 0, got {n!r}")
        check_positive(height, "height", integer=True)
        check_positive(width, "width", integer=True)
        u = torch.rand(n, 35, device=device)
        s0, s1 = self.scale
        r0, r1 = math.log(self.ratio[0]), math.log(self.ratio[1])
        target = height * width * (s0 + (s1 - s0) * u[:, :10])
        aspect = torch.exp(r0 + (r1 - r0) * u[:, 10:20])
        w = torch.sqrt(target * aspect).round_()
        h = torch.sqrt(target / aspect).round_()
        ok = (w > 0) & (w <= width) & (h > 0) & (h <= height)
        first = ok.to(torch.uint8).argmax(1, keepdim=True)  # the first successful try
        found = ok.any(1)
        fw, fh = self._fallback_crop(height, width)
        w = torch.where(found, w.gather(1, first).squeeze(1), fw)
        h = torch.where(found, h.gather(1, first).squeeze(1), fh)
        top = torch.where(found, (u[:, 20] * (height - h + 1)).floor_(), (height - h) // 2)
        left = torch.where(found, (u[:, 21] * (width - w + 1)).floor_(), (width - w) // 2)

        b = 0.8 * self.jitter
        low = torch.tensor([max(0.0, 1 - b)] * 3 + [-0.2 * self.jitter], device=device)
        high = torch.tensor([1 + b] * 3 + [0.2 * self.jitter], device=device)
        identity = torch.tensor([1.0, 1.0, 1.0, 0.0], device=device)
        factors = torch.where((u[:, 23] < self.jitter_p).unsqueeze(1),
                              low + (high - low) * u[:, 24:28], identity)
        sigma = self.blur_sigma[0] + (self.blur_sigma[1] - self.blur_sigma[0]) * u[:, 34]
        return AugmentParams(
            box=torch.stack([top, left, h, w], 1).long(),
            flip=u[:, 22] < self.flip_p,
            factors=factors,
            order=u[:, 28:32].argsort(1) if self.jitter_order == "random" else None,
            grayscale=u[:, 32] < self.grayscale_p,
            sigma=torch.where(u[:, 33] < self.blur_p, sigma, 0.0))

    def _fallback_crop(self, height: int, width: int) -> tuple[float, float]:
        """torchvision's central crop when ten tries fail: (width, height)."""
        in_ratio = width / height
        if in_ratio < self.ratio[0]:
            return float(width), float(round(width / self.ratio[0]))
        if in_ratio > self.ratio[1]:
            return float(round(height * self.ratio[1])), float(height)
        return float(width), float(height)

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        self._check_images(images)
        n, _, height, width = images.shape
        return self.apply(images, self.sample(n, height, width, images.device))

    def _check_images(self, images) -> None:
        check_tensor(images, "images", ndim=4, dtypes=_DTYPES)
        n, c, height, width = images.shape
        if c not in (1, 3):
            raise ValueError(f"images must have 1 or 3 channels (N, C, H, W), got shape "
                             f"{tuple(images.shape)}")
        if height == 0 or width == 0:
            raise ValueError(f"images must have height and width >= 1, got shape "
                             f"{tuple(images.shape)}")
        if self.mean is not None and len(self.mean) not in (1, c):
            raise ValueError(f"mean and std must have 1 or {c} numbers for {c}-channel images, "
                             f"got {len(self.mean)}")

    def apply(self, images: torch.Tensor, params: AugmentParams) -> torch.Tensor:
        """Apply the given parameters (from :meth:`sample`) to ``images`` ``(N, C, H, W)``.

        Operations that this augmentation switches off (probability 0, or ``jitter=0``)
        are skipped whatever ``params`` says. Returns float32 ``(N, C, S, S)``.
        """
        self._check_images(images)
        n, c, height, width = images.shape
        if not isinstance(params, AugmentParams):
            raise TypeError(f"params must be an AugmentParams (from sample), got "
                            f"{type(params).__name__}")
        if params.box.shape != (n, 4):
            raise ValueError(f"params must hold one row per image ({n}), got box of shape "
                             f"{tuple(params.box.shape)}")
        s, device = self.image_size, images.device
        out = torch.empty((n, c, s, s), dtype=torch.float32, device=device)
        if device.type != "cpu":  # the whole batch at once, switched-off operations masked
            if n:
                self._render(images, params, out, self._work_space(n, c, height, width, device))
            return out
        # CPU: chunks of images sorted so that those with colour jitter and those turned
        # gray form contiguous runs; each operation then runs only where it was drawn
        jittered = self._jittered(params)
        grayed = params.grayscale & (c == 3 and self.grayscale_p > 0)
        key = torch.where(jittered, grayed.long(), 3 - grayed.long())  # J, J+G, G, none
        perm = key.argsort(stable=True)
        counts = torch.bincount(key, minlength=4).tolist()
        jit_stop, gray_start = counts[0] + counts[1], counts[0]
        gray_stop = jit_stop + counts[2]
        work = self._work_space(_CPU_CHUNK, c, height, width, device)
        for start in range(0, n, _CPU_CHUNK):
            stop = min(start + _CPU_CHUNK, n)
            idx = perm[start:stop]
            part = work.first(stop - start)
            self._render(images.index_select(0, idx), params[idx], part.views, part,
                         jit=_within(0, jit_stop, start, stop),
                         gray=_within(gray_start, gray_stop, start, stop))
            out.index_copy_(0, idx, part.views)
        return out

    def _jittered(self, params: AugmentParams) -> torch.Tensor:
        """bool ``(N,)``: the images whose colour jitter changes them (non-identity factors)."""
        if self.jitter == 0 or self.jitter_p == 0:
            return torch.zeros(len(params.factors), dtype=torch.bool, device=params.factors.device)
        identity = torch.tensor([1.0, 1.0, 1.0, 0.0], device=params.factors.device)
        return (params.factors != identity).any(1)

    def _work_space(self, chunk: int, c: int, height: int, width: int, device) -> "_Work":
        """Buffers for one chunk, kept between calls on the CPU, where fresh allocations
        of this size cost page faults (other devices' allocators cache them)."""
        key = (chunk, c, height, width, self.image_size, device)
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        s = self.image_size

        def empty(*shape):
            return torch.empty(shape, dtype=torch.float32, device=device)

        work = _Work(pixels=empty(chunk, c, height, width), product=empty(chunk, c * height, s),
                     rows=empty(chunk, s, height), cols=empty(chunk, s, width),
                     scratch=empty(6, chunk, s, s),
                     views=empty(chunk, c, s, s) if device.type == "cpu" else None)
        if device.type == "cpu":
            self._cache = (key, work)
        return work

    def _render(self, images, p: AugmentParams, out, work: "_Work", jit=slice(None),
                gray=None) -> None:
        """Write the views of ``images`` ``(M, C, H, W)`` into ``out`` ``(M, C, S, S)``.

        Colour jitter runs on the images ``jit`` (a slice); grayscale on the images
        ``gray`` (a slice), or where ``p.grayscale`` says if ``gray`` is None.
        """
        m, c, height, width = images.shape
        s = self.image_size
        box = p.box.float()
        rows = _resize_weights(box[:, 0], box[:, 2], None, height, s, out=work.rows)
        cols = _resize_weights(box[:, 1], box[:, 3], p.flip, width, s, out=work.cols,
                               gain=1.0 if images.is_floating_point() else 1 / 255)
        if images.dtype != torch.float32:
            images = work.pixels.copy_(images)
        # crop, resize and flip: out = rows @ x @ cols^T, image by image and channel by channel
        torch.bmm(images.reshape(m, c * height, width), cols.transpose(1, 2), out=work.product)
        torch.matmul(rows.unsqueeze(1), work.product.view(m, c, height, s), out=out)
        if self.jitter > 0 and self.jitter_p > 0:
            x = out[jit]
            _color_jitter_(x, p.factors[jit], None if p.order is None else p.order[jit],
                           work.scratch[:, :len(x)])
            x.clamp_(0, 1)
        if c == 3 and self.grayscale_p > 0:
            if gray is None:
                g = p.grayscale.float().view(-1, 1, 1)
                luma = _gray(out, work.scratch[0]).mul_(g)
                out.mul_((1 - g).unsqueeze(1)).add_(luma.unsqueeze(1))  # exact for 0/1 weights
            else:
                x = out[gray]
                x.copy_(_gray(x, work.scratch[0, :len(x)]).unsqueeze(1).expand_as(x))
        if self.blur_p > 0:
            out.copy_(_blur(out, _gaussian_kernels(p.sigma, self.blur_kernel)))
        if self.mean is not None:
            mean = torch.tensor(self.mean, device=out.device).view(1, -1, 1, 1)
            inv_std = 1 / torch.tensor(self.std, device=out.device).view(1, -1, 1, 1)
            torch.addcmul(-mean * inv_std, out, inv_std, out=out)


def _within(a: int, b: int, start: int, stop: int) -> slice:
    """The part of ``[a, b)`` inside the chunk ``[start, stop)``, relative to ``start``."""
    return slice(min(max(a, start), stop) - start, min(max(b, start), stop) - start)


@dataclasses.dataclass
class _Work:
    """Work space of :meth:`SimCLRAugment._render` for up to ``chunk`` images:
    float32 pixels ``(chunk, C, H, W)``, the crop's intermediate product
    ``(chunk, C*H, S)``, interpolation matrices rows ``(chunk, S, H)`` and cols
    ``(chunk, S, W)``, six scratch planes ``(6, chunk, S, S)`` and, on the CPU, the
    chunk's views ``(chunk, C, S, S)``."""

    pixels: torch.Tensor
    product: torch.Tensor
    rows: torch.Tensor
    cols: torch.Tensor
    scratch: torch.Tensor
    views: torch.Tensor | None

    def first(self, m: int) -> "_Work":
        return _Work(self.pixels[:m], self.product[:m], self.rows[:m], self.cols[:m],
                     self.scratch[:, :m], None if self.views is None else self.views[:m])


def _color_jitter_(x, factors, order, scratch) -> None:
    """Brightness, contrast, saturation and hue of ``x`` ``(M, C, S, S)``, in place: in
    this order if ``order`` is None, else in each image's order (``(M, 4)``), through the
    slots of :func:`_jitter_schedule`."""
    if len(x) == 0:
        return
    color = x.shape[1] == 3  # saturation and hue leave a single channel as it is
    brightness, contrast, saturation, hue = factors.unbind(1)
    if order is None:
        _blend_(x, brightness, scratch[0])
        _blend_(x, contrast, scratch[0], w_mean=1 - contrast)
        if color:
            _blend_(x, saturation, scratch[0], w_luma=1 - saturation)
            _adjust_hue_(x, 6 * hue, scratch)
        return
    ops = _jitter_schedule(order)  # (M, 6)
    ones = torch.ones_like(brightness)
    a = torch.stack([brightness, contrast, saturation if color else ones, ones], 1).gather(1, ops)
    w_mean, w_luma = (ops == _CONTRAST) * (1 - a), (ops == _SATURATION) * (1 - a)
    for k in range(6):
        if k == 3 and color:
            _adjust_hue_(x, 6 * hue, scratch)
        _blend_(x, a[:, k], scratch[0], w_mean=w_mean[:, k], w_luma=w_luma[:, k])


def _gaussian_kernels(sigma: torch.Tensor, size: int) -> torch.Tensor:
    """Normalised Gaussian kernels ``(N, size)``, one per ``sigma`` ``(N,)``; sigma 0
    gives the identity kernel."""
    t = torch.arange(size, device=sigma.device, dtype=torch.float32) - (size - 1) / 2
    logits = -0.5 * (t / sigma.clamp(min=1e-6).view(-1, 1)) ** 2
    return torch.where((sigma > 0).view(-1, 1), logits.softmax(1), (t == 0).float())


def _blur(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Separable blur of ``x`` ``(N, C, H, W)`` with one kernel ``(N, k)`` per image and
    reflect padding (as ``gaussian_blur``): a grouped convolution per direction."""
    n, c, height, width = x.shape
    k = kernel.shape[1]
    weight = kernel.repeat_interleave(c, 0)  # (N * C, k): one filter per channel
    y = F.pad(x.reshape(1, n * c, height, width), [k // 2] * 4, mode="reflect")
    y = F.conv2d(y, weight.view(n * c, 1, 1, k), groups=n * c)
    y = F.conv2d(y, weight.view(n * c, 1, k, 1), groups=n * c)
    return y.view(n, c, height, width)


def simclr_transform(image_size: int, *, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3),
                     flip_p: float = 0.5, jitter: float = 0.5, jitter_p: float = 0.8,
                     grayscale_p: float = 0.2, blur_p: float = 0.0, blur_sigma=(0.1, 2.0),
                     mean=None, std=None, jitter_order: str = "fixed"):
    """SimCLR's recipe as a per-image ``torchvision.transforms.v2`` pipeline.

    The same steps and arguments as :class:`SimCLRAugment`, for one image ``(C, H, W)``
    (uint8 or float tensor, or PIL image) at a time, e.g. in a ``DataLoader``'s workers.
    Returns float32 ``(C, S, S)``. On uint8 input torchvision rounds to uint8 after each
    colour operation, so its views differ from :class:`SimCLRAugment`'s by a few 1/255.

    Parameters
    ----------
    As :class:`SimCLRAugment`.

    References
    ----------
    Chen et al. (2020a), Appendix A. https://arxiv.org/abs/2002.05709

    Example
    -------
    >>> t = simclr_transform(32)
    >>> t(torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8)).shape
    torch.Size([3, 32, 32])
    """
    from torchvision.transforms import v2

    spec = SimCLRAugment(image_size, scale=scale, ratio=ratio, flip_p=flip_p, jitter=jitter,
                         jitter_p=jitter_p, grayscale_p=grayscale_p, blur_p=blur_p,
                         blur_sigma=blur_sigma, mean=mean, std=std,
                         jitter_order=jitter_order)  # validates the arguments
    s = spec.jitter
    if spec.jitter_order == "random":
        jitter_step = v2.ColorJitter(0.8 * s, 0.8 * s, 0.8 * s, 0.2 * s)
    else:
        jitter_step = v2.Compose([v2.ColorJitter(brightness=0.8 * s),
                                  v2.ColorJitter(contrast=0.8 * s),
                                  v2.ColorJitter(saturation=0.8 * s), v2.ColorJitter(hue=0.2 * s)])
    steps = [
        v2.ToImage(),
        v2.RandomResizedCrop(spec.image_size, scale=spec.scale, ratio=spec.ratio, antialias=True),
        v2.RandomHorizontalFlip(spec.flip_p),
        v2.RandomApply([jitter_step], p=spec.jitter_p),
        v2.RandomGrayscale(spec.grayscale_p),
        v2.RandomApply([v2.GaussianBlur(spec.blur_kernel, spec.blur_sigma)], p=spec.blur_p),
        v2.ToDtype(torch.float32, scale=True),
    ]
    if spec.mean is not None:
        steps.append(v2.Normalize(list(spec.mean), list(spec.std)))
    return v2.Compose(steps)


class TwoViews:
    """Two independent views of one input: ``x -> (transform(x), transform(x))``.

    Parameters
    ----------
    transform: any callable, e.g. :func:`simclr_transform` (per image, as a dataset's
        ``transform``) or :class:`SimCLRAugment` (per batch).

    Example
    -------
    >>> two = TwoViews(simclr_transform(32))
    >>> v1, v2 = two(torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8))
    >>> v1.shape == v2.shape
    True
    """

    def __init__(self, transform):
        if not callable(transform):
            raise TypeError(f"transform must be callable, got {type(transform).__name__}")
        self.transform = transform

    def __call__(self, x):
        return self.transform(x), self.transform(x)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.transform!r})"
