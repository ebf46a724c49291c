"""Points on 2-D manifolds rolled up in 3-D, for manifold visualization (PCA vs t-SNE vs UMAP).

Thin wrappers over scikit-learn's generators that fix the argument names and the seed.

Example
-------
>>> from course_utils.data import swiss_roll
>>> X, t = swiss_roll(500, noise=0.1)
>>> X.shape, t.shape
((500, 3), (500,))
"""
from __future__ import annotations

import numpy as np

from .._validate import check_positive
from .._validate import check_seed


def swiss_roll(n: int, *, noise: float = 0.0, seed: int = 0, hole: bool = False):
    """Sample the swiss roll: a rectangle rolled up into a spiral in 3-D.

    Parameters
    ----------
    n : number of points.
    noise : standard deviation of the Gaussian noise added to each coordinate (>= 0).
    seed : the points are a function of ``(n, noise, seed, hole)``.
    hole : cut a rectangular hole out of the rectangle (a manifold that is not simply connected).

    Returns
    -------
    X : float64 ndarray ``(n, 3)``, the points.
    t : float64 ndarray ``(n,)``, each point's position along the spiral (the main
        intrinsic coordinate; colour the points by it).

    Example
    -------
    >>> X, t = swiss_roll(100, seed=1)
    >>> bool(t.min() >= 1.5 * np.pi and t.max() <= 4.5 * np.pi)
    True
    """
    from sklearn.datasets import make_swiss_roll  # imported on use: scikit-learn takes ~1 s to import

    check_positive(n, "n", integer=True)
    return make_swiss_roll(n, noise=_check_noise(noise), random_state=check_seed(seed), hole=bool(hole))


def s_curve(n: int, *, noise: float = 0.0, seed: int = 0):
    """Sample the S-curve: a rectangle bent into an S in 3-D.

    Parameters
    ----------
    n : number of points.
    noise : standard deviation of the Gaussian noise added to each coordinate (>= 0).
    seed : the points are a function of ``(n, noise, seed)``.

    Returns
    -------
    X : float64 ndarray ``(n, 3)``, the points.
    t : float64 ndarray ``(n,)``, each point's position along the S (colour by it).

    Example
    -------
    >>> X, t = s_curve(100)
    >>> X.shape
    (100, 3)
    """
    from sklearn.datasets import make_s_curve

    check_positive(n, "n", integer=True)
    return make_s_curve(n, noise=_check_noise(noise), random_state=check_seed(seed))


def _check_noise(noise) -> float:
    if isinstance(noise, bool) or not isinstance(noise, (int, float, np.floating)):
        raise TypeError(f"noise must be a number >= 0, got {type(noise).__name__}")
    if not 0 <= noise < float("inf"):
        raise ValueError(f"noise must be a finite number >= 0, got {noise}")
    return float(noise)
