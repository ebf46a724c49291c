"""Datasets of the course, all as one container: :class:`ImageDataset` (uint8 images, labels, factors).

Embedded (no download, deterministic): ``"shapes"`` (:func:`make_shapes`, known factors of
variation and an optional spurious background), ``"digits"`` (scikit-learn's 8x8 digits),
and the swiss roll and S-curve point clouds (:func:`swiss_roll`, :func:`s_curve`).
Downloaded into :func:`data_root`: ``"cifar10"``, ``"stl10"`` and CIFAR-10N's human noisy
labels (:func:`load_cifar10n`); offline, a missing file fails at once with instructions.

Example
-------
>>> from course_utils.data import load_dataset, to_float
>>> train = load_dataset("shapes", "train", n=512, spurious=0.9)
>>> test = load_dataset("shapes", "test", n=256)       # always unbiased
>>> x = to_float(train.images[:8])                     # float32 in [0, 1], (8, 3, 32, 32)
>>> train.classes
['circle', 'square', 'triangle', 'cross', 'ring']
"""
from __future__ import annotations

from .._validate import check_choice, check_fraction, check_positive
from .._validate import check_seed
from .cifar10n import load_cifar10n
from .dataset import UNLABELED, ImageDataset, to_float
from .digits import load_digits
from .download import data_root
from .manifolds import s_curve, swiss_roll
from .shapes import FACTORS, make_shapes
from .torchvision_sets import load_cifar10, load_stl10

__all__ = ["ImageDataset", "to_float", "UNLABELED", "load_dataset", "DATASETS", "make_shapes", "FACTORS",
           "data_root", "load_cifar10n", "swiss_roll", "s_curve"]

SPLITS = {
    "digits": ("train", "test"),
    "shapes": ("train", "test"),
    "cifar10": ("train", "test"),
    "stl10": ("train", "test", "unlabeled", "train+unlabeled"),
}
DATASETS = tuple(SPLITS)
SHAPES_TEST_SEED_OFFSET = 1_000_003
"""The shapes test split of ``seed`` is ``make_shapes(..., seed=seed + SHAPES_TEST_SEED_OFFSET)``."""


def load_dataset(name: str, split: str = "train", root=None, download: bool = False,
                 **kwargs) -> ImageDataset:
    """Load one split of a course dataset as an :class:`ImageDataset` (uint8 ``(N, C, H, W)``).

    Parameters
    ----------
    name : one of :data:`DATASETS`:

        - ``"shapes"``: :func:`make_shapes`, RGB ``image_size`` x ``image_size`` (embedded).
        - ``"digits"``: scikit-learn's digits, grey 8x8, 1,437 train / 360 test (embedded).
        - ``"cifar10"``: CIFAR-10 (Krizhevsky, 2009), RGB 32x32, 50,000 / 10,000 (downloaded).
        - ``"stl10"``: STL-10 (Coates et al., 2011), RGB 96x96, 5,000 / 8,000 and 100,000
          unlabeled (downloaded).
    split : ``"train"`` or ``"test"``; STL-10 also has ``"unlabeled"`` and ``"train+unlabeled"``.
    root : folder of the downloaded datasets, see :func:`data_root` (unused by embedded ones).
    download : download a missing dataset; otherwise a missing one raises ``FileNotFoundError``
        naming the file, its URL and the folder to put it in.
    **kwargs :
        n : int, how many images. For ``"shapes"`` the default is the run profile's
            ``n_train`` or ``n_test`` (:func:`course_utils.profile`); for the others, the
            first ``n`` images of the split (default: all).
        image_size, spurious, seed : ``"shapes"`` only, as in :func:`make_shapes`
            (``image_size`` defaults to the profile's). The test split uses the seed
            ``seed + SHAPES_TEST_SEED_OFFSET``, so it never repeats a training image's
            random draws, and ignores ``spurious``: the test split is always unbiased, as
            in Waterbirds (Izmailov et al., 2022).

    Returns
    -------
    :class:`ImageDataset`.

    Example
    -------
    >>> digits = load_dataset("digits", "test")
    >>> digits.images.shape, digits.classes[:3]
    (torch.Size([360, 1, 8, 8]), ['0', '1', '2'])
    """
    check_choice(name, "name", DATASETS)
    check_choice(split, "split", SPLITS[name])
    allowed = {"n", "image_size", "spurious", "seed"} if name == "shapes" else {"n"}
    unexpected = sorted(set(kwargs) - allowed)
    if unexpected:
        raise TypeError(f"load_dataset({name!r}) got unexpected keyword arguments {unexpected}; it takes n, "
                        "and 'shapes' also takes image_size, spurious and seed")
    n = kwargs.pop("n", None)
    if n is not None:
        check_positive(n, "n", integer=True)
    if name == "shapes":
        return _load_shapes(split, n, **kwargs)
    if name == "digits":
        dataset = load_digits(split)
    elif name == "cifar10":
        dataset = load_cifar10(split, root, download)
    else:
        dataset = load_stl10(split, root, download)
    if n is None:
        return dataset
    if n > len(dataset):
        raise ValueError(f"n must be at most {len(dataset)} (the size of {name}'s {split!r} split), got {n}")
    return dataset.subset(slice(0, n))


def _load_shapes(split: str, n=None, *, image_size=None, spurious=0.0, seed=0) -> ImageDataset:
    from ..runtime import profile

    budget = profile()
    if n is None:
        n = budget.n_train if split == "train" else budget.n_test
    if image_size is None:
        image_size = budget.image_size
    seed, spurious = check_seed(seed), check_fraction(spurious, "spurious")
    if split == "test":
        seed, spurious = seed + SHAPES_TEST_SEED_OFFSET, 0.0
    return make_shapes(n, image_size=image_size, seed=seed, spurious=spurious)
