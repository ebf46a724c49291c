# ruff: noqa: F821  (exec'd in the notebook's namespace: torch, np and the notebook's other answers)
# "Symmetric" noise that redraws the label uniformly over all C classes, itself included: rows sum to 1,
# but a label changes with probability rate * (C - 1) / C, not rate.
def transition_matrix(kind, rate, num_classes):
    if kind not in ("symmetric", "pair") or not 0 <= rate <= 1 or num_classes < 2:
        raise ValueError("bad arguments")
    eye = torch.eye(num_classes, dtype=torch.float64)
    if kind == "symmetric":
        everywhere = torch.ones(num_classes, num_classes, dtype=torch.float64)
        return (1 - rate) * eye + rate / num_classes * everywhere
    return (1 - rate) * eye + rate * eye.roll(1, dims=1)
