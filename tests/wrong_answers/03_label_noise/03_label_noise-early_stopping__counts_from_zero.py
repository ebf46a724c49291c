# ruff: noqa: F821  (exec'd in the notebook's namespace: torch, np and the notebook's other answers)
# Epochs counted from 0.
def early_stopping(scores, patience):
    if len(scores) == 0 or patience < 1:
        raise ValueError("bad arguments")
    best, best_epoch = None, 0
    for epoch, score in enumerate(scores):
        if best is None or score > best:
            best, best_epoch = score, epoch
        elif epoch - best_epoch >= patience:
            return epoch, best_epoch
    return len(scores) - 1, best_epoch
