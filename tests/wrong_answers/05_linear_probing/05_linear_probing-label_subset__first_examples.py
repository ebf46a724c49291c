# ruff: noqa: F821  (exec'd in the notebook's namespace: torch, nn, F, v2 and its other answers)
# Stratified, but always the first examples of each class: not a random subset.
def label_subset(labels, fraction, seed=0):
    picked = []
    for c in labels.unique():
        idx = (labels == c).nonzero().flatten()
        picked.append(idx[:max(1, round(fraction * len(idx)))])
    return torch.cat(picked).sort().values
