"""Takes sigma as the standard deviation of the score w.x + b, forgetting the factor ||w||."""
import torch


def true_risk(w, b, mu0, mu1, sigma):
    miss_1 = torch.special.ndtr(-(w @ mu1 + b) / sigma)
    miss_0 = torch.special.ndtr((w @ mu0 + b) / sigma)
    return (miss_0 + miss_1) / 2
