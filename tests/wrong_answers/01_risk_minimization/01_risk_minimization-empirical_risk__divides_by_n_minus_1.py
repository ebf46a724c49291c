"""Divides by N - 1, as an unbiased variance would: an off-by-one in the normalisation."""
import torch


def empirical_risk(logits, labels):
    log_probs = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    return -log_probs.gather(1, labels.long().unsqueeze(1)).sum() / (len(labels) - 1)
