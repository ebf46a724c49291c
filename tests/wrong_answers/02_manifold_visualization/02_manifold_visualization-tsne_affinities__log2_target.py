# ruff: noqa: F821  (exec'd in the notebook's namespace: torch, np and the notebook's other answers)
# Entropy in nats, target in bits: matches log2(perplexity) nats, i.e. a perplexity of perplexity**0.69.
import math

def tsne_affinities(X, perplexity=30.0):
    n = X.shape[0]
    d2 = torch.cdist(X, X).square().masked_fill(torch.eye(n, dtype=torch.bool, device=X.device), float("inf"))
    d2 = d2 - d2.min(dim=1, keepdim=True).values
    target = math.log2(perplexity)
    lo = torch.zeros(n, 1, dtype=X.dtype, device=X.device)
    hi = torch.full((n, 1), float("inf"), dtype=X.dtype, device=X.device)
    beta = torch.ones(n, 1, dtype=X.dtype, device=X.device) / d2[d2.isfinite()].mean()
    for _ in range(200):
        P = torch.softmax(-beta * d2, dim=1)
        H = -(P * torch.log(P.clamp_min(torch.finfo(X.dtype).tiny))).sum(1, keepdim=True)
        flat = H > target
        lo, hi = torch.where(flat, beta, lo), torch.where(flat, hi, beta)
        beta = torch.where(hi.isinf(), 2 * beta, (lo + hi) / 2)
    return P
