# ruff: noqa: F821  (exec'd in the notebook's namespace: torch, nn, F, v2 and its other answers)
# Only the N anchors of the first view, against the second view's embeddings (no 2N-2 negatives).
def nt_xent(z1, z2, temperature=0.5):
    logits = cosine_similarity_matrix(z1.float(), z2.float()) / temperature
    return F.cross_entropy(logits, torch.arange(len(z1), device=z1.device))
