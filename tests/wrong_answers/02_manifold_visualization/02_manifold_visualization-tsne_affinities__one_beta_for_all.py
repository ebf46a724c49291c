# ruff: noqa: F821  (exec'd in the notebook's namespace: torch, np and the notebook's other answers)
# One kernel width for every point (bisection on the mean perplexity): dense and sparse points differ.
import math

def tsne_affinities(X, perplexity=30.0):
    n = X.shape[0]
    d2 = torch.cdist(X, X).square().masked_fill(torch.eye(n, dtype=torch.bool, device=X.device), float("inf"))
    d2 = d2 - d2.min(dim=1, keepdim=True).values
    target = math.log(perplexity)
    lo, hi, beta = 0.0, float("inf"), 1.0 / float(d2[d2.isfinite()].mean())
    for _ in range(200):
        P = torch.softmax(-beta * d2, dim=1)
        H = float(-(P * torch.log(P.clamp_min(torch.finfo(X.dtype).tiny))).sum(1).mean())
        if H > target:
            lo = beta
        else:
            hi = beta
        beta = 2 * beta if hi == float("inf") else (lo + hi) / 2
    return P
