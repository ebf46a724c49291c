# ruff: noqa: F821  (exec'd in the notebook's namespace: torch, np and the notebook's other answers)
# Reproducible, but by reseeding torch's global generator: everything random after it changes.
def corrupt_labels(labels, T, seed):
    torch.manual_seed(seed)
    rows = T.to(device=labels.device, dtype=torch.float64)[labels]
    return torch.multinomial(rows, 1).squeeze(1)
