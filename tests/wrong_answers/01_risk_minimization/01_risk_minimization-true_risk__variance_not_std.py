"""Divides the margin by the variance sigma^2 ||w||^2 instead of the standard deviation sigma ||w||."""
import torch


def true_risk(w, b, mu0, mu1, sigma):
    variance = sigma**2 * w.norm() ** 2
    miss_1 = torch.special.ndtr(-(w @ mu1 + b) / variance)
    miss_0 = torch.special.ndtr((w @ mu0 + b) / variance)
    return (miss_0 + miss_1) / 2
