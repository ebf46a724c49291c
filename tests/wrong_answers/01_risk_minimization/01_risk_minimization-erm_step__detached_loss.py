"""Returns the loss detached from the graph: fit has nothing to backpropagate, so nothing trains."""
import torch.nn.functional as F

from course_utils.data import to_float


def erm_step(model, batch):
    inputs, labels = batch
    return F.cross_entropy(model(to_float(inputs)), labels).detach()
