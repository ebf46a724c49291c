# ruff: noqa: F821  (exec'd in the notebook's namespace: torch, nn, F, v2 and its other answers)
# Eq. 1 as printed: exp(s / tau) summed, then the self term subtracted; overflows at small temperatures.
def nt_xent(z1, z2, temperature=0.5):
    n = z1.shape[0]
    z = torch.cat([z1, z2]).float()
    e = (cosine_similarity_matrix(z, z) / temperature).exp()
    denominator = e.sum(1) - e.diagonal()
    positive = e[torch.arange(2 * n, device=z.device), positive_index(n, device=z.device)]
    return -(positive / denominator).log().mean()
