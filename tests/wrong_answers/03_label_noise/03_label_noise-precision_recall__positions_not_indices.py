# ruff: noqa: F821  (exec'd in the notebook's namespace: torch, np and the notebook's other answers)
# Treats the flagged indices as the first K positions of the mask.
def precision_recall(flagged, is_error):
    hits = int(is_error[: len(flagged)].sum())
    precision = hits / len(flagged) if len(flagged) else 1.0
    recall = hits / int(is_error.sum()) if bool(is_error.any()) else 1.0
    return precision, recall
