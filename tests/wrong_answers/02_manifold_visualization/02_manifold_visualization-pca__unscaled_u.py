# ruff: noqa: F821  (exec'd in the notebook's namespace: torch, np and the notebook's other answers)
# Returns U's columns (unit length) instead of the scores U S: every component gets the same variance.
def pca(X, n_components=2):
    centred = X - X.mean(dim=0, keepdim=True)
    U, S, Vh = torch.linalg.svd(centred, full_matrices=False)
    return U[:, :n_components]
