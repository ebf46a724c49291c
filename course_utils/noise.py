"""Label noise: corrupt labels with a known noise process, then find the errors again.

Two halves, used together in the label-noise notebook:

- **Simulating noise.** Class-conditional label noise is described by a transition
  matrix ``T`` with ``T[i, j] = P(noisy label = j | true label = i)`` (Natarajan et
  al., 2013; Patrini et al., 2017). :func:`transition_matrix` builds the two standard
  ones, :func:`corrupt_labels` samples noisy labels from any ``T``.
- **Finding label errors.** Confident learning (Northcutt, Jiang & Chuang, 2021)
  estimates the joint distribution of given and true labels from out-of-sample
  predicted probabilities (:func:`per_class_thresholds`, :func:`confident_joint`)
  and prunes the examples it counts as mislabeled (:func:`find_label_issues`). The
  code follows cleanlab 2.x step by step, so that students can read it; the tests
  check it against ``cleanlab.count.compute_confident_joint`` and
  ``cleanlab.filter.find_label_issues``.

References
----------
Natarajan, Dhillon, Ravikumar & Tewari (2013). Learning with noisy labels. NeurIPS.
Patrini, Rozza, Menon, Nock & Qu (2017). Making deep neural networks robust to label
noise: a loss correction approach. CVPR.
Northcutt, Jiang & Chuang (2021). Confident learning: estimating uncertainty in
dataset labels. Journal of Artificial Intelligence Research 70, 1373-1411.

Example
-------
>>> import torch
>>> from course_utils.noise import transition_matrix, corrupt_labels, find_label_issues
>>> clean = torch.arange(4).repeat(250)                  # 1000 labels, 4 classes
>>> T = transition_matrix("symmetric", 0.2, 4)
>>> noisy = corrupt_labels(clean, T, seed=0)
>>> round((noisy != clean).float().mean().item(), 2)
0.2
>>> pred_probs = torch.nn.functional.one_hot(clean, 4).double() * 0.9 + 0.025
>>> issues = find_label_issues(noisy, pred_probs)          # most suspicious first
>>> bool((noisy[issues] != clean[issues]).all())
True
"""
from __future__ import annotations

import torch

from ._validate import (check_choice, check_fraction, check_labels, check_positive, check_same_device,
                        check_seed, check_tensor)

NOISE_KINDS = ("symmetric", "pair", "asymmetric")
FILTERS = ("prune_by_noise_rate", "prune_by_class", "both", "confident_learning", "predicted_neq_given")

# cleanlab's slack for comparing probabilities (FLOATING_POINT_COMPARISON): a probability
# within 1e-6 of a threshold counts as reaching it.
SLACK = 1e-6


def transition_matrix(kind: str, rate: float, num_classes: int) -> torch.Tensor:
    """A class-conditional noise transition matrix ``T[i, j] = P(noisy = j | true = i)``.

    Parameters
    ----------
    kind : ``"symmetric"`` or ``"pair"`` (alias ``"asymmetric"``).
        ``"symmetric"``: a label stays with probability ``1 - rate`` and otherwise
        moves to one of the other ``C - 1`` classes uniformly at random.
        ``"pair"``: class ``i`` flips to class ``(i + 1) % C`` with probability
        ``rate``, the classic "asymmetric" noise (e.g. truck -> automobile).
    rate : float in [0, 1], the probability that a label is changed.
    num_classes : int >= 2, the number of classes ``C``.

    Returns
    -------
    T : float64 tensor (C, C) on the CPU, nonnegative, each row sums to 1.

    Example
    -------
    >>> transition_matrix("pair", 0.3, 3)
    tensor([[0.7000, 0.3000, 0.0000],
            [0.0000, 0.7000, 0.3000],
            [0.3000, 0.0000, 0.7000]], dtype=torch.float64)
    """
    check_choice(kind, "kind", NOISE_KINDS)
    rate = check_fraction(rate, "rate")
    check_positive(num_classes, "num_classes", integer=True)
    if num_classes < 2:
        raise ValueError(f"num_classes must be >= 2, got {num_classes}")
    eye = torch.eye(num_classes, dtype=torch.float64)
    if kind == "symmetric":
        return (1 - rate) * eye + rate / (num_classes - 1) * (1 - eye)
    return (1 - rate) * eye + rate * eye.roll(1, dims=1)  # row i: mass `rate` at column i + 1


def corrupt_labels(labels: torch.Tensor, T: torch.Tensor, seed: int) -> torch.Tensor:
    """Noisy labels: each label ``y`` is resampled from row ``T[y]`` of a transition matrix.

    Parameters
    ----------
    labels : integer tensor (N,), the clean labels, in ``[0, C)``. Left unchanged.
    T : floating tensor (C, C), ``T[i, j] = P(noisy = j | true = i)``; nonnegative,
        rows summing to 1 (see :func:`transition_matrix`).
    seed : int, seeds a ``torch.Generator`` on ``labels``' device, so the same seed
        gives the same noisy labels on that device (CPU and CUDA streams differ).

    Returns
    -------
    noisy : int64 tensor (N,) on ``labels``' device.

    Example
    -------
    >>> labels = torch.tensor([0, 1, 2, 0, 1, 2])
    >>> corrupt_labels(labels, transition_matrix("pair", 1.0, 3), seed=0)
    tensor([1, 2, 0, 1, 2, 0])
    """
    labels = check_labels(labels, "labels")
    T = _check_transition(T)
    seed = check_seed(seed)
    if labels.numel() and int(labels.max()) >= len(T):
        raise ValueError(f"labels must be < {len(T)} (T is {len(T)}x{len(T)}), got max {int(labels.max())}")
    if labels.numel() == 0:
        return labels.clone()
    generator = torch.Generator(device=labels.device).manual_seed(seed)
    rows = T.to(labels.device)[labels]  # (N, C): the distribution of each noisy label
    return torch.multinomial(rows, 1, generator=generator).squeeze(1)


def per_class_thresholds(labels: torch.Tensor, pred_probs: torch.Tensor) -> torch.Tensor:
    """Confident-learning thresholds: each class's average self-confidence.

    ``t[j]`` is the mean predicted probability of class ``j`` over the examples
    *labeled* ``j`` (Northcutt et al., 2021, Eq. 2). An example is "confidently"
    of class ``j`` when its ``p(j; x) >= t[j]``.

    Parameters
    ----------
    labels : integer tensor (N,), the given (possibly noisy) labels.
    pred_probs : floating tensor (N, C), out-of-sample predicted probabilities
        (e.g. from cross-validation), rows summing to 1.

    Returns
    -------
    t : float64 tensor (C,) on ``labels``' device; ``inf`` for a class nobody is
        labeled with (no example can be confidently in it).

    Example
    -------
    >>> per_class_thresholds(torch.tensor([0, 0, 1]), torch.tensor([[0.9, 0.1], [0.5, 0.5], [0.2, 0.8]]))
    tensor([0.7000, 0.8000], dtype=torch.float64)
    """
    labels, pred_probs = _check_labels_and_probs(labels, pred_probs)
    means = [pred_probs[labels == j, j].mean() for j in range(pred_probs.shape[1])]
    return torch.stack(means).nan_to_num(nan=float("inf"))


def confident_joint(labels: torch.Tensor, pred_probs: torch.Tensor, *,
                    calibrate: bool = True) -> torch.Tensor:
    """The confident joint ``C[i, j]``: how many examples labeled ``i`` are confidently of class ``j``.

    Counting (Northcutt et al., 2021, Eq. 1): an example is counted in row ``i`` (its
    given label) and column ``j`` (its guessed true label) when at least one class
    reaches its threshold from :func:`per_class_thresholds`; the guess is that class,
    or the most probable class when several reach theirs (as cleanlab does; the paper
    takes the most probable of the confident classes, which differs only when the
    overall argmax is not confident). Each diagonal entry is then raised to at least 1.

    Calibration (Eq. 3, as counts): each row is rescaled to the number of examples
    with that given label, so the matrix sums to N and estimates the joint counts of
    (given, true) labels, then rounded to integers preserving the row sums (largest
    remainders first). Ties between equal remainders go to the lower column here;
    cleanlab leaves them to numpy's unstable sort (and to last-bit float differences
    when an entry is exactly a half), so in those rows its result can depend on the
    CPU. Everywhere else the two agree exactly.

    Parameters
    ----------
    labels : integer tensor (N,), the given (possibly noisy) labels in ``[0, C)``.
    pred_probs : floating tensor (N, C), out-of-sample predicted probabilities.
    calibrate : bool, calibrate and round as above (default), or return the raw counts.

    Returns
    -------
    joint : int64 tensor (C, C) on ``labels``' device; rows are given labels,
        columns guessed true labels.

    Example
    -------
    >>> labels = torch.tensor([0, 0, 0, 1, 1, 1])
    >>> probs = torch.tensor([[.9, .1], [.8, .2], [.1, .9], [.2, .8], [.3, .7], [.1, .9]])
    >>> confident_joint(labels, probs)
    tensor([[2, 1],
            [0, 3]])
    """
    labels, pred_probs = _check_labels_and_probs(labels, pred_probs)
    num_classes = pred_probs.shape[1]
    guess, confident = _guess_true_labels(labels, pred_probs)
    pairs = labels[confident] * num_classes + guess[confident]
    joint = torch.bincount(pairs, minlength=num_classes**2).view(num_classes, num_classes)
    joint.diagonal().clamp_(min=1)  # every class keeps at least one confidently correct example
    if not calibrate:
        return joint
    label_counts = torch.bincount(labels, minlength=num_classes)
    # rescale row i to sum to n_i; the whole then sums to N (Eq. 3's normalisation, as counts)
    calibrated = joint.double() / joint.sum(1, keepdim=True) * label_counts[:, None]
    return _round_preserving_row_sums(calibrated)


def find_label_issues(labels: torch.Tensor, pred_probs: torch.Tensor, *,
                      filter_by: str = "prune_by_noise_rate") -> torch.Tensor:
    """Indices of likely label errors, most suspicious (lowest self-confidence) first.

    Confident learning's pruning rules (Northcutt et al., 2021, Sec. 3.2), with the
    calibrated :func:`confident_joint` ``C`` telling how many examples to prune:

    - ``"prune_by_noise_rate"`` (default, PBNR): for every off-diagonal ``C[i, j]``,
      flag the ``C[i, j]`` examples labeled ``i`` with the largest margin
      ``p(j; x) - p(i; x)``.
    - ``"prune_by_class"`` (PBC): in each class ``i``, flag the ``n_i - C[i, i]``
      examples labeled ``i`` with the lowest ``p(i; x)``.
    - ``"both"``: flagged by both rules (C+NR).
    - ``"confident_learning"``: the off-diagonal examples of the confident joint,
      i.e. those confidently of a class other than their label.
    - ``"predicted_neq_given"``: the baseline, argmax prediction != given label.

    As in cleanlab, an example whose given label is (within ``SLACK``) the model's top
    prediction is never flagged. Unlike cleanlab, no minimum number of examples is
    kept per class (cleanlab's ``min_examples_per_class=1``), which only matters for
    classes with a handful of examples.

    Parameters
    ----------
    labels : integer tensor (N,), the given (possibly noisy) labels in ``[0, C)``.
    pred_probs : floating tensor (N, C), out-of-sample predicted probabilities (from
        cross-validation: in-sample probabilities have memorised the noisy labels).
    filter_by : one of ``FILTERS`` (above).

    Returns
    -------
    issues : int64 tensor (K,) of indices into ``labels``, sorted by increasing
        self-confidence ``p(labels[i]; x_i)``, on ``labels``' device.

    Example
    -------
    >>> labels = torch.tensor([0, 0, 0, 1, 1, 1])
    >>> probs = torch.tensor([[.9, .1], [.8, .2], [.1, .9], [.2, .8], [.3, .7], [.1, .9]])
    >>> find_label_issues(labels, probs)
    tensor([2])
    """
    labels, pred_probs = _check_labels_and_probs(labels, pred_probs)
    check_choice(filter_by, "filter_by", FILTERS)
    if filter_by == "predicted_neq_given":
        issues = pred_probs.argmax(1) != labels
    elif filter_by == "confident_learning":
        guess, confident = _guess_true_labels(labels, pred_probs)
        issues = confident & (guess != labels)
    else:
        joint = confident_joint(labels, pred_probs)
        if filter_by == "prune_by_noise_rate":
            issues = _prune_by_noise_rate(labels, pred_probs, joint)
        elif filter_by == "prune_by_class":
            issues = _prune_by_class(labels, pred_probs, joint)
        else:
            issues = (_prune_by_noise_rate(labels, pred_probs, joint)
                      & _prune_by_class(labels, pred_probs, joint))
    self_confidence = pred_probs.gather(1, labels[:, None]).squeeze(1)
    issues &= self_confidence + SLACK < pred_probs.max(1).values  # the given label is not the top prediction
    index = issues.nonzero().squeeze(1)
    return index[self_confidence[index].argsort(stable=True)]


def _guess_true_labels(labels, pred_probs):
    """Per example, the guessed true label and whether any class reached its threshold."""
    confident = pred_probs >= per_class_thresholds(labels, pred_probs) - SLACK  # (N, C)
    n_confident = confident.sum(1)
    only_confident_class = confident.int().argmax(1)
    guess = torch.where(n_confident == 1, only_confident_class, pred_probs.argmax(1))
    return guess, n_confident > 0


def _round_preserving_row_sums(x: torch.Tensor) -> torch.Tensor:
    """Round a float matrix to int64 so that each row keeps its (rounded) sum.

    Rounds to nearest, then gives each row's missing units to the entries that were
    rounded down the most (or takes surplus units from those rounded up the most);
    equal remainders go by column index.
    """
    rounded = x.round()
    remainder = x - rounded  # in [-0.5, 0.5]
    deficit = (x.sum(1).round() - rounded.sum(1)).long()
    for row, d in enumerate(deficit.tolist()):
        if d != 0:
            order = remainder[row].argsort(descending=d > 0, stable=True)
            rounded[row, order[:abs(d)]] += 1 if d > 0 else -1
    return rounded.long()


def _prune_by_noise_rate(labels, pred_probs, joint):
    """PBNR: for each (given i, true j != i), flag the joint[i, j] largest margins p(j) - p(i)."""
    issues = torch.zeros_like(labels, dtype=torch.bool)
    for i in range(len(joint)):
        members = (labels == i).nonzero().squeeze(1)
        for j in range(len(joint)):
            n = int(joint[i, j])
            if j != i and n > 0:
                margin = pred_probs[members, j] - pred_probs[members, i]
                issues[members[margin.topk(n).indices]] = True
    return issues


def _prune_by_class(labels, pred_probs, joint):
    """PBC: in each class i, flag the n_i - joint[i, i] examples with the lowest p(i)."""
    issues = torch.zeros_like(labels, dtype=torch.bool)
    for i in range(len(joint)):
        members = (labels == i).nonzero().squeeze(1)
        n = len(members) - int(joint[i, i])
        if n > 0:
            issues[members[pred_probs[members, i].topk(n, largest=False).indices]] = True
    return issues


def _check_transition(T) -> torch.Tensor:
    check_tensor(T, "T", ndim=2, floating=True)
    if T.shape[0] != T.shape[1] or T.shape[0] < 2:
        raise ValueError(f"T must be a square (C, C) matrix with C >= 2, got shape {tuple(T.shape)}")
    if bool((T < 0).any()):
        raise ValueError(f"T must be nonnegative, got min {float(T.min())}")
    row_sums = T.double().sum(1)
    if not torch.allclose(row_sums, torch.ones_like(row_sums), atol=1e-5):
        raise ValueError(f"T's rows must sum to 1, got row sums {row_sums.tolist()}")
    return T


def _check_labels_and_probs(labels, pred_probs):
    """Validate (labels (N,), pred_probs (N, C)); return labels as int64, probabilities as float64."""
    check_tensor(pred_probs, "pred_probs", ndim=2, floating=True)
    n, num_classes = pred_probs.shape
    labels = check_labels(labels, "labels", n)
    check_same_device(labels=labels, pred_probs=pred_probs)
    if num_classes < 2:
        raise ValueError(f"pred_probs must have >= 2 columns (classes), got shape {tuple(pred_probs.shape)}")
    if n and int(labels.max()) >= num_classes:
        raise ValueError(f"labels must be < {num_classes} (pred_probs has {num_classes} columns), "
                         f"got max {int(labels.max())}")
    pred_probs = pred_probs.double()
    row_sums = pred_probs.sum(1)
    if bool((pred_probs < 0).any()) or not torch.allclose(row_sums, torch.ones_like(row_sums), atol=1e-3):
        raise ValueError("pred_probs must hold probabilities: nonnegative rows that sum to 1 "
                         "(apply softmax to logits)")
    return labels, pred_probs
