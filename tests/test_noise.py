"""course_utils.noise: noise models against exact formulas and binomial statistics,
confident learning against cleanlab (2.x)."""
import warnings

import numpy as np
import pytest
import torch
from cleanlab.count import compute_confident_joint, get_confident_thresholds
from cleanlab.filter import find_label_issues as cleanlab_find_label_issues
from sklearn.datasets import load_digits
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.model_selection import cross_val_predict

from course_utils.noise import (FILTERS, confident_joint, corrupt_labels, find_label_issues,
                                per_class_thresholds, transition_matrix)

# (num_classes, noise kind, rate) x seeds: the synthetic datasets of the cleanlab cross-checks
CASES = [(C, kind, rate, seed) for seed, (C, kind, rate) in enumerate(
    [(3, "symmetric", 0.1), (5, "symmetric", 0.3), (10, "symmetric", 0.45), (3, "pair", 0.3),
     (5, "pair", 0.2), (10, "pair", 0.4), (10, "symmetric", 0.2), (4, "pair", 0.45)] * 2)]


def synthetic(num_classes, kind, rate, seed, n=2000):
    """Clean labels, noisy labels and out-of-sample-like pred_probs (float64) of a model
    that mostly, with per-example confidence, predicts the clean label."""
    g = torch.Generator().manual_seed(seed)
    clean = torch.randint(0, num_classes, (n,), generator=g)
    noisy = corrupt_labels(clean, transition_matrix(kind, rate, num_classes), seed)
    confidence = 6.0 * torch.rand(n, 1, generator=g, dtype=torch.float64)
    logits = torch.randn(n, num_classes, generator=g, dtype=torch.float64)
    logits += confidence * torch.nn.functional.one_hot(clean, num_classes)
    return clean, noisy, logits.softmax(1)


def cleanlab_issues(labels, pred_probs, filter_by, joint=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # cleanlab warns about n_jobs / tiny classes
        return cleanlab_find_label_issues(labels.numpy(), pred_probs.numpy(), filter_by=filter_by,
                                          confident_joint=joint, return_indices_ranked_by="self_confidence",
                                          n_jobs=1)


# ---------------------------------------------------------------- transition matrices

@pytest.mark.parametrize("C", [2, 3, 7])
@pytest.mark.parametrize("rate", [0.0, 0.25, 1.0])
def test_transition_matrix_matches_the_formulas(C, rate):
    sym = transition_matrix("symmetric", rate, C)
    pair = transition_matrix("pair", rate, C)
    for T in (sym, pair):
        assert T.dtype == torch.float64 and T.shape == (C, C)
        assert torch.allclose(T.sum(1), torch.ones(C, dtype=torch.float64))
    for i in range(C):
        for j in range(C):
            assert sym[i, j].item() == pytest.approx(1 - rate if i == j else rate / (C - 1))
            expected = (1 - rate) * (i == j) + rate * (j == (i + 1) % C)
            assert pair[i, j].item() == pytest.approx(expected)
    assert torch.equal(transition_matrix("asymmetric", rate, C), pair)


@pytest.mark.parametrize("args, match, error", [
    (("uniform", 0.2, 5), "kind", ValueError),
    (("symmetric", 1.5, 5), "rate", ValueError),
    (("symmetric", -0.1, 5), "rate", ValueError),
    (("symmetric", "0.2", 5), "rate", TypeError),
    (("pair", 0.2, 1), "num_classes", ValueError),
    (("pair", 0.2, 2.0), "num_classes", TypeError),
])
def test_transition_matrix_rejects_bad_arguments(args, match, error):
    with pytest.raises(error, match=match):
        transition_matrix(*args)


# ---------------------------------------------------------------- corrupting labels

@pytest.mark.parametrize("kind, rate", [("symmetric", 0.4), ("pair", 0.3)])
def test_corrupt_labels_realises_the_transition_matrix(kind, rate):
    C, per_class = 5, 4000
    labels = torch.arange(C).repeat_interleave(per_class)
    T = transition_matrix(kind, rate, C)
    noisy = corrupt_labels(labels, T, seed=1)
    counts = torch.zeros(C, C, dtype=torch.float64).index_put_((labels, noisy), torch.ones(len(labels),
                                                                dtype=torch.float64), accumulate=True)
    realised = counts / per_class
    sigma = (T * (1 - T) / per_class).sqrt()
    assert ((realised - T).abs() <= 4 * sigma + 1e-12).all()  # zero-probability cells stay exactly 0


def test_corrupt_labels_is_seeded_and_leaves_its_input_alone():
    labels = torch.randint(0, 10, (1000,), dtype=torch.int32)
    before = labels.clone()
    T = transition_matrix("symmetric", 0.5, 10)
    a, b, c = (corrupt_labels(labels, T, seed) for seed in (3, 3, 4))
    assert torch.equal(labels, before)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.dtype == torch.int64 and a.device == labels.device and a.shape == labels.shape
    shifted = corrupt_labels(labels, transition_matrix("pair", 1.0, 10), seed=0)
    assert torch.equal(shifted, (labels.long() + 1) % 10)
    assert torch.equal(corrupt_labels(labels, transition_matrix("pair", 0.0, 10), seed=0), labels.long())
    assert corrupt_labels(labels[:0], T, seed=0).shape == (0,)
    assert torch.equal(corrupt_labels(labels, T.float(), 3), a)  # float32 T: same draws


@pytest.mark.parametrize("labels, T, seed, match, error", [
    (torch.tensor([0, 1]), torch.eye(2)[:1], 0, "T", ValueError),                  # not square
    (torch.tensor([0, 1]), torch.tensor([[0.5, 0.4], [0.0, 1.0]]), 0, "T", ValueError),  # row sum 0.9
    (torch.tensor([0, 1]), torch.tensor([[1.5, -0.5], [0.0, 1.0]]), 0, "T", ValueError),  # negative
    (torch.tensor([0, 1]), torch.eye(2, dtype=torch.long), 0, "T", TypeError),
    (torch.tensor([0, 2]), torch.eye(2), 0, "labels", ValueError),
    (torch.tensor([0.0, 1.0]), torch.eye(2), 0, "labels", TypeError),
    (torch.tensor([0, 1]), torch.eye(2), -1, "seed", ValueError),
])
def test_corrupt_labels_rejects_bad_arguments(labels, T, seed, match, error):
    with pytest.raises(error, match=match):
        corrupt_labels(labels, T, seed)


@pytest.mark.gpu
def test_corrupt_labels_on_cuda_stays_on_cuda():
    labels = torch.randint(0, 10, (1000,), device="cuda")
    noisy = corrupt_labels(labels, transition_matrix("symmetric", 0.3, 10), seed=0)
    assert noisy.device == labels.device
    assert 0.2 < (noisy != labels).float().mean().item() < 0.4


# ---------------------------------------------------------------- confident learning vs cleanlab

def test_per_class_thresholds_are_mean_self_confidences():
    _, noisy, probs = synthetic(5, "symmetric", 0.3, seed=0)
    t = per_class_thresholds(noisy, probs)
    loop = [np.mean([probs[i, j].item() for i in range(len(noisy)) if noisy[i] == j]) for j in range(5)]
    assert np.allclose(t.numpy(), loop, rtol=0, atol=1e-12)
    assert np.allclose(t.numpy(), get_confident_thresholds(noisy.numpy(), probs.numpy()), rtol=0, atol=1e-12)
    # a class nobody carries gets an unreachable threshold (cleanlab uses 2.0 for the same effect)
    assert per_class_thresholds(torch.tensor([0, 0, 1]), torch.full((3, 3), 1 / 3))[2] == float("inf")


@pytest.mark.parametrize("C, kind, rate, seed", CASES)
def test_confident_joint_counts_equal_cleanlabs_exactly(C, kind, rate, seed):
    _, noisy, probs = synthetic(C, kind, rate, seed)
    ours = confident_joint(noisy, probs, calibrate=False)
    assert ours.dtype == torch.int64
    theirs = compute_confident_joint(noisy.numpy(), probs.numpy(), calibrate=False)
    np.testing.assert_array_equal(ours.numpy(), theirs)


def _ambiguous_rows(raw, labels):
    """Rows of the calibrated joint whose rounding is a coin toss: an entry is exactly a
    half, or the last unit to move is tied between equal remainders. There cleanlab's
    answer depends on numpy's unstable sort and last-bit float noise."""
    C = len(raw)
    calibrated = raw / raw.sum(1, keepdims=True) * np.bincount(labels, minlength=C)[:, None]
    rows = []
    for row in calibrated:
        remainder = row - np.round(row)
        deficit = int(round(row.sum() - np.round(row).sum()))
        ordered = np.sort(remainder)[::-1] if deficit > 0 else np.sort(remainder)
        tie = deficit != 0 and abs(ordered[abs(deficit) - 1] - ordered[abs(deficit)]) < 1e-9
        rows.append(tie or np.any(np.abs(np.abs(remainder) - 0.5) < 1e-9))
    return np.array(rows)


def _reference_calibration(raw, labels):
    """Independent loop version of calibration + largest-remainder rounding (ties: lower column)."""
    C = len(raw)
    out = np.zeros((C, C), dtype=np.int64)
    for i in range(C):
        n_i = int(np.sum(labels == i))
        values = [raw[i, j] / raw[i].sum() * n_i for j in range(C)]
        rounded = [int(np.round(v)) for v in values]
        deficit = n_i - sum(rounded)
        step = 1 if deficit > 0 else -1
        # columns by how far rounding moved them against `step`; stable, so ties keep column order
        by_need = sorted(range(C), key=lambda j: -(values[j] - rounded[j]) * step)
        for j in by_need[:abs(deficit)]:
            rounded[j] += step
        out[i] = rounded
    return out


@pytest.mark.parametrize("C, kind, rate, seed", CASES)
def test_calibrated_confident_joint_matches_cleanlab_wherever_rounding_is_determined(C, kind, rate, seed):
    _, noisy, probs = synthetic(C, kind, rate, seed)
    ours = confident_joint(noisy, probs).numpy()
    raw = confident_joint(noisy, probs, calibrate=False).numpy()
    theirs = compute_confident_joint(noisy.numpy(), probs.numpy())
    np.testing.assert_array_equal(ours.sum(1), np.bincount(noisy.numpy(), minlength=C))  # calibrated rows
    np.testing.assert_array_equal(ours, _reference_calibration(raw, noisy.numpy()))
    determined = ~_ambiguous_rows(raw, noisy.numpy())
    np.testing.assert_array_equal(ours[determined], theirs[determined])
    assert np.abs(ours - theirs).max() <= 1


@pytest.mark.parametrize("filter_by", ["prune_by_noise_rate", "prune_by_class", "both"])
@pytest.mark.parametrize("C, kind, rate, seed", CASES[::2])
def test_pruning_equals_cleanlab_exactly_given_the_same_joint(filter_by, C, kind, rate, seed):
    _, noisy, probs = synthetic(C, kind, rate, seed)
    ours = find_label_issues(noisy, probs, filter_by=filter_by)
    theirs = cleanlab_issues(noisy, probs, filter_by, joint=confident_joint(noisy, probs).numpy())
    np.testing.assert_array_equal(ours.numpy(), theirs)  # same set, same self-confidence order


@pytest.mark.parametrize("filter_by", ["confident_learning", "predicted_neq_given"])
@pytest.mark.parametrize("C, kind, rate, seed", CASES[::2])
def test_joint_free_filters_equal_cleanlab_exactly(filter_by, C, kind, rate, seed):
    _, noisy, probs = synthetic(C, kind, rate, seed)
    np.testing.assert_array_equal(find_label_issues(noisy, probs, filter_by=filter_by).numpy(),
                                  cleanlab_issues(noisy, probs, filter_by))


@pytest.mark.parametrize("C, kind, rate, seed", CASES)
def test_find_label_issues_end_to_end_overlaps_cleanlab(C, kind, rate, seed):
    _, noisy, probs = synthetic(C, kind, rate, seed)
    ours = set(find_label_issues(noisy, probs).tolist())
    theirs = set(cleanlab_issues(noisy, probs, "prune_by_noise_rate").tolist())
    assert len(ours & theirs) / len(ours | theirs) >= 0.95  # measured minimum 0.96 over 400 datasets


@pytest.mark.parametrize("kind, rate", [("symmetric", 0.2), ("pair", 0.3)])
def test_confident_learning_finds_injected_errors_on_digits(kind, rate):
    X, y = load_digits(return_X_y=True)
    clean = torch.tensor(y)
    noisy = corrupt_labels(clean, transition_matrix(kind, rate, 10), seed=0)
    probs = torch.tensor(cross_val_predict(LinearDiscriminantAnalysis(), X, noisy.numpy(), cv=5,
                                           method="predict_proba"))
    issues = find_label_issues(noisy, probs)
    flagged, truly_noisy = noisy[issues] != clean[issues], (noisy != clean).sum().item()
    precision, recall = flagged.float().mean().item(), flagged.sum().item() / truly_noisy
    assert precision > 0.65 and recall > 0.8  # measured: symmetric 0.75 / 0.94, pair 0.73 / 0.87
    theirs = cleanlab_issues(noisy, probs, "prune_by_noise_rate")
    assert len(set(issues.tolist()) & set(theirs)) / len(set(issues.tolist()) | set(theirs)) >= 0.98
    self_confidence = probs[issues, noisy[issues]]
    assert (self_confidence[1:] >= self_confidence[:-1]).all()  # ranked: most suspicious first


def test_find_label_issues_never_flags_an_example_its_model_agrees_with():
    _, noisy, probs = synthetic(10, "symmetric", 0.3, seed=5)
    for filter_by in FILTERS:
        issues = find_label_issues(noisy, probs, filter_by=filter_by)
        assert issues.dtype == torch.int64
        assert (probs[issues].argmax(1) != noisy[issues]).all()


HALVES = torch.full((2, 2), 0.5)


@pytest.mark.parametrize("labels, probs, kwargs, match, error", [
    (torch.tensor([0, 1]), torch.tensor([[0.6, 0.6], [0.5, 0.5]]), {}, "pred_probs", ValueError),  # sum 1.2
    (torch.tensor([0, 1]), torch.tensor([[0.5, 0.5]]), {}, "labels", ValueError),                 # lengths
    (torch.tensor([0, 2]), HALVES, {}, "labels", ValueError),                                      # class 2
    (torch.tensor([0, 1]), torch.tensor([[1, 0], [0, 1]]), {}, "pred_probs", TypeError),           # ints
    (torch.tensor([0, 1]), torch.tensor([0.5, 0.5]), {}, "pred_probs", ValueError),                # 1-D
    (torch.tensor([0, 1]), HALVES, {"filter_by": "prune"}, "filter_by", ValueError),
])
def test_confident_learning_rejects_bad_arguments(labels, probs, kwargs, match, error):
    with pytest.raises(error, match=match):
        find_label_issues(labels, probs, **kwargs)
