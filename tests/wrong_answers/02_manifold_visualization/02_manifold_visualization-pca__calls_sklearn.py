# ruff: noqa: F821  (exec'd in the notebook's namespace: torch, np and the notebook's other answers)
# Hands the work to scikit-learn (and returns float64 on the CPU).
def pca(X, n_components=2):
    from sklearn.decomposition import PCA
    scores = PCA(n_components=n_components).fit_transform(X.detach().cpu().double().numpy())
    return torch.from_numpy(scores).to(X.dtype)
