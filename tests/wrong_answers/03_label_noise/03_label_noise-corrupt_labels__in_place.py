# ruff: noqa: F821  (exec'd in the notebook's namespace: torch, np and the notebook's other answers)
# Right noisy labels, but written into the caller's clean labels.
def corrupt_labels(labels, T, seed):
    generator = torch.Generator(device=labels.device).manual_seed(seed)
    rows = T.to(device=labels.device, dtype=torch.float64)[labels]
    labels.copy_(torch.multinomial(rows, 1, generator=generator).squeeze(1))
    return labels
