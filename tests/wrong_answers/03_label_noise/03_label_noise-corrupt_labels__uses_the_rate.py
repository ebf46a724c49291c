# ruff: noqa: F821  (exec'd in the notebook's namespace: torch, np and the notebook's other answers)
# Uses the matrix only for its noise rate, then flips uniformly to another class: ignores T's structure.
def corrupt_labels(labels, T, seed):
    generator = torch.Generator(device=labels.device).manual_seed(seed)
    num_classes = T.shape[0]
    stay = T.diagonal().to(labels.device, torch.float64)[labels]
    flip = torch.rand(len(labels), generator=generator, device=labels.device, dtype=torch.float64) >= stay
    shift = torch.randint(1, num_classes, labels.shape, generator=generator, device=labels.device)
    other = (labels + shift) % num_classes
    return torch.where(flip, other, labels)
