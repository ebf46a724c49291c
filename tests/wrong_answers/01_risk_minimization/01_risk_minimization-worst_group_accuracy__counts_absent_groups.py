"""Counts every id from 0 to max(groups) as a group (bincount), so absent ids give 0/0."""
import torch


def worst_group_accuracy(predictions, labels, groups):
    correct = (predictions == labels).float()
    right = torch.bincount(groups, weights=correct)
    return (right / torch.bincount(groups)).min().item()
