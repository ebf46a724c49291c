# ruff: noqa: F821  (exec'd in the notebook's namespace: torch, nn, F, v2 and its other answers)
# A random fraction of all examples: rare classes can vanish from a 1% subset.
def label_subset(labels, fraction, seed=0):
    gen = torch.Generator().manual_seed(seed)
    count = max(1, round(fraction * len(labels)))
    return torch.randperm(len(labels), generator=gen)[:count].sort().values
