# ruff: noqa: F821  (exec'd in the notebook's namespace: torch, np and the notebook's other answers)
# Calls the kit's implementation (and returns a float, on the CPU).
def knn_preservation(X_high, X_low, k=10):
    import course_utils as cu
    return torch.tensor(cu.manifold.knn_preservation(X_high, X_low, k))
