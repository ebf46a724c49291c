# ruff: noqa: F821  (exec'd in the notebook's namespace: torch, nn, F, v2 and its other answers)
# The anchor's similarity with itself (always 1 / temperature) stays in the softmax's denominator.
def nt_xent(z1, z2, temperature=0.5):
    n = z1.shape[0]
    z = torch.cat([z1, z2]).float()
    logits = cosine_similarity_matrix(z, z) / temperature
    return F.cross_entropy(logits, positive_index(n, device=z.device))
