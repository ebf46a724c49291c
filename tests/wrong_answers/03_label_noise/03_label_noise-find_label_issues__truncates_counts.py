# ruff: noqa: F821  (exec'd in the notebook's namespace: torch, np and the notebook's other answers)
# int() truncates the calibrated counts (1.7 becomes 1) instead of rounding them.
def find_label_issues(labels, pred_probs, joint):
    c = pred_probs.shape[1]
    flagged = torch.zeros(len(labels), dtype=torch.bool, device=labels.device)
    for i in range(c):
        members = (labels == i).nonzero().squeeze(1)
        for j in range(c):
            n = min(int(joint[i, j]), len(members))
            if j != i and n > 0:
                margin = pred_probs[members, j] - pred_probs[members, i]
                flagged[members[margin.topk(n).indices]] = True
    self_confidence = pred_probs.gather(1, labels[:, None]).squeeze(1)
    flagged &= self_confidence < pred_probs.max(1).values
    index = flagged.nonzero().squeeze(1)
    return index[self_confidence[index].argsort(stable=True)]
