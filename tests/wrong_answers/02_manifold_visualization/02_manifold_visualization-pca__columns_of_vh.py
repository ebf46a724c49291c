# ruff: noqa: F821  (exec'd in the notebook's namespace: torch, np and the notebook's other answers)
# Projects on the columns of V^T (V's rows) instead of the principal directions (rows of V^T).
def pca(X, n_components=2):
    centred = X - X.mean(dim=0, keepdim=True)
    U, S, Vh = torch.linalg.svd(centred, full_matrices=False)
    return centred @ Vh[:, :n_components]
