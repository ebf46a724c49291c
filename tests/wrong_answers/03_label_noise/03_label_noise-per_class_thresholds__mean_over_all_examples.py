# ruff: noqa: F821  (exec'd in the notebook's namespace: torch, np and the notebook's other answers)
# Averages p(j) over every example instead of over the examples labeled j.
def per_class_thresholds(labels, pred_probs):
    return pred_probs.mean(0)
