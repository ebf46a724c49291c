# ruff: noqa: F821  (exec'd in the notebook's namespace: torch, np and the notebook's other answers)
# Samples from column y of T (P(true = y | noisy = j) read the wrong way round) instead of row y.
def corrupt_labels(labels, T, seed):
    generator = torch.Generator(device=labels.device).manual_seed(seed)
    columns = T.to(device=labels.device, dtype=torch.float64).T[labels]
    return torch.multinomial(columns, 1, generator=generator).squeeze(1)
