"""Probes for 01_risk_minimization: the ERM step needs a live model and a live loss."""

import torch
from _autograder_probe_generic import standing_in  # the probes' shared module, loaded first


class Recording(torch.nn.Module):
    """A flatten-linear model that remembers the inputs it was given."""

    def __init__(self, weight, bias):
        super().__init__()
        classes, width = weight.shape
        self.inner = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(width, classes))
        self.inner.to(weight.device)
        with torch.no_grad():
            self.inner[1].weight.copy_(weight)
            self.inner[1].bias.copy_(bias)
        self.seen = []

    def forward(self, x):
        self.seen.append(x.detach().clone())
        return self.inner(x)


def cross_entropy(logits, labels):
    """Stands in for the student's empirical_risk (Exercise 1 grades that one)."""
    return torch.nn.functional.cross_entropy(logits, labels.long())


def _loss(out):
    return out["loss"] if isinstance(out, dict) else out


def erm_step(answer, namespace, inputs, labels, weight, bias):
    """One call of the student's ``erm_step`` on a :class:`Recording` model with ``weight`` (K, D) and
    ``bias`` (K,); evidence: the loss as returned (value, shape, graph), the inputs the model saw,
    whether any gradient existed before backward, and the gradients after it."""
    model = Recording(weight, bias)
    with standing_in(namespace, "empirical_risk", cross_entropy):
        loss = _loss(answer(model, (inputs, labels)))
    if not isinstance(loss, torch.Tensor):
        return {"loss": loss}
    evidence = {"loss": loss.detach(), "requires_grad": loss.requires_grad,
                "has_graph": loss.grad_fn is not None,
                "seen": model.seen, "grads_before": [p.grad is not None for p in model.parameters()]}
    evidence["grads"] = [None for _ in model.parameters()]
    if evidence["has_graph"] and loss.device.type != "meta" and loss.shape == ():
        try:
            loss.backward()
        except RuntimeError:   # a step that already backpropagated: the judge says why from grads_before
            return evidence
        evidence["grads"] = [p.grad for p in model.parameters()]
    return evidence


def erm_step_fit(answer, namespace, features, labels, weight, bias, *, epochs, batch_size, lr):
    """The weights of ``nn.Linear`` (from ``weight``, ``bias``) after ``course_utils.train.fit`` with the
    student's ``erm_step`` (empirical_risk replaced as above) and SGD(lr)."""
    from course_utils.train import fit

    model = torch.nn.Linear(weight.shape[1], weight.shape[0])
    with torch.no_grad():
        model.weight.copy_(weight)
        model.bias.copy_(bias)
    with standing_in(namespace, "empirical_risk", cross_entropy):
        fit(model, answer, (features, labels), epochs=epochs, batch_size=batch_size, device="cpu",
            progress=False, optimizer=lambda params: torch.optim.SGD(params, lr=lr))
    return [p.detach() for p in model.parameters()]
