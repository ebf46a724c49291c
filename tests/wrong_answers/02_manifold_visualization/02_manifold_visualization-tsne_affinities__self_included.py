# ruff: noqa: F821  (exec'd in the notebook's namespace: torch, np and the notebook's other answers)
# Keeps p_{i|i}: every point is its own likeliest neighbour.
import math

def tsne_affinities(X, perplexity=30.0):
    n = X.shape[0]
    d2 = torch.cdist(X, X).square()
    target = math.log(perplexity)
    lo = torch.zeros(n, 1, dtype=X.dtype, device=X.device)
    hi = torch.full((n, 1), float("inf"), dtype=X.dtype, device=X.device)
    beta = torch.ones(n, 1, dtype=X.dtype, device=X.device) / d2.mean()
    for _ in range(200):
        P = torch.softmax(-beta * d2, dim=1)
        H = -(P * torch.log(P.clamp_min(torch.finfo(X.dtype).tiny))).sum(1, keepdim=True)
        flat = H > target
        lo, hi = torch.where(flat, beta, lo), torch.where(flat, hi, beta)
        beta = torch.where(hi.isinf(), 2 * beta, (lo + hi) / 2)
    return P
