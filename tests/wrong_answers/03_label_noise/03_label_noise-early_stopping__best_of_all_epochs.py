# ruff: noqa: F821  (exec'd in the notebook's namespace: torch, np and the notebook's other answers)
# Keeps the best epoch of the whole run, including the epochs after training would have stopped.
def early_stopping(scores, patience):
    if len(scores) == 0 or patience < 1:
        raise ValueError("bad arguments")
    best_epoch = int(np.argmax(scores)) + 1
    best, last_best = None, 0
    for epoch, score in enumerate(scores, start=1):
        if best is None or score > best:
            best, last_best = score, epoch
        elif epoch - last_best >= patience:
            return epoch, best_epoch
    return len(scores), best_epoch
