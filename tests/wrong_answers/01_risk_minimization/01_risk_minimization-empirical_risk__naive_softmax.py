"""The softmax written as exp / sum(exp), then its log: overflows (inf / inf) and underflows (log 0)."""
import torch


def empirical_risk(logits, labels):
    probs = logits.exp() / logits.exp().sum(dim=1, keepdim=True)
    return -torch.log(probs.gather(1, labels.long().unsqueeze(1))).mean()
