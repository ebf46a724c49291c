"""Probes for 03_label_noise: the default device, torch's global random state, and a stand-in
for ``per_class_thresholds`` live in the kernel."""

import torch
from _autograder_probe_generic import standing_in  # the probes' shared module, loaded first


def on_default_meta(answer, namespace, *args, **kwargs):
    """``answer(*args, **kwargs)`` while torch's default device is ``meta``: the CPU inputs stay on the
    CPU, a tensor the answer makes without ``device=`` lands on ``meta``. Evidence: what it returned
    (an exception it raises reaches the judge with its type)."""
    with torch.device("meta"):
        return answer(*args, **kwargs)


def global_rng(answer, namespace, *args, **kwargs):
    """``answer(*args, **kwargs)``; evidence: ``{"value", "rng_before", "rng_after"}``, the value and
    torch's global (CPU) random state before and after the call."""
    before = torch.get_rng_state()
    value = answer(*args, **kwargs)
    return {"value": value, "rng_before": before, "rng_after": torch.get_rng_state()}


def thresholds(labels, pred_probs):
    """Stands in for the student's per_class_thresholds (Exercise 4 grades that one)."""
    one_hot = torch.nn.functional.one_hot(labels, pred_probs.shape[1]).to(pred_probs.dtype)
    return (pred_probs * one_hot).sum(0) / one_hot.sum(0)


def with_thresholds(answer, namespace, *args, default_meta=False, **kwargs):
    """``answer(*args, **kwargs)`` (the student's confident_joint) with :func:`thresholds` standing in
    for ``per_class_thresholds``, under the ``meta`` default device when ``default_meta``. Evidence:
    what it returned."""
    with standing_in(namespace, "per_class_thresholds", thresholds):
        if default_meta:
            return on_default_meta(answer, namespace, *args, **kwargs)
        return answer(*args, **kwargs)
