# ruff: noqa: F821  (exec'd in the notebook's namespace: torch, nn, F, v2 and its other answers)
# Ranks and weights neighbours by raw dot products: long feature vectors win every vote.
def knn_predict(train_x, train_y, test_x, *, k=20, temperature=0.07, num_classes=None):
    if num_classes is None:
        num_classes = int(train_y.max()) + 1
    sim = test_x @ train_x.T
    top_sim, top_idx = sim.topk(k, dim=1)
    weights = ((top_sim - top_sim[:, :1]) / temperature).exp()
    votes = torch.zeros(len(test_x), num_classes, dtype=weights.dtype, device=weights.device)
    votes.scatter_add_(1, train_y[top_idx], weights)
    return votes.argmax(1)
