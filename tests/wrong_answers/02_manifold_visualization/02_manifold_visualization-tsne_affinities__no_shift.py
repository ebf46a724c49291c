# ruff: noqa: F821  (exec'd in the notebook's namespace: torch, np and the notebook's other answers)
# exp(-beta d^2) / sum without subtracting each row's smallest distance: a far point's row underflows to 0/0.
import math

def tsne_affinities(X, perplexity=30.0):
    n = X.shape[0]
    d2 = torch.cdist(X, X).square()
    off = ~torch.eye(n, dtype=torch.bool, device=X.device)
    target = math.log(perplexity)
    lo = torch.zeros(n, 1, dtype=X.dtype, device=X.device)
    hi = torch.full((n, 1), float("inf"), dtype=X.dtype, device=X.device)
    beta = torch.ones(n, 1, dtype=X.dtype, device=X.device) / d2[off].mean()
    for _ in range(200):
        w = torch.exp(-beta * d2) * off
        P = w / w.sum(1, keepdim=True)
        H = -(P * torch.log(P.clamp_min(torch.finfo(X.dtype).tiny))).sum(1, keepdim=True)
        flat = H > target
        lo, hi = torch.where(flat, beta, lo), torch.where(flat, hi, beta)
        beta = torch.where(hi.isinf(), 2 * beta, (lo + hi) / 2)
    return P
