# ruff: noqa: F821  (exec'd in the notebook's namespace: torch, np and the notebook's other answers)
# The right examples, in index order rather than most suspicious first.
def find_label_issues(labels, pred_probs, joint):
    c = pred_probs.shape[1]
    flagged = torch.zeros(len(labels), dtype=torch.bool, device=labels.device)
    counts = torch.round(joint).long()
    for i in range(c):
        members = (labels == i).nonzero().squeeze(1)
        for j in range(c):
            n = min(int(counts[i, j]), len(members))
            if j != i and n > 0:
                margin = pred_probs[members, j] - pred_probs[members, i]
                flagged[members[margin.topk(n).indices]] = True
    self_confidence = pred_probs.gather(1, labels[:, None]).squeeze(1)
    flagged &= self_confidence < pred_probs.max(1).values
    return flagged.nonzero().squeeze(1)
