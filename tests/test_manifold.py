"""course_utils.manifold: embeddings against scikit-learn, neighbourhood preservation
against a loop and its limits. UMAP is called once (numba compiles it for 20-25 s)."""
import subprocess
import sys

import numpy as np
import pytest
import torch
from sklearn.datasets import make_swiss_roll
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE
from sklearn.manifold import trustworthiness as sklearn_trustworthiness

from course_utils.manifold import embed, knn_preservation, trustworthiness


@pytest.fixture(scope="module")
def roll():
    X, t = make_swiss_roll(300, random_state=0)
    return X, t


def loop_preservation(X_high, X_low, k):
    """Reference: for each point, its k nearest others in both spaces, by brute force."""
    kept = []
    for i in range(len(X_high)):
        neighbours = []
        for X in (X_high, X_low):
            d = np.linalg.norm(X - X[i], axis=1)
            d[i] = np.inf
            neighbours.append(set(np.argsort(d, kind="stable")[:k].tolist()))
        kept.append(len(neighbours[0] & neighbours[1]) / k)
    return float(np.mean(kept))


def test_pca_is_sklearns_pca(roll):
    X, _ = roll
    Y = embed(torch.tensor(X), "pca", n_components=2)
    assert Y.dtype == np.float64 and Y.shape == (300, 2)
    np.testing.assert_allclose(Y, PCA(2).fit_transform(X), atol=1e-10)


def test_tsne_is_sklearns_recommended_tsne_and_is_seeded(roll):
    X, _ = roll
    Y = embed(X, "tsne", perplexity=20, max_iter=300)
    tsne = TSNE(2, init="pca", learning_rate="auto", perplexity=20, max_iter=300, random_state=0)
    reference = tsne.fit_transform(X)
    np.testing.assert_allclose(Y, reference, atol=1e-6)
    assert knn_preservation(X, Y, k=10) > 0.5  # t-SNE keeps neighbourhoods


def test_umap_embeds_and_keeps_neighbourhoods(roll):  # the suite's only UMAP call
    X, _ = roll
    Y = embed(X[:150], "umap", n_neighbors=10)
    assert Y.dtype == np.float64 and Y.shape == (150, 2) and np.isfinite(Y).all()
    assert knn_preservation(X[:150], Y, k=10) > 0.4


def test_umap_is_not_imported_with_the_module():
    code = "import sys, course_utils.manifold; assert 'umap' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("k", [1, 5, 15])
def test_knn_preservation_matches_a_loop(k):
    rng = np.random.default_rng(k)
    X_high = rng.normal(size=(120, 6))
    X_low = X_high[:, :2] + 0.3 * rng.normal(size=(120, 2))
    assert knn_preservation(X_high, X_low, k=k) == pytest.approx(loop_preservation(X_high, X_low, k))


def test_knn_preservation_limits():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 5))
    rotation, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    assert knn_preservation(X, 2.0 * X @ rotation + 7.0, k=10) == 1.0  # similarity: nothing changes
    assert knn_preservation(torch.tensor(X), torch.tensor(X), k=10) == 1.0
    random = [knn_preservation(X, rng.normal(size=(400, 2)), k=10) for _ in range(5)]
    assert np.mean(random) == pytest.approx(10 / 399, abs=0.01)


def test_knn_preservation_excludes_the_point_itself_even_among_duplicates():
    X = np.repeat(np.arange(10.0)[:, None], 2, axis=0)  # every point twice
    # each point's nearest other is its twin, in both spaces
    assert knn_preservation(X, X, k=1) == 1.0
    assert knn_preservation(X, X, k=1) == loop_preservation(X, X, 1)


def test_trustworthiness_is_sklearns(roll):
    X, _ = roll
    Y = embed(X, "pca")
    assert trustworthiness is sklearn_trustworthiness
    assert 0.5 < trustworthiness(X, Y, n_neighbors=10) <= 1.0


@pytest.mark.parametrize("call, match, error", [
    (lambda X: embed(X, "mds"), "method", ValueError),
    (lambda X: embed(X[:, 0]), "X", ValueError),
    (lambda X: embed(X.tolist()), "X", TypeError),
    (lambda X: embed(X, n_components=0), "n_components", ValueError),
    (lambda X: embed(X, seed=-3), "seed", ValueError),
    (lambda X: knn_preservation(X, X[:-1]), "X_low", ValueError),
    (lambda X: knn_preservation(X, X, k=len(X)), "k", ValueError),
    (lambda X: knn_preservation(X, X, k=2.5), "k", TypeError),
])
def test_bad_arguments_are_named(call, match, error, roll):
    with pytest.raises(error, match=match):
        call(roll[0][:50])
