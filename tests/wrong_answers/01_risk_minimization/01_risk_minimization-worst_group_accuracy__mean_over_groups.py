"""Averages the group accuracies (a balanced accuracy) instead of taking the worst one."""


def worst_group_accuracy(predictions, labels, groups):
    correct = (predictions == labels).float()
    accuracies = [correct[groups == g].mean().item() for g in groups.unique()]
    return sum(accuracies) / len(accuracies)
