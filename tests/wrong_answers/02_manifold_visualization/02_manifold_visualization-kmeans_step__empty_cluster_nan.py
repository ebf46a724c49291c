# ruff: noqa: F821  (exec'd in the notebook's namespace: torch, np and the notebook's other answers)
# Means by division by the counts: a centroid without points becomes 0/0 = NaN.
def kmeans_step(X, centroids):
    assignments = torch.cdist(X, centroids).argmin(dim=1)
    k = centroids.shape[0]
    sums = torch.zeros_like(centroids).index_add_(0, assignments, X)
    ones = torch.ones_like(X[:, 0])
    counts = torch.zeros(k, dtype=X.dtype, device=X.device).index_add_(0, assignments, ones)
    return sums / counts[:, None], assignments
