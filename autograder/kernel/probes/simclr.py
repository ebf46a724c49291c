"""Probes for 04_simclr: a view pipeline's structure, NT-Xent's gradients (also under autocast),
and a SimCLR step with a live model, a recording augmentation and a stand-in NT-Xent."""
import contextlib

import torch
from torchvision.transforms import v2
from _autograder_probe_generic import standing_in  # the probes' shared module, loaded first

# the v2 classes a step is reported an instance of (isinstance, so subclasses count too)
KINDS = (v2.RandomResizedCrop, v2.RandomHorizontalFlip, v2.ColorJitter, v2.RandomGrayscale, v2.Grayscale,
         v2.ToDtype, v2.RandomApply, v2.Compose)
# the parameters a step is described by, where it has them
PARAMS = ("size", "scale", "ratio", "p", "brightness", "contrast", "saturation", "hue", "dtype",
          "num_output_channels", "antialias")


def _plain(value, depth=0):
    """``value`` as plain data: numbers, strings, None, lists of them; anything else by its repr."""
    if value is None or type(value) in (bool, int, float, str):
        return value
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, (int, float)):
        return float(value) if isinstance(value, float) else int(value)
    if isinstance(value, torch.dtype):
        return str(value).removeprefix("torch.")
    if isinstance(value, torch.Tensor) and value.numel() == 1 and value.device.type != "meta":
        return float(value)
    if isinstance(value, (list, tuple)) and depth < 3:
        return [_plain(v, depth + 1) for v in list(value)[:16]]
    if isinstance(value, dict) and depth < 3:
        return {str(k): _plain(v, depth + 1) for k, v in list(value.items())[:16]}
    return repr(value)[:200]


def _flatten(t, prob=1.0, depth=0):
    """[(transform, probability that it runs)] in the order they run, through Compose and RandomApply."""
    if depth < 16 and isinstance(t, v2.RandomApply):
        return [step for inner in t.transforms for step in _flatten(inner, prob * float(t.p), depth + 1)]
    if depth < 16 and isinstance(t, v2.Compose):
        return [step for inner in t.transforms for step in _flatten(inner, prob, depth + 1)]
    return [(t, prob)]


def _describe(t, prob):
    params = {}
    for name in PARAMS:
        try:
            if hasattr(t, name):
                params[name] = _plain(getattr(t, name))
        except Exception:   # a property that fails: not a parameter
            pass
    return {"class": type(t).__name__, "kinds": [k.__name__ for k in KINDS if isinstance(t, k)],
            "prob": float(prob), "params": params}


def views(answer, namespace, image_size, strength, images):
    """Build the student's pipeline ``answer(image_size, strength=strength)`` and describe its flattened
    steps (``"steps"``: class name, the v2 classes it is an instance of, parameters, the probability
    that it runs); then apply it to each of ``images`` (``"views"``: what it returned, or
    ``"apply_error"``: why it failed)."""
    pipeline = answer(image_size, strength=strength)
    evidence = {"type": type(pipeline).__name__,
                "steps": [_describe(t, q) for t, q in _flatten(pipeline)], "views": [], "apply_error": None}
    try:
        for image in images:
            out = pipeline(image)
            evidence["views"].append(torch.Tensor.as_subclass(out, torch.Tensor).detach().clone()
                                     if isinstance(out, torch.Tensor) else out)
    except Exception as exc:
        evidence["apply_error"] = f"{type(exc).__name__}: {str(exc)[:200]}"
    return evidence


def nt_xent_backward(answer, namespace, z1, z2, temperature, *, autocast=None):
    """The student's loss of ``z1``, ``z2`` (both may require grad), under ``torch.autocast("cpu",
    dtype=autocast)`` when ``autocast`` names a dtype, then backpropagated (outside autocast);
    evidence: the loss (detached), whether it has a graph, each input's ``.grad``, and the backward's
    error (None when it ran)."""
    context = torch.autocast("cpu", dtype=getattr(torch, autocast)) if autocast else contextlib.nullcontext()
    with context:
        loss = answer(z1, z2, temperature)
    if not isinstance(loss, torch.Tensor):
        return {"loss": loss, "has_graph": False, "grads": [None, None], "backward_error": "not a tensor"}
    evidence = {"loss": loss.detach(), "has_graph": loss.grad_fn is not None, "backward_error": None}
    try:
        loss.backward()
    except RuntimeError as exc:
        evidence["backward_error"] = str(exc)[:200]
    evidence["grads"] = [z1.grad, z2.grad]
    return evidence


class Net(torch.nn.Module):
    """A flatten-linear encoder and a tanh-linear projection head; ``forward`` returns ``(h, z)``."""

    def __init__(self, pixels, dim=5, out=3):
        super().__init__()
        self.encoder = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(pixels, dim))
        self.head = torch.nn.Sequential(torch.nn.Tanh(), torch.nn.Linear(dim, out))

    def forward(self, x):
        h = self.encoder(x)
        return h, self.head(h)


class RecordingAugment:
    """Random views (noise + a random crop of 1 pixel, from ``seed``); remembers every view it made."""

    def __init__(self, side, seed):
        self.side, self.calls = side, []
        self.gen = torch.Generator().manual_seed(seed)

    def __call__(self, images):
        x = images.float() / 255
        top, left = (int(v) for v in torch.randint(0, 2, (2,), generator=self.gen))
        x = x[..., top:top + self.side, left:left + self.side]
        x = x + 0.3 * torch.randn(x.shape, generator=self.gen)
        self.calls.append(x.detach().clone())
        return x


def nt_xent(z1, z2, temperature=0.5):
    """Stands in for the student's nt_xent while simclr_step is graded (Exercise 5 grades that)."""
    z = torch.nn.functional.normalize(torch.cat([z1, z2]).float(), dim=1)
    m = len(z)
    is_self = torch.eye(m, dtype=torch.bool, device=z.device)
    logits = (z @ z.T / temperature).masked_fill(is_self, float("-inf"))
    return torch.nn.functional.cross_entropy(logits, (torch.arange(m, device=z.device) + m // 2) % m)


def _tensor(value):
    return value.detach() if isinstance(value, torch.Tensor) else value


def simclr_step(answer, namespace, images, labels, params, *, temperature, seed=0, record=True):
    """One call of the student's ``simclr_step`` on a :class:`Net` (``params``: its parameters, in
    order, on the device they lie on), with a :class:`RecordingAugment` (``record``) or the plain
    ``x.float() / 255``, and this module's ``nt_xent`` standing in for the student's. Evidence: the
    dict's keys, the views the augmentation made, the loss (value, graph), the parameters' gradients
    after its backward, the features (value, requires_grad, graph) and the labels as returned."""
    pixels = params[0].shape[1]
    model = Net(pixels).to(params[0].device)
    with torch.no_grad():
        for param, value in zip(model.parameters(), params):
            param.copy_(value)
    augment = RecordingAugment(images.shape[-1] - 1, seed) if record else (lambda x: x.float() / 255)
    with standing_in(namespace, "nt_xent", nt_xent):
        out = answer(model, (images, labels), augment=augment, temperature=temperature)
    if not isinstance(out, dict):
        return {"keys": None, "type": type(out).__name__}
    evidence = {"keys": [k for k in out if type(k) is str], "type": "dict",
                "views": augment.calls if record else []}
    loss, features = out.get("loss"), out.get("features")
    evidence["loss"] = _tensor(loss)
    evidence["grads"], evidence["backward_error"] = {}, None
    if isinstance(loss, torch.Tensor) and loss.device.type != "meta" and loss.shape == ():
        model.zero_grad()
        try:
            loss.backward()
        except RuntimeError as exc:   # no graph, or a step that already backpropagated
            evidence["backward_error"] = str(exc)[:200]
        evidence["grads"] = {name: p.grad for name, p in model.named_parameters()}
    evidence["features"] = _tensor(features)
    evidence["features_requires_grad"] = isinstance(features, torch.Tensor) and features.requires_grad
    evidence["features_has_graph"] = isinstance(features, torch.Tensor) and features.grad_fn is not None
    evidence["labels"] = _tensor(out.get("labels"))
    return evidence
