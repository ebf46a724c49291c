# ruff: noqa: F821  (exec'd in the notebook's namespace: torch, nn, F, v2 and its other answers)
# Forgets to subtract the means: the cosine similarity of the raw sequences.
def pearson(x, y):
    x = torch.as_tensor(x, dtype=torch.float64).flatten()
    y = torch.as_tensor(y, dtype=torch.float64).flatten()
    return float((x * y).sum() / (x.norm() * y.norm()))
