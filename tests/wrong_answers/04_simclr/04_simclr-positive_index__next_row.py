# ruff: noqa: F821  (exec'd in the notebook's namespace: torch, nn, F, v2 and its other answers)
# The next row as the positive (pairs stored interleaved, [a1, a2, b1, b2, ...], in mind).
def positive_index(n, device=None):
    return (torch.arange(2 * n, device=device) + 1) % (2 * n)
