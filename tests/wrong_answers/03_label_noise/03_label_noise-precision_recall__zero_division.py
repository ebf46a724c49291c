# ruff: noqa: F821  (exec'd in the notebook's namespace: torch, np and the notebook's other answers)
# No convention for empty sets: divides by zero when nothing is flagged or nothing is wrong.
def precision_recall(flagged, is_error):
    hits = int(is_error[flagged].sum())
    return hits / len(flagged), hits / int(is_error.sum())
