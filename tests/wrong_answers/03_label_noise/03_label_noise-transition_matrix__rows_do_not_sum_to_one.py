# ruff: noqa: F821  (exec'd in the notebook's namespace: torch, np and the notebook's other answers)
# Spreads the rate over all C classes off the diagonal: each row sums to 1 - rate + rate * (C - 1) / C.
def transition_matrix(kind, rate, num_classes):
    if kind not in ("symmetric", "pair") or not 0 <= rate <= 1 or num_classes < 2:
        raise ValueError("bad arguments")
    eye = torch.eye(num_classes, dtype=torch.float64)
    if kind == "symmetric":
        return (1 - rate) * eye + rate / num_classes * (1 - eye)
    return (1 - rate) * eye + rate * eye.roll(1, dims=1)
