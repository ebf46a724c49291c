# ruff: noqa: F821  (exec'd in the notebook's namespace: torch, np and the notebook's other answers)
# Returns 0-d tensors instead of Python floats.
def precision_recall(flagged, is_error):
    hits = is_error[flagged].sum().double()
    precision = hits / len(flagged) if len(flagged) else torch.tensor(1.0)
    recall = hits / is_error.sum() if bool(is_error.any()) else torch.tensor(1.0)
    return precision, recall
