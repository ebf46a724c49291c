# ruff: noqa: F821  (exec'd in the notebook's namespace: torch, np and the notebook's other answers)
# Drops the point itself by its distance (0), which also drops exact duplicates of it.
def knn_preservation(X_high, X_low, k=10):
    n = X_high.shape[0]

    def neighbours(X):
        distances = torch.cdist(X, X)
        distances = distances.masked_fill(distances == 0, float("inf"))
        index = distances.topk(k, dim=1, largest=False).indices
        return torch.zeros(n, n, dtype=torch.float64, device=X.device).scatter_(1, index, 1.0)

    return (neighbours(X_high.double()) * neighbours(X_low.double())).sum() / (n * k)
