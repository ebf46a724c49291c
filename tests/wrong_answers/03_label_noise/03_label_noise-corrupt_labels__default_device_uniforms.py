# ruff: noqa: F821  (exec'd in the notebook's namespace: torch, np and the notebook's other answers)
# Inverse-CDF sampling with uniforms drawn on the default device instead of labels' device.
def corrupt_labels(labels, T, seed):
    generator = torch.Generator(device=labels.device).manual_seed(seed)
    cdf = T.to(device=labels.device, dtype=torch.float64).cumsum(1)[labels]
    u = torch.rand(len(labels), 1, generator=generator, dtype=torch.float64)
    return (u > cdf).sum(1).clamp_max(T.shape[0] - 1)
