"""The standard ways to evaluate a frozen self-supervised encoder.

- :func:`extract_features`: run the frozen encoder ``g`` over images, once.
- :func:`linear_probe`: accuracy of a linear classifier ``W g(x)`` trained on those
  features with cross-entropy (the lecture's linear-probing protocol).
- :func:`knn_accuracy` (and :func:`knn_predict`): weighted k-nearest-neighbour vote in
  cosine similarity (Wu et al., 2018), no training at all.
- :func:`kmeans_nmi`: how well k-means clusters of the features match the classes.

References
----------
Wu, Xiong, Yu & Lin (2018). Unsupervised feature learning via non-parametric
instance discrimination. CVPR. (the weighted kNN monitor)
Radford et al. (2021). Learning transferable visual models from natural language
supervision. ICML. (linear probes as L2-regularised logistic regression with L-BFGS)

Example
-------
>>> import torch
>>> import course_utils as cu
>>> from course_utils.evaluate import extract_features, linear_probe, knn_accuracy
>>> train, test = cu.data.load_dataset("digits", "train"), cu.data.load_dataset("digits", "test")
>>> encoder = torch.nn.Flatten()                  # raw pixels as "features"
>>> train_x, test_x = extract_features(encoder, train.images), extract_features(encoder, test.images)
>>> linear_probe(train_x, train.labels, test_x, test.labels) > 0.9
True
>>> knn_accuracy(train_x, train.labels, test_x, test.labels, k=5) > 0.9
True
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from torch import nn

from ._validate import check_labels, check_positive, check_same_device, check_seed, check_tensor
from .data import to_float

# kNN similarities are computed for this many (test, train) pairs at a time (64 MB of float32).
KNN_CHUNK_PAIRS = 2**24


def extract_features(encoder: nn.Module, images: torch.Tensor, *, batch_size: int = 256,
                     device=None) -> torch.Tensor:
    """Features of a frozen encoder: ``g(x)`` for every image, computed in batches.

    The encoder runs in eval mode (BatchNorm uses its running statistics and does not
    update them, dropout is off) under ``torch.no_grad()``; afterwards every submodule
    is back in the train/eval mode it had, and no parameter or buffer has changed.
    ``no_grad`` rather than ``inference_mode``: the returned features are ordinary
    tensors, so a probe can be trained on them with autograd.

    Parameters
    ----------
    encoder : nn.Module mapping float images (B, C, H, W) in [0, 1] to features (B, D).
        Pass the backbone (e.g. ``model.encoder`` of a SimCLRNet), not a model that
        returns a tuple.
    images : tensor (N, C, H, W), uint8 (converted with
        :func:`course_utils.data.to_float`) or float in [0, 1]; on any device.
    batch_size : int, images per forward pass.
    device : where to run; default the device of the encoder's parameters (the
        images' device for an encoder without any). Each batch is moved there; the
        encoder itself is never moved, so it must already live on ``device``.

    Returns
    -------
    features : float32 tensor (N, D) on the CPU.

    Example
    -------
    >>> encoder = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 8 * 8, 16))
    >>> images = torch.randint(0, 256, (10, 3, 8, 8), dtype=torch.uint8)
    >>> extract_features(encoder, images).shape
    torch.Size([10, 16])
    """
    if not isinstance(encoder, nn.Module):
        raise TypeError(f"encoder must be a torch.nn.Module, got {type(encoder).__name__}")
    check_tensor(images, "images", ndim=4)
    if images.dtype != torch.uint8 and not images.is_floating_point():
        raise TypeError(f"images must be uint8 or floating point, got dtype {images.dtype}")
    if len(images) == 0:
        raise ValueError("images must hold at least one image, got shape (0, ...)")
    check_positive(batch_size, "batch_size", integer=True)
    device = _encoder_device(encoder, images, device)

    modes = {module: module.training for module in encoder.modules()}
    encoder.eval()
    try:
        with torch.no_grad():
            batches = [_encode(encoder, to_float(images[i:i + batch_size].to(device)))
                       for i in range(0, len(images), batch_size)]
    finally:
        for module, training in modes.items():
            module.train(training)
    return torch.cat(batches)


def linear_probe(train_x: torch.Tensor, train_y: torch.Tensor, test_x: torch.Tensor, test_y: torch.Tensor, *,
                 epochs: int = 100, lr: float = 1.0, weight_decay: float | None = None,
                 batch_size: int | None = None, device=None, seed: int = 0,
                 standardize: bool = True) -> float:
    """Test accuracy of a linear classifier trained on frozen features.

    Minimises the L2-regularised multinomial logistic loss
    ``mean_i CE(W x_i + b, y_i) + weight_decay / 2 * ||W||^2`` with full-batch L-BFGS
    (strong-Wolfe line search) from ``W = 0, b = 0``: a convex problem, solved the way
    scikit-learn's ``LogisticRegression`` solves it and CLIP's linear probes do
    (Radford et al., 2021), but in torch, so it runs on the GPU. With the default
    ``weight_decay`` it is the same problem as ``LogisticRegression()`` (``C=1``),
    whose accuracy the tests match within 1 point.

    Parameters
    ----------
    train_x, test_x : floating tensors (N, D) and (M, D), e.g. from :func:`extract_features`.
    train_y, test_y : integer tensors (N,) and (M,) of class indices.
    epochs : int, L-BFGS iterations over the full training set (each evaluates the
        loss once or a few times in its line search); 100 is scikit-learn's ``max_iter``.
    lr : float, L-BFGS step size before the line search; 1 is the usual choice.
    weight_decay : float >= 0, the L2 penalty on ``W`` (not ``b``). Default ``1 / N``,
        which matches scikit-learn's ``C = 1 / (weight_decay * N)`` with ``C = 1``.
    batch_size : int or None. The loss and gradient are summed over chunks of this
        many examples to bound memory; the result does not depend on it. Default: all.
    device : where to train; default ``train_x``'s device (pass
        ``course_utils.get_device()`` to use a GPU for CPU features).
    seed : int, accepted so an experiment can pass one seed to every evaluation; the
        probe itself is deterministic (convex, zero initialisation, full batch).
    standardize : bool, scale each feature to zero mean and unit variance using the
        training statistics first (as ``StandardScaler``: a constant feature is only centred).

    Returns
    -------
    accuracy : float in [0, 1] on the test set. Classes are ``0 .. max(train_y, test_y)``.

    Example
    -------
    >>> x = torch.randn(200, 5); y = (x[:, 0] > 0).long()
    >>> linear_probe(x[:100], y[:100], x[100:], y[100:]) > 0.9
    True
    """
    _check_features(train_x, train_y, test_x, test_y)
    check_positive(epochs, "epochs", integer=True)
    check_positive(lr, "lr")
    if weight_decay is not None and weight_decay != 0:  # 0: no penalty
        check_positive(weight_decay, "weight_decay")
    if batch_size is not None:
        check_positive(batch_size, "batch_size", integer=True)
    check_seed(seed)
    if len(train_y.unique()) < 2:
        raise ValueError("train_y must contain at least 2 classes to train a classifier")

    device = train_x.device if device is None else torch.device(device)
    x, xt = train_x.to(device, torch.float32), test_x.to(device, torch.float32)
    y, yt = train_y.to(device).long(), test_y.to(device).long()
    if standardize:
        mean, std = x.mean(0), x.std(0, correction=0)
        std[std == 0] = 1.0
        x, xt = (x - mean) / std, (xt - mean) / std
    n = len(x)
    weight_decay = 1.0 / n if weight_decay is None else float(weight_decay)
    chunk = batch_size or n
    num_classes = int(max(y.max(), yt.max())) + 1

    probe = nn.Linear(x.shape[1], num_classes, device=device)
    nn.init.zeros_(probe.weight)
    nn.init.zeros_(probe.bias)
    optimizer = torch.optim.LBFGS(probe.parameters(), lr=lr, max_iter=epochs, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        total = 0.0
        for i in range(0, n, chunk):  # gradient accumulation: the full-batch loss, chunk by chunk
            loss = F.cross_entropy(probe(x[i:i + chunk]), y[i:i + chunk], reduction="sum") / n
            loss.backward()
            total += loss.detach()
        penalty = 0.5 * weight_decay * probe.weight.square().sum()
        penalty.backward()
        return total + penalty.detach()

    with torch.enable_grad():
        optimizer.step(closure)
    with torch.no_grad():
        correct = sum(int((probe(xt[i:i + chunk]).argmax(1) == yt[i:i + chunk]).sum())
                      for i in range(0, len(xt), chunk))
    return correct / len(xt)


def knn_predict(train_x: torch.Tensor, train_y: torch.Tensor, test_x: torch.Tensor, *, k: int = 20,
                temperature: float = 0.07, num_classes: int | None = None) -> torch.Tensor:
    """Weighted k-nearest-neighbour predictions in cosine similarity (Wu et al., 2018).

    Each test point takes its ``k`` most cosine-similar training points ``j`` and
    predicts the class with the largest total weight ``exp(sim_j / temperature)``.
    A small temperature trusts the nearest neighbours most; a large one approaches an
    unweighted majority vote. Ties go to the lower class index.

    Parameters
    ----------
    train_x, test_x : floating tensors (N, D) and (M, D) on one device.
    train_y : integer tensor (N,) of class indices.
    k : int in [1, N], neighbours per test point.
    temperature : float > 0.
    num_classes : int or None; default ``max(train_y) + 1``.

    Returns
    -------
    predictions : int64 tensor (M,) on the inputs' device. Test points are processed
    in chunks so at most ``KNN_CHUNK_PAIRS`` similarities are held at once.

    Example
    -------
    >>> train_x = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]])
    >>> knn_predict(train_x, torch.tensor([0, 0, 1]), torch.tensor([[1.0, 0.2]]), k=2)
    tensor([0])
    """
    train_y = _check_features(train_x, train_y, test_x)
    check_same_device(train_x=train_x, train_y=train_y, test_x=test_x)
    check_positive(k, "k", integer=True)
    if k > len(train_x):
        raise ValueError(f"k must be <= the number of training points ({len(train_x)}), got {k}")
    check_positive(temperature, "temperature")
    if num_classes is None:
        num_classes = int(train_y.max()) + 1
    else:
        check_positive(num_classes, "num_classes", integer=True)
        if int(train_y.max()) >= num_classes:
            raise ValueError(f"train_y must be < num_classes={num_classes}, got max {int(train_y.max())}")

    dtype = torch.promote_types(train_x.dtype, test_x.dtype)
    train = F.normalize(train_x.to(dtype), dim=1)
    chunk = max(1, KNN_CHUNK_PAIRS // len(train))
    predictions = []
    for i in range(0, len(test_x), chunk):
        sim = F.normalize(test_x[i:i + chunk].to(dtype), dim=1) @ train.T  # (B, N) cosine similarities
        top_sim, top_idx = sim.topk(k, dim=1)
        # exp((s - s_max) / T): the same vote up to a per-row factor, without overflow for small T
        weights = ((top_sim - top_sim[:, :1]) / temperature).exp()
        votes = torch.zeros(len(sim), num_classes, dtype=dtype, device=sim.device)
        votes.scatter_add_(1, train_y[top_idx], weights)
        predictions.append(votes.argmax(1))
    return torch.cat(predictions)


def knn_accuracy(train_x: torch.Tensor, train_y: torch.Tensor, test_x: torch.Tensor, test_y: torch.Tensor, *,
                 k: int = 20, temperature: float = 0.07, num_classes: int | None = None) -> float:
    """Accuracy of the weighted kNN classifier of :func:`knn_predict` (Wu et al., 2018).

    The usual settings in SSL papers are ``k=200, temperature=0.1`` on ImageNet-scale
    data (Wu et al., 2018) and ``k=20, temperature=0.07`` for small datasets.

    Parameters
    ----------
    train_x, train_y, test_x, k, temperature, num_classes : as in :func:`knn_predict`.
    test_y : integer tensor (M,) of true classes.

    Returns
    -------
    accuracy : float in [0, 1].

    Example
    -------
    >>> x = torch.randn(300, 8); y = (x[:, 0] > 0).long()
    >>> knn_accuracy(x[:200], y[:200], x[200:], y[200:], k=10) > 0.8
    True
    """
    test_y = check_labels(test_y, "test_y", len(test_x))
    predictions = knn_predict(train_x, train_y, test_x, k=k, temperature=temperature, num_classes=num_classes)
    return (predictions == test_y.to(predictions.device)).float().mean().item()


def kmeans_nmi(x: torch.Tensor, y: torch.Tensor, *, n_clusters: int | None = None, seed: int = 0) -> dict:
    """How well k-means clusters of the features recover the classes.

    Runs scikit-learn's ``KMeans`` (``n_init=10`` restarts, ``random_state=seed``) on
    the features and compares the clusters with the labels by normalised mutual
    information and the adjusted Rand index (both 1 for a perfect match, about 0 for
    chance, invariant to how clusters are numbered).

    Parameters
    ----------
    x : floating tensor (N, D) of features (any device; copied to the CPU).
    y : integer tensor (N,) of classes.
    n_clusters : int or None; default the number of distinct classes in ``y``.
    seed : int, seeds k-means' initialisation.

    Returns
    -------
    scores : ``{"nmi": float, "ari": float}``.

    Example
    -------
    >>> x = torch.cat([torch.randn(50, 2), torch.randn(50, 2) + 10])
    >>> kmeans_nmi(x, torch.tensor([0] * 50 + [1] * 50))
    {'nmi': 1.0, 'ari': 1.0}
    """
    check_tensor(x, "x", ndim=2, floating=True)
    y = check_labels(y, "y", len(x))
    seed = check_seed(seed)
    if n_clusters is None:
        n_clusters = len(y.unique())
    check_positive(n_clusters, "n_clusters", integer=True)
    if n_clusters > len(x):
        raise ValueError(f"n_clusters must be <= the number of points ({len(x)}), got {n_clusters}")
    clusters = KMeans(n_clusters, n_init=10, random_state=seed).fit_predict(x.detach().cpu().double().numpy())
    labels = y.cpu().numpy()
    return {"nmi": float(normalized_mutual_info_score(labels, clusters)),
            "ari": float(adjusted_rand_score(labels, clusters))}


def _encoder_device(encoder: nn.Module, images: torch.Tensor, device) -> torch.device:
    """The device to run ``encoder`` on; raise if ``device`` disagrees with where it lives."""
    tensor = next(encoder.parameters(), None)
    if tensor is None:
        tensor = next(encoder.buffers(), None)
    if tensor is None:
        return images.device if device is None else torch.device(device)
    if device is None:
        return tensor.device
    device = torch.device(device)
    same = device.type == tensor.device.type and device.index in (None, tensor.device.index)
    if not same:
        raise ValueError(f"device is {device} but the encoder's parameters are on {tensor.device}; "
                         f"move it first with encoder.to(device)")
    return tensor.device


def _encode(encoder: nn.Module, batch: torch.Tensor) -> torch.Tensor:
    """One forward pass; check the encoder returns features (B, D); return float32 on the CPU."""
    out = encoder(batch)
    if not isinstance(out, torch.Tensor):
        raise TypeError(f"encoder must return a tensor of features (B, D), got {type(out).__name__}; "
                        "pass the backbone (e.g. model.encoder), not a model returning several outputs")
    if out.ndim != 2:
        raise ValueError(f"encoder must return features of shape (B, D), got {tuple(out.shape)}; "
                         "add pooling / nn.Flatten() to the encoder")
    return out.float().cpu()


def _check_features(train_x, train_y, test_x, test_y=None) -> torch.Tensor:
    """Validate train/test features (N, D), (M, D) with labels (N,) [and (M,)]; return train_y as int64."""
    check_tensor(train_x, "train_x", ndim=2, floating=True)
    check_tensor(test_x, "test_x", ndim=2, floating=True)
    if test_x.shape[1] != train_x.shape[1]:
        raise ValueError(f"test_x must have {train_x.shape[1]} features like train_x, "
                         f"got shape {tuple(test_x.shape)}")
    if len(train_x) == 0 or len(test_x) == 0:
        raise ValueError(f"train_x and test_x must be non-empty, got {len(train_x)} and {len(test_x)} rows")
    if test_y is not None:
        check_labels(test_y, "test_y", len(test_x))
    return check_labels(train_y, "train_y", len(train_x))
