# ruff: noqa: F821  (exec'd in the notebook's namespace: torch, np and the notebook's other answers)
# Right matrices, but any kind other than "symmetric" is taken for "pair" and nothing is checked.
def transition_matrix(kind, rate, num_classes):
    eye = torch.eye(num_classes, dtype=torch.float64)
    if kind == "symmetric":
        return (1 - rate) * eye + rate / (num_classes - 1) * (1 - eye)
    return (1 - rate) * eye + rate * eye.roll(1, dims=1)
