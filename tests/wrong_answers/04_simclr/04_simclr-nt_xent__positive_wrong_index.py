# ruff: noqa: F821  (exec'd in the notebook's namespace: torch, nn, F, v2 and its other answers)
# Labels [0..N-1, 0..N-1], as for the N x N matrix z1 @ z2.T, on the 2N x 2N matrix: the first
# view's anchors get themselves (masked) as positive, the second view's the right one.
def nt_xent(z1, z2, temperature=0.5):
    n = z1.shape[0]
    z = torch.cat([z1, z2]).float()
    logits = cosine_similarity_matrix(z, z) / temperature
    logits = logits.masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device), float("-inf"))
    return F.cross_entropy(logits, torch.arange(n, device=z.device).repeat(2))
