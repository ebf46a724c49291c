"""course_utils.evaluate: feature extraction semantics, the linear probe against
scikit-learn's LogisticRegression, kNN against a loop and KNeighborsClassifier,
k-means scores against scikit-learn."""
import copy
import warnings

import numpy as np
import pytest
import torch
from sklearn.cluster import KMeans
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler
from torch import nn

import course_utils.evaluate as ev
from course_utils.evaluate import extract_features, kmeans_nmi, knn_accuracy, knn_predict, linear_probe


def conv_encoder(in_channels=1, seed=0):
    """A small random conv net with BatchNorm and dropout: (N, C, 8, 8) -> (N, 32)."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(in_channels, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
                         nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.Dropout(0.5),
                         nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(128, 32))


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
    images = lambda a: torch.tensor(a * 255 / 16).round().to(torch.uint8).view(-1, 1, 8, 8)
    return {"Xtr": Xtr, "Xte": Xte, "ytr": ytr, "yte": yte, "imtr": images(Xtr), "imte": images(Xte)}


# ---------------------------------------------------------------- extract_features

def test_extract_features_is_the_eval_mode_forward_in_batches():
    encoder = conv_encoder(3)
    images = torch.randint(0, 256, (50, 3, 8, 8), dtype=torch.uint8)
    reference = copy.deepcopy(encoder).eval()(images.float() / 255).detach()
    encoder.train()
    for batch_size in (7, 256):
        features = extract_features(encoder, images, batch_size=batch_size)
        assert features.dtype == torch.float32 and features.device.type == "cpu"
        assert features.shape == (50, 32)
        torch.testing.assert_close(features, reference, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(extract_features(encoder, images.float() / 255), features)  # float input


def test_extract_features_leaves_the_encoder_as_it_found_it():
    encoder = conv_encoder(3)
    encoder.train()
    encoder[1].eval()  # a mixed state: BatchNorm frozen, the rest training
    modes = [m.training for m in encoder.modules()]
    state = copy.deepcopy(encoder.state_dict())
    extract_features(encoder, torch.rand(40, 3, 8, 8))
    assert [m.training for m in encoder.modules()] == modes
    for name, value in encoder.state_dict().items():  # running stats and weights untouched
        assert torch.equal(value, state[name]), name


def test_extract_features_restores_modes_when_the_encoder_fails():
    class Failing(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(4, 2)

        def forward(self, x):
            raise RuntimeError("boom")

    encoder = Failing().train()
    with pytest.raises(RuntimeError, match="boom"):
        extract_features(encoder, torch.rand(3, 1, 2, 2))
    assert encoder.training and encoder.linear.training


def test_extracted_features_can_train_a_probe_with_autograd():
    features = extract_features(conv_encoder(3), torch.rand(20, 3, 8, 8))
    assert not features.requires_grad and not features.is_inference()
    head = nn.Linear(32, 2)
    nn.functional.cross_entropy(head(features), torch.zeros(20, dtype=torch.long)).backward()
    assert head.weight.grad is not None


def test_extract_features_without_parameters_follows_the_images():
    images = torch.randint(0, 256, (5, 1, 4, 4), dtype=torch.uint8)
    torch.testing.assert_close(extract_features(nn.Flatten(), images), images.view(5, -1).float() / 255)


@pytest.mark.parametrize("encoder, images, kwargs, match, error", [
    (nn.Flatten(), torch.rand(3, 8, 8), {}, "images", ValueError),
    (nn.Flatten(), torch.zeros(3, 1, 8, 8, dtype=torch.long), {}, "images", TypeError),
    (nn.Flatten(), torch.rand(0, 1, 8, 8), {}, "images", ValueError),
    (lambda x: x, torch.rand(3, 1, 8, 8), {}, "encoder", TypeError),
    (nn.Identity(), torch.rand(3, 1, 8, 8), {}, "encoder", ValueError),  # 4-D output
    (nn.Flatten(), torch.rand(3, 1, 8, 8), {"batch_size": 0}, "batch_size", ValueError),
    (nn.Linear(64, 2), torch.rand(3, 1, 8, 8), {"device": "meta"}, "device", ValueError),
])
def test_extract_features_rejects_bad_arguments(encoder, images, kwargs, match, error):
    with pytest.raises(error, match=match):
        extract_features(encoder, images, **kwargs)


def test_extract_features_rejects_an_encoder_returning_a_tuple():
    class TwoOutputs(nn.Module):
        def forward(self, x):
            return x.flatten(1), x.flatten(1)

    with pytest.raises(TypeError, match="encoder"):
        extract_features(TwoOutputs(), torch.rand(3, 1, 8, 8))


@pytest.mark.gpu
def test_extract_features_on_cuda_matches_cpu():
    encoder = conv_encoder(3)
    images = torch.randint(0, 256, (300, 3, 8, 8), dtype=torch.uint8)
    cpu = extract_features(encoder, images)
    gpu = extract_features(encoder.cuda(), images)  # images stay on the CPU; batches move
    assert gpu.device.type == "cpu"
    torch.testing.assert_close(gpu, cpu, rtol=1e-3, atol=1e-4)


# ---------------------------------------------------------------- linear_probe vs scikit-learn

@pytest.fixture(scope="module")
def feature_cases(digits):
    """(name, train features, test features): raw pixels, a random projection, a random conv net."""
    R = np.random.default_rng(0).standard_normal((64, 256)) / 8
    encoder = conv_encoder(1)
    return [
        ("digits pixels", digits["Xtr"], digits["Xte"]),
        ("random projection", digits["Xtr"] @ R, digits["Xte"] @ R),
        ("random conv net", extract_features(encoder, digits["imtr"]).double().numpy(),
         extract_features(encoder, digits["imte"]).double().numpy()),
    ]


def sklearn_accuracy(train_x, train_y, test_x, test_y, C):
    scaler = StandardScaler().fit(train_x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a ConvergenceWarning would only mean we compare to a looser optimum
        model = LogisticRegression(C=C, max_iter=2000).fit(scaler.transform(train_x), train_y)
    return model.score(scaler.transform(test_x), test_y)


@pytest.mark.parametrize("case, weight_decay", [(0, None), (1, None), (2, None), (2, 1e-2)])
def test_linear_probe_matches_logistic_regression_within_one_point(digits, feature_cases, case, weight_decay):
    name, train_x, test_x = feature_cases[case]
    C = 1.0 if weight_decay is None else 1 / (weight_decay * len(train_x))  # the same objective
    reference = sklearn_accuracy(train_x, digits["ytr"], test_x, digits["yte"], C)
    ours = linear_probe(torch.tensor(train_x, dtype=torch.float32), torch.tensor(digits["ytr"]),
                        torch.tensor(test_x, dtype=torch.float32), torch.tensor(digits["yte"]),
                        weight_decay=weight_decay)
    assert abs(ours - reference) <= 0.01, (name, ours, reference)  # measured gaps: 0 to 0.56 points


def test_linear_probe_chunking_standardising_and_no_grad_do_not_change_the_answer(digits):
    x, xt = torch.tensor(digits["Xtr"], dtype=torch.float32), torch.tensor(digits["Xte"], dtype=torch.float32)
    y, yt = torch.tensor(digits["ytr"]), torch.tensor(digits["yte"])
    before = x.clone()
    full = linear_probe(x, y, xt, yt, epochs=30)
    assert torch.equal(x, before)
    one_test_point = 1 / len(xt)
    assert abs(linear_probe(x, y, xt, yt, epochs=30, batch_size=100) - full) <= one_test_point
    mean, std = x.mean(0), x.std(0, correction=0)
    std[std == 0] = 1
    prescaled = linear_probe((x - mean) / std, y, (xt - mean) / std, yt, epochs=30, standardize=False)
    assert abs(prescaled - full) <= one_test_point
    with torch.no_grad():  # trains even when the caller has switched autograd off
        assert abs(linear_probe(x, y, xt, yt, epochs=30) - full) <= one_test_point


def test_linear_probe_on_separable_data_is_perfect():
    x = torch.randn(400, 10)
    y = (x[:, 0] + x[:, 1] > 0).long() + 2 * (x[:, 2] > 0).long()
    assert linear_probe(x[:300], y[:300], x[300:], y[300:], weight_decay=0.0) >= 0.97


@pytest.mark.parametrize("kwargs, match, error", [
    ({"test_x": torch.randn(5, 3)}, "test_x", ValueError),
    ({"train_y": torch.zeros(9, dtype=torch.long)}, "train_y", ValueError),
    ({"train_y": torch.zeros(10)}, "train_y", TypeError),
    ({"train_y": torch.zeros(10, dtype=torch.long)}, "train_y", ValueError),  # a single class
    ({"train_x": torch.zeros(10, 4, dtype=torch.long)}, "train_x", TypeError),
    ({"test_y": torch.zeros(4, dtype=torch.long)}, "test_y", ValueError),
    ({"epochs": 0}, "epochs", ValueError),
    ({"weight_decay": -1.0}, "weight_decay", ValueError),
    ({"batch_size": 0}, "batch_size", ValueError),
])
def test_linear_probe_rejects_bad_arguments(kwargs, match, error):
    args = {"train_x": torch.randn(10, 4), "train_y": torch.arange(10) % 2,
            "test_x": torch.randn(5, 4), "test_y": torch.arange(5) % 2}
    options = {k: kwargs.pop(k) for k in list(kwargs) if k not in args}
    args.update(kwargs)
    with pytest.raises(error, match=match):
        linear_probe(args["train_x"], args["train_y"], args["test_x"], args["test_y"], **options)


@pytest.mark.gpu
def test_linear_probe_on_cuda_matches_cpu(digits):
    x, xt = torch.tensor(digits["Xtr"], dtype=torch.float32), torch.tensor(digits["Xte"], dtype=torch.float32)
    y, yt = torch.tensor(digits["ytr"]), torch.tensor(digits["yte"])
    assert abs(linear_probe(x, y, xt, yt, device="cuda") - linear_probe(x, y, xt, yt)) <= 0.01


# ---------------------------------------------------------------- kNN

def loop_knn(train_x, train_y, test_x, k, temperature, num_classes):
    """Reference: one test point at a time, float64, sorted similarities."""
    train = train_x / np.linalg.norm(train_x, axis=1, keepdims=True)
    predictions = []
    for q in test_x:
        sims = train @ (q / np.linalg.norm(q))
        nearest = np.argsort(-sims, kind="stable")[:k]
        votes = np.zeros(num_classes)
        for j in nearest:
            votes[train_y[j]] += np.exp(sims[j] / temperature)
        predictions.append(int(np.argmax(votes)))
    return np.array(predictions)


@pytest.mark.parametrize("k, temperature, num_classes",
                         [(1, 0.07, None), (5, 0.07, None), (20, 0.5, 7), (50, 0.1, 5)])
def test_knn_predict_matches_a_loop(k, temperature, num_classes, monkeypatch):
    rng = np.random.default_rng(k)
    train_x, test_x = rng.normal(size=(300, 16)), rng.normal(size=(120, 16))
    train_y = rng.integers(0, 5, 300)
    expected = loop_knn(train_x, train_y, test_x, k, temperature, num_classes or 5)
    args = (torch.tensor(train_x), torch.tensor(train_y), torch.tensor(test_x))
    ours = knn_predict(*args, k=k, temperature=temperature, num_classes=num_classes)
    np.testing.assert_array_equal(ours.numpy(), expected)
    monkeypatch.setattr(ev, "KNN_CHUNK_PAIRS", 300 * 7)  # chunks of 7 test points
    np.testing.assert_array_equal(knn_predict(*args, k=k, temperature=temperature).numpy(), expected)
    assert knn_accuracy(*args, torch.tensor(expected), k=k, temperature=temperature,
                        num_classes=num_classes) == 1.0


def test_knn_with_a_huge_temperature_is_sklearns_cosine_majority_vote():
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(4, 8))
    train_y, test_y = rng.integers(0, 4, 400), rng.integers(0, 4, 200)
    train_x = centers[train_y] + rng.normal(size=(400, 8))
    test_x = centers[test_y] + rng.normal(size=(200, 8))
    k = 10
    sk = KNeighborsClassifier(n_neighbors=k, metric="cosine", algorithm="brute").fit(train_x, train_y)
    neighbours = sk.kneighbors(test_x, return_distance=False)
    counts = np.stack([np.bincount(train_y[n], minlength=4) for n in neighbours])
    unique_winner = (counts == counts.max(1, keepdims=True)).sum(1) == 1  # elsewhere tie-breaking differs
    ours = knn_predict(*map(torch.tensor, (train_x, train_y, test_x)), k=k, temperature=1e6)
    assert unique_winner.mean() > 0.8
    np.testing.assert_array_equal(ours.numpy()[unique_winner], sk.predict(test_x)[unique_winner])


def test_knn_with_a_tiny_temperature_trusts_the_nearest_neighbour():
    rng = np.random.default_rng(1)
    train_x, test_x = rng.normal(size=(200, 4)), rng.normal(size=(100, 4))
    train_y = rng.integers(0, 3, 200)
    args = tuple(map(torch.tensor, (train_x, train_y, test_x)))
    ours, nearest = knn_predict(*args, k=20, temperature=1e-3), knn_predict(*args, k=1)
    sims = np.sort((test_x / np.linalg.norm(test_x, axis=1, keepdims=True))
                   @ (train_x / np.linalg.norm(train_x, axis=1, keepdims=True)).T, axis=1)
    clear = sims[:, -1] - sims[:, -2] > 0.01  # exp(10) outweighs the other 19 neighbours
    assert clear.sum() > 20 and torch.isfinite(ours.float()).all()
    np.testing.assert_array_equal(ours.numpy()[clear], nearest.numpy()[clear])


@pytest.mark.parametrize("kwargs, match, error", [
    ({"k": 11}, "k", ValueError),
    ({"k": 0}, "k", ValueError),
    ({"temperature": 0.0}, "temperature", ValueError),
    ({"num_classes": 2}, "num_classes", ValueError),
])
def test_knn_rejects_bad_arguments(kwargs, match, error):
    x, y = torch.randn(10, 3), torch.arange(10) % 3
    with pytest.raises(error, match=match):
        knn_accuracy(x, y, x[:4], y[:4], **{"k": 3, **kwargs})


def test_knn_rejects_mismatched_inputs():
    x, y = torch.randn(10, 3), torch.arange(10) % 3
    with pytest.raises(ValueError, match="test_x"):
        knn_accuracy(x, y, torch.randn(4, 2), y[:4])
    with pytest.raises(ValueError, match="test_y"):
        knn_accuracy(x, y, x[:4], y[:3])


# ---------------------------------------------------------------- k-means

def test_kmeans_nmi_is_sklearns_kmeans_and_scores():
    X, y = load_digits(return_X_y=True)
    X, y = torch.tensor(X[:500], dtype=torch.float32), y[:500]
    scores = kmeans_nmi(X, torch.tensor(y), seed=3)
    clusters = KMeans(10, n_init=10, random_state=3).fit_predict(X.double().numpy())
    assert scores == {"nmi": pytest.approx(normalized_mutual_info_score(y, clusters)),
                      "ari": pytest.approx(adjusted_rand_score(y, clusters))}
    assert 0.5 < scores["nmi"] < 1.0
    assert kmeans_nmi(X, torch.tensor(y), n_clusters=5)["nmi"] < scores["nmi"]


def test_kmeans_nmi_is_one_for_separated_blobs_and_ignores_label_names():
    x = torch.cat([torch.randn(40, 3) + 20 * i for i in range(3)])
    y = torch.arange(3).repeat_interleave(40)
    assert kmeans_nmi(x, y) == {"nmi": pytest.approx(1.0), "ari": pytest.approx(1.0)}
    assert kmeans_nmi(x, (y + 1) % 3) == kmeans_nmi(x, y)


@pytest.mark.parametrize("x, y, kwargs, match, error", [
    (torch.randn(10, 2), torch.arange(9), {}, "y", ValueError),
    (torch.randn(10), torch.arange(10), {}, "x", ValueError),
    (torch.randn(10, 2), torch.arange(10), {"n_clusters": 11}, "n_clusters", ValueError),
    (torch.randn(10, 2), torch.arange(10), {"seed": -1}, "seed", ValueError),
])
def test_kmeans_nmi_rejects_bad_arguments(x, y, kwargs, match, error):
    with pytest.raises(error, match=match):
        kmeans_nmi(x, y, **kwargs)
