# ruff: noqa: F821  (exec'd in the notebook's namespace: torch, np and the notebook's other answers)
# Right answer, but the flag mask is created on the default device instead of labels'.
def find_label_issues(labels, pred_probs, joint):
    c = pred_probs.shape[1]
    flagged = torch.zeros(len(labels), dtype=torch.bool)
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
    index = flagged.nonzero().squeeze(1)
    return index[self_confidence[index].argsort(stable=True)]
