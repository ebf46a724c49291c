"""augment: SimCLRAugment against torchvision's per-image kernels, its random rates, devices,
seeding and argument checks; simclr_transform and TwoViews."""
import math
import pickle

import pytest
import torch
from PIL import Image
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as TF

from course_utils.augment import AugmentParams, SimCLRAugment, TwoViews, simclr_transform

ATOL = 1e-5


def _images(n, c=3, h=32, w=32, seed=0):
    """uint8 images with flat regions, ties between channels and saturated colours mixed in."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (n, c, h, w), dtype=torch.uint8, generator=g)
    x[:, :, :4, :4] = 128  # gray patch (max == min)
    if c == 3:
        x[:, 1, 4:8] = x[:, 0, 4:8]  # red == green rows
        x[:, 2, 8:10] = x[:, 1, 8:10]  # green == blue rows
        x[:, :, 10, :] = torch.tensor([255, 0, 0], dtype=torch.uint8).view(3, 1)  # pure red
    return x


def _reference(images, p: AugmentParams, size, blur_kernel):
    """The same views one image at a time with torchvision.transforms.v2.functional."""
    out = []
    for i, img in enumerate(images):
        top, left, h, w = p.box[i].tolist()
        y = TF.resized_crop(img, top, left, h, w, [size, size], antialias=True)
        if p.flip[i]:
            y = TF.hflip(y)
        adjust = (TF.adjust_brightness, TF.adjust_contrast, TF.adjust_saturation, TF.adjust_hue)
        factors = p.factors[i].tolist()
        for op in range(4) if p.order is None else p.order[i].tolist():
            y = adjust[op](y, factors[op])
        if p.grayscale[i]:
            y = TF.rgb_to_grayscale(y, num_output_channels=y.shape[0])
        if p.sigma[i] > 0:
            y = TF.gaussian_blur(y, [blur_kernel] * 2, [p.sigma[i].item()] * 2)
        out.append(y)
    return torch.stack(out)


@pytest.mark.parametrize("order", ["fixed", "random"])
@pytest.mark.parametrize("c, n, hw, size", [(3, 160, (32, 32), 32), (3, 24, (40, 36), 24),
                                            (1, 24, (8, 8), 16)])
def test_all_ops_match_torchvision_image_by_image(order, c, n, hw, size):
    # n = 160 crosses the CPU chunk boundary; 40x36 -> 24 downscales (antialiasing),
    # 8 -> 16 upscales
    aug = SimCLRAugment(size, jitter=1.0, jitter_p=0.9, grayscale_p=0.3, blur_p=0.5,
                        jitter_order=order)
    x = _images(n, c, *hw).float() / 255
    p = aug.sample(n, *hw)
    ref = _reference(x, p, size, aug.blur_kernel)
    torch.testing.assert_close(aug.apply(x, p), ref, atol=ATOL, rtol=0)


def _params(n, box, *, flip=False, factors=(1.0, 1.0, 1.0, 0.0), gray=False, sigma=0.0):
    return AugmentParams(box=torch.tensor([box] * n), flip=torch.full((n,), flip),
                         factors=torch.tensor([factors] * n), order=None,
                         grayscale=torch.full((n,), gray), sigma=torch.full((n,), sigma))


@pytest.mark.parametrize("name, kwargs, ref", [
    ("crop", dict(box=(3, 5, 20, 12)), lambda t: TF.resized_crop(t, 3, 5, 20, 12, [24, 24])),
    ("hflip", dict(box=(0, 0, 32, 32), flip=True), TF.hflip),
    ("brightness", dict(box=(0, 0, 32, 32), factors=(1.7, 1, 1, 0)),
     lambda t: TF.adjust_brightness(t, 1.7)),
    ("contrast", dict(box=(0, 0, 32, 32), factors=(1, 0.3, 1, 0)),
     lambda t: TF.adjust_contrast(t, 0.3)),
    ("saturation", dict(box=(0, 0, 32, 32), factors=(1, 1, 1.9, 0)),
     lambda t: TF.adjust_saturation(t, 1.9)),
    ("hue+", dict(box=(0, 0, 32, 32), factors=(1, 1, 1, 0.5)), lambda t: TF.adjust_hue(t, 0.5)),
    ("hue-", dict(box=(0, 0, 32, 32), factors=(1, 1, 1, -0.37)),
     lambda t: TF.adjust_hue(t, -0.37)),
    ("grayscale", dict(box=(0, 0, 32, 32), gray=True), lambda t: TF.rgb_to_grayscale(t, 3)),
    ("blur", dict(box=(0, 0, 32, 32), sigma=1.3), lambda t: TF.gaussian_blur(t, [9, 9], [1.3, 1.3])),
])
def test_each_op_matches_torchvision(name, kwargs, ref):
    size = 24 if name == "crop" else 32
    aug = SimCLRAugment(size, jitter=2.5, jitter_p=1.0, grayscale_p=1.0, blur_p=1.0)
    aug.blur_kernel = 9
    x = _images(6).float() / 255
    out = aug.apply(x, _params(len(x), **kwargs))
    torch.testing.assert_close(out, torch.stack([ref(t) for t in x]).clamp(0, 1), atol=ATOL, rtol=0)


def test_identity_parameters_return_the_image():
    aug = SimCLRAugment(32, jitter_p=1.0, grayscale_p=1.0, blur_p=1.0)
    x = _images(5)
    out = aug.apply(x, _params(5, (0, 0, 32, 32)))
    torch.testing.assert_close(out, x.float() / 255, atol=ATOL, rtol=0)


def test_crop_distribution_matches_torchvision():
    n, (h, w) = 20000, (24, 40)
    p = SimCLRAugment(16).sample(n, h, w)
    top, left, ch, cw = p.box.double().unbind(1)
    assert (top >= 0).all() and (left >= 0).all() and (top + ch <= h).all() and (left + cw <= w).all()
    rrc = v2.RandomResizedCrop(16, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3))
    ref = torch.tensor([[d["height"], d["width"]] for d in
                        (rrc.make_params([torch.empty(3, h, w)]) for _ in range(4000))]).double()
    ours = torch.stack([ch, cw], 1)
    # means and spreads of the crop's sides agree within a few standard errors
    se = ref.std(0) / math.sqrt(len(ref))
    assert ((ours.mean(0) - ref.mean(0)).abs() < 5 * se).all()
    assert ((ours.std(0) - ref.std(0)).abs() < 0.05 * ref.std(0)).all()
    area = (ch * cw / (h * w))
    assert area.min() >= 0.08 - 0.03 and area.max() <= 1.0


def test_jitter_factors_and_order_distribution():
    n = 24000
    p = SimCLRAugment(8, jitter=0.5, jitter_p=1.0, jitter_order="random").sample(n, 8, 8)
    b, c, s, hue = p.factors.unbind(1)
    for f in (b, c, s):
        assert f.min() >= 0.6 and f.max() <= 1.4 and abs(f.mean() - 1.0) < 0.01
    assert hue.min() >= -0.1 and hue.max() <= 0.1 and abs(hue.mean()) < 0.002
    assert (p.order.sort(1).values == torch.arange(4)).all()  # permutations
    counts = torch.unique(p.order, dim=0, return_counts=True)[1]
    assert len(counts) == 24 and (counts - n / 24).abs().max() < 5 * math.sqrt(n / 24)
    assert SimCLRAugment(8).sample(4, 8, 8).order is None  # fixed order by default


def _rate(hits, p, n):
    return abs(hits / n - p) < 5 * math.sqrt(p * (1 - p) / n)


def test_flip_grayscale_jitter_happen_at_their_rates():
    n = 4000
    x = _images(1).expand(n, -1, -1, -1)
    full = dict(scale=(1.0, 1.0), ratio=(1.0, 1.0))
    views = SimCLRAugment(32, flip_p=0.3, jitter_p=0, grayscale_p=0, **full)(x)
    flipped = (views - TF.hflip(x[:1].float() / 255)).abs().amax((1, 2, 3)) < ATOL
    assert _rate(flipped.sum().item(), 0.3, n)
    views = SimCLRAugment(32, flip_p=0, jitter_p=0, grayscale_p=0.2, **full)(x)
    gray = (views - views[:, :1]).abs().amax((1, 2, 3)) < ATOL
    assert _rate(gray.sum().item(), 0.2, n)
    views = SimCLRAugment(32, flip_p=0, jitter_p=0.8, grayscale_p=0, **full)(x)
    changed = (views - x.float() / 255).abs().amax((1, 2, 3)) > 1e-3
    assert _rate(changed.sum().item(), 0.8, n)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32, torch.float64, torch.float16])
@pytest.mark.parametrize("c, hw, size", [(3, (32, 32), 32), (1, (8, 8), 8), (3, (20, 28), 12)])
def test_output_shape_dtype_range(dtype, c, hw, size):
    x = _images(7, c, *hw)
    x = x if dtype == torch.uint8 else (x.to(dtype) / 255)
    out = SimCLRAugment(size, blur_p=0.5)(x)
    assert out.shape == (7, c, size, size) and out.dtype == torch.float32
    assert out.min() >= 0 and out.max() <= 1


def test_uint8_and_float_input_give_the_same_views():
    x = _images(20)
    aug = SimCLRAugment(32, blur_p=0.5)
    torch.manual_seed(3)
    a = aug(x)
    torch.manual_seed(3)
    b = aug(x.float() / 255)
    torch.testing.assert_close(a, b, atol=ATOL, rtol=0)


def test_seeded_views_are_reproducible_and_views_differ():
    x = _images(8)
    aug = SimCLRAugment(32)
    torch.manual_seed(1)
    a1, a2 = aug(x), aug(x)
    torch.manual_seed(1)
    assert torch.equal(aug(x), a1) and torch.equal(aug(x), a2)
    assert not torch.allclose(a1, a2)


def test_normalisation():
    x = _images(4)
    mean, std = (0.4, 0.5, 0.6), (0.2, 0.25, 0.3)
    torch.manual_seed(0)
    plain = SimCLRAugment(32)(x)
    torch.manual_seed(0)
    normed = SimCLRAugment(32, mean=mean, std=std)(x)
    ref = (plain - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    torch.testing.assert_close(normed, ref, atol=ATOL, rtol=0)


def test_meta_device_and_empty_batch():
    aug = SimCLRAugment(16, blur_p=0.5, mean=[0.5], std=[0.5])
    for order in ("fixed", "random"):
        aug.jitter_order = order
        out = aug(torch.empty(5, 3, 32, 32, dtype=torch.uint8, device="meta"))
        assert out.device.type == "meta" and out.shape == (5, 3, 16, 16)
    assert aug(torch.zeros(0, 1, 8, 8)).shape == (0, 1, 16, 16)


def test_instance_pickles_without_work_space():
    aug = SimCLRAugment(32)
    aug(_images(2))
    copy = pickle.loads(pickle.dumps(aug))
    assert copy._cache is None and repr(copy) == repr(aug)


@pytest.mark.gpu
def test_cuda_matches_cpu():
    x = _images(300)
    aug = SimCLRAugment(24, jitter=1.0, blur_p=0.5, jitter_order="random")
    p = aug.sample(len(x), 32, 32)
    cpu = aug.apply(x, p)
    moved = AugmentParams(*(getattr(p, f).cuda() for f in
                            ("box", "flip", "factors", "order", "grayscale", "sigma")))
    gpu = aug.apply(x.cuda(), moved)
    assert gpu.device.type == "cuda"
    torch.testing.assert_close(gpu.cpu(), cpu, atol=1e-4, rtol=0)
    assert aug(x.cuda()).device.type == "cuda"


@pytest.mark.parametrize("images, exc", [
    ([[1]], TypeError), (torch.zeros(3, 32, 32), ValueError),
    (torch.zeros(2, 3, 8, 8, dtype=torch.int32), TypeError), (torch.zeros(2, 2, 8, 8), ValueError),
    (torch.zeros(2, 3, 0, 8), ValueError),
])
def test_bad_images_raise_naming_the_argument(images, exc):
    with pytest.raises(exc, match="images"):
        SimCLRAugment(8)(images)


@pytest.mark.parametrize("kwargs, name", [
    (dict(image_size=0), "image_size"), (dict(image_size=3.0), "image_size"),
    (dict(scale=(0.0, 1.0)), "scale"), (dict(scale=(0.6, 0.5)), "scale"),
    (dict(scale=(0.5, 1.5)), "scale"), (dict(scale=0.5), "scale"), (dict(ratio=(0, 1)), "ratio"),
    (dict(flip_p=1.5), "flip_p"), (dict(jitter=3.0), "jitter"), (dict(jitter="0.5"), "jitter"),
    (dict(jitter_p=-0.1), "jitter_p"), (dict(grayscale_p=2), "grayscale_p"),
    (dict(blur_p=-1), "blur_p"), (dict(blur_sigma=(0, 1)), "blur_sigma"),
    (dict(mean=(0.5,)), "mean and std"), (dict(mean=(0.5,), std=(0.0,)), "std"),
    (dict(mean=(0.5, 0.5), std=(1, 1)), "mean"), (dict(jitter_order="shuffle"), "jitter_order"),
])
def test_bad_arguments_raise_naming_the_argument(kwargs, name):
    kwargs = {"image_size": 32, **kwargs}
    with pytest.raises((TypeError, ValueError), match=name):
        SimCLRAugment(**kwargs)
    with pytest.raises((TypeError, ValueError), match=name):
        simclr_transform(**kwargs)


def test_bad_params_and_channel_statistics_raise():
    aug = SimCLRAugment(8)
    with pytest.raises(ValueError, match="params"):
        aug.apply(torch.zeros(3, 3, 8, 8), aug.sample(2, 8, 8))
    with pytest.raises(TypeError, match="params"):
        aug.apply(torch.zeros(3, 3, 8, 8), {"box": None})
    with pytest.raises(ValueError, match="mean and std"):
        SimCLRAugment(8, mean=(0.1, 0.2, 0.3), std=(1, 1, 1))(torch.zeros(2, 1, 8, 8))


@pytest.mark.parametrize("order", ["fixed", "random"])
def test_simclr_transform_is_the_same_recipe(order):
    x = _images(1)[0]
    t = simclr_transform(32, jitter_order=order)
    views = torch.stack([t(x.float() / 255) for _ in range(1000)])
    assert views.shape == (1000, 3, 32, 32) and views.dtype == torch.float32
    ours = SimCLRAugment(32, jitter_order=order)(x.expand(4000, -1, -1, -1))
    # the same distribution of views: per-channel mean and spread, and the gray rate
    assert (views.mean((0, 2, 3)) - ours.mean((0, 2, 3))).abs().max() < 0.01
    assert (views.std((0, 2, 3)) - ours.std((0, 2, 3))).abs().max() < 0.01
    gray = [(v - v[:1]).abs().amax((1, 2, 3)).lt(ATOL).float().mean() for v in (views, ours)]
    assert abs(gray[0] - gray[1]) < 0.05


def test_simclr_transform_inputs_and_identity_settings():
    x = _images(1)[0]
    t = simclr_transform(32, scale=(1.0, 1.0), ratio=(1.0, 1.0), flip_p=0, jitter_p=0,
                         grayscale_p=0)
    torch.testing.assert_close(t(x), x.float() / 255)
    pil = Image.fromarray(x.permute(1, 2, 0).numpy())
    torch.testing.assert_close(t(pil), x.float() / 255)
    out = simclr_transform(16, mean=(0.5,), std=(0.5,))(torch.rand(1, 8, 8))
    assert out.shape == (1, 16, 16) and out.min() >= -1 and out.max() <= 1


def test_two_views():
    calls = []
    two = TwoViews(lambda x: calls.append(x) or len(calls))
    assert two("img") == (1, 2) and calls == ["img", "img"]
    v1, v2_ = TwoViews(SimCLRAugment(32))(_images(4))
    assert v1.shape == v2_.shape == (4, 3, 32, 32) and not torch.equal(v1, v2_)
    with pytest.raises(TypeError, match="transform"):
        TwoViews(3)
