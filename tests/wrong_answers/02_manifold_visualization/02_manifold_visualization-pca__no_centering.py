# ruff: noqa: F821  (exec'd in the notebook's namespace: torch, np and the notebook's other answers)
# PCA without centring: the first "direction" points at the mean, not along the largest variance.
def pca(X, n_components=2):
    U, S, Vh = torch.linalg.svd(X, full_matrices=False)
    return X @ Vh[:n_components].T
