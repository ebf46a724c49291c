# ruff: noqa: F821  (exec'd in the notebook's namespace: torch, np and the notebook's other answers)
# Moves each centroid halfway to its points' mean (a damped update): not Lloyd's step.
def kmeans_step(X, centroids):
    assignments = torch.cdist(X, centroids).argmin(dim=1)
    k = centroids.shape[0]
    sums = torch.zeros_like(centroids).index_add_(0, assignments, X)
    ones = torch.ones_like(X[:, 0])
    counts = torch.zeros(k, dtype=X.dtype, device=X.device).index_add_(0, assignments, ones)
    means = torch.where(counts[:, None] > 0, sums / counts.clamp_min(1)[:, None], centroids)
    return (centroids + means) / 2, assignments
