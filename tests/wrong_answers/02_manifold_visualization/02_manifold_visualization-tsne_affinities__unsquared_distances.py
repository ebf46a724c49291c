# ruff: noqa: F821  (exec'd in the notebook's namespace: torch, np and the notebook's other answers)
# Gaussian kernel on plain distances ||x_i - x_j|| instead of squared ones.
import math

def tsne_affinities(X, perplexity=30.0):
    n = X.shape[0]
    d = torch.cdist(X, X).masked_fill(torch.eye(n, dtype=torch.bool, device=X.device), float("inf"))
    d = d - d.min(dim=1, keepdim=True).values
    target = math.log(perplexity)
    lo = torch.zeros(n, 1, dtype=X.dtype, device=X.device)
    hi = torch.full((n, 1), float("inf"), dtype=X.dtype, device=X.device)
    beta = torch.ones(n, 1, dtype=X.dtype, device=X.device) / d[d.isfinite()].mean()
    for _ in range(200):
        P = torch.softmax(-beta * d, dim=1)
        H = -(P * torch.log(P.clamp_min(torch.finfo(X.dtype).tiny))).sum(1, keepdim=True)
        flat = H > target
        lo, hi = torch.where(flat, beta, lo), torch.where(flat, hi, beta)
        beta = torch.where(hi.isinf(), 2 * beta, (lo + hi) / 2)
    return P
