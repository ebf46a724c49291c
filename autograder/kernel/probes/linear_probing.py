"""Probes for 05_linear_probing: feature extraction and the linear probe need a live encoder.

Each probe builds a small encoder of a named architecture (``conv``, ``probe``, ``flat_bn``,
``flatten``, ``recorder``: see :func:`build`) from the weights and buffers the judge sends,
puts its submodules in the given train/eval modes, calls the student's function on it and
returns what the encoder looks like afterwards (modes, parameters and buffers,
``requires_grad`` flags, which parameters a gradient reached) next to what the function
returned. The judge rebuilds the same encoder from the same weights to compute its reference.
"""

import torch
from torch import nn
from _autograder_probe_generic import standing_in  # the probes' shared module, loaded first


class Recorder(nn.Module):
    """No parameters; remembers the batches it sees and returns them flattened."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def forward(self, x):
        self.seen.append(x.detach().clone())
        return x.flatten(1)


class Encoder(nn.Module):
    """Flatten, Linear, BatchNorm, Tanh, Dropout; records the name of every parameter a gradient reaches."""

    def __init__(self, side=4, dim=6):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(3 * side * side, dim), nn.BatchNorm1d(dim),
                                 nn.Tanh(), nn.Dropout(0.3))
        self.reached = []
        for name, param in self.named_parameters():
            param.register_hook(lambda grad, name=name: self.reached.append(name))

    def forward(self, x):
        return self.net(x)


def build(kind, *, state=None, device=None, modes=None, **sizes):
    """The encoder ``kind`` with ``sizes``, loaded with ``state`` (a state dict), moved to ``device``,
    its submodules (``modules()`` order) set to ``modes`` (True: train)."""
    if kind == "conv":       # Conv, BatchNorm2d, ReLU, Dropout, Flatten, Linear, BatchNorm1d
        channels, side, dim = sizes.get("channels", 3), sizes.get("side", 4), sizes.get("dim", 5)
        net = nn.Sequential(nn.Conv2d(channels, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                            nn.Dropout(0.5), nn.Flatten(), nn.Linear(4 * side * side, dim),
                            nn.BatchNorm1d(dim))
    elif kind == "probe":
        net = Encoder(sizes.get("side", 4), sizes.get("dim", 6))
    elif kind == "flat_bn":  # Flatten, Linear, BatchNorm1d
        width, dim = sizes["width"], sizes["dim"]
        net = nn.Sequential(nn.Flatten(), nn.Linear(width, dim), nn.BatchNorm1d(dim))
    elif kind == "flatten":
        net = nn.Flatten()
    elif kind == "recorder":
        net = Recorder()
    else:
        raise ValueError(f"unknown encoder {kind!r}")
    if state is not None:
        net.load_state_dict(state)
    if device is not None:
        net.to(device)
    if modes is not None:
        for module, training in zip(net.modules(), modes):
            module.training = bool(training)
    return net


def _state(net):
    return {key: value.detach().clone() for key, value in net.state_dict().items()}


def _after(net):
    """What the encoder looks like after the answer ran."""
    return {"modes": [m.training for m in net.modules()], "state": _state(net),
            "requires_grad": [q.requires_grad for q in net.parameters()],
            "grads_set": [q.grad is not None for q in net.parameters()],
            "reached": list(getattr(net, "reached", [])), "seen": list(getattr(net, "seen", []))}


def _tensor(value):
    """A returned value as evidence: a tensor detached (with its autograd flags), anything else as is."""
    if isinstance(value, torch.Tensor):
        return {"value": value.detach(), "is_tensor": True, "requires_grad": value.requires_grad,
                "has_graph": value.grad_fn is not None}
    return {"value": value, "is_tensor": False, "requires_grad": False, "has_graph": False}


def extract_features(answer, namespace, encoder, images, *args, state=None, device=None, modes=None,
                     **kwargs):
    """``answer(net, images, *args, **kwargs)`` on the encoder ``encoder`` (a dict: ``kind`` and sizes,
    see :func:`build`); evidence: the returned features (see :func:`_tensor`) and the encoder after the
    call (``modes``, ``state``, ``requires_grad``, ``grads_set``, ``reached``, ``seen``: the recorder's
    batches)."""
    net = build(**encoder, state=state, device=device, modes=modes)
    out = answer(net, images, *args, **kwargs)
    return {**_tensor(out), "encoder": _after(net)}


def reference_features(encoder, images, batch_size=256):
    """Stands in for the student's extract_features (Exercise 1 grades that one)."""
    modes = [m.training for m in encoder.modules()]
    encoder.eval()
    with torch.no_grad():
        out = encoder(images.float() / 255 if images.dtype == torch.uint8 else images).float()
    for m, mode in zip(encoder.modules(), modes):
        m.train(mode)
    return out


def _layer(W):
    """The returned probe as evidence: whether it is an ``nn.Linear``, and its weight and bias."""
    evidence = {"is_linear": isinstance(W, nn.Linear), "type": type(W).__name__, "weight": None, "bias": None}
    if evidence["is_linear"]:
        weight, bias = getattr(W, "weight", None), getattr(W, "bias", None)
        evidence["weight"] = weight.detach().clone() if isinstance(weight, torch.Tensor) else None
        evidence["bias"] = bias.detach().clone() if isinstance(bias, torch.Tensor) else None
    return evidence


def train_linear_probe(answer, namespace, encoder, images, labels, num_classes, *, state=None, device=None,
                       modes=None, **kwargs):
    """``answer(net, images, labels, num_classes, **kwargs)`` on the encoder ``encoder`` (as in
    :func:`extract_features`), the student's ``extract_features`` replaced by :func:`reference_features`;
    evidence: the returned layer (``is_linear``, ``type``, ``weight``, ``bias``) and the encoder after
    the call (``modes``, ``state``, ``requires_grad``, ``grads_set``, ``reached``: the names of the
    parameters a gradient reached)."""
    net = build(**encoder, state=state, device=device, modes=modes)
    with standing_in(namespace, "extract_features", reference_features):
        W = answer(net, images, labels, num_classes, **kwargs)
    return {**_layer(W), "encoder": _after(net)}
