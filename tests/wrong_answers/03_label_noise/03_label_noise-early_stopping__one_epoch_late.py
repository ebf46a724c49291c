# ruff: noqa: F821  (exec'd in the notebook's namespace: torch, np and the notebook's other answers)
# Off by one: waits patience + 1 epochs without improvement.
def early_stopping(scores, patience):
    if len(scores) == 0 or patience < 1:
        raise ValueError("bad arguments")
    best, best_epoch = None, 0
    for epoch, score in enumerate(scores, start=1):
        if best is None or score > best:
            best, best_epoch = score, epoch
        elif epoch - best_epoch > patience:
            return epoch, best_epoch
    return len(scores), best_epoch
