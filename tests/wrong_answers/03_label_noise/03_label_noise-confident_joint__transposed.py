# ruff: noqa: F821  (exec'd in the notebook's namespace: torch, np and the notebook's other answers)
# Rows and columns swapped: rows the guessed true labels, columns the given ones.
def confident_joint(labels, pred_probs, calibrate=True):
    c = pred_probs.shape[1]
    confident = pred_probs >= per_class_thresholds(labels, pred_probs) - 1e-6
    guess = torch.where(confident, pred_probs, torch.full_like(pred_probs, -1.0)).argmax(1)
    counted = confident.any(1)
    joint = torch.bincount(guess[counted] * c + labels[counted], minlength=c * c).view(c, c)
    joint.diagonal().clamp_(min=1)
    if not calibrate:
        return joint
    return joint.double() / joint.sum(1, keepdim=True) * torch.bincount(labels, minlength=c)[:, None]
