# ruff: noqa: F821  (exec'd in the notebook's namespace: torch, np and the notebook's other answers)
# Right values, but the class indices are created on the default device.
def per_class_thresholds(labels, pred_probs):
    one_hot = labels[:, None] == torch.arange(pred_probs.shape[1])
    return (pred_probs * one_hot).sum(0) / one_hot.sum(0)
