"""Callbacks of :func:`~course_utils.train.fit`: hooks that watch training without steering it.

- :class:`Callback`: the base class (all hooks optional).
- :class:`OnlineProbe`: a linear classifier trained on the detached features of each
  step, the usual online estimate of representation quality (e.g. solo-learn; see the
  lecture's "linear evaluation protocol", Chen et al., 2020a, Sec. 4).
- :class:`KNNMonitor`: weighted kNN accuracy of the encoder's frozen features
  (Wu et al., 2018) at the end of every ``every`` epochs.

Example
-------
>>> probe = OnlineProbe(num_classes=10)
>>> knn = KNNMonitor(train, test, k=20)                            # doctest: +SKIP
>>> history = fit(model, step, train, epochs=10, batch_size=256,
...               callbacks=[probe, knn])                          # doctest: +SKIP
>>> history["probe_acc"], history["knn_acc"]                       # doctest: +SKIP
"""
from __future__ import annotations

import dataclasses

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from .._validate import check_positive
from ..distributed import is_distributed, world_size
from .batches import as_tensors
from .history import History


@dataclasses.dataclass
class TrainState:
    """What callbacks see of a :func:`~course_utils.train.fit` run.

    Attributes
    ----------
    model: the model being trained (unwrapped from DDP); optimizer: its optimizer.
    device: the training device.
    epoch: the current epoch, 0-based; epochs: how many the run has.
    step: optimizer steps done so far; step_in_epoch: of them, in the current epoch.
    steps_per_epoch: optimizer steps in a full epoch.
    history: the :class:`~course_utils.train.History` so far.
    """

    model: nn.Module
    optimizer: torch.optim.Optimizer
    device: torch.device
    epochs: int
    steps_per_epoch: int
    history: History
    epoch: int = 0
    step: int = 0
    step_in_epoch: int = 0


class Callback:
    """Base class: override the hooks you need.

    ``fit`` calls ``on_fit_start(state)`` once (before resuming from a checkpoint, which
    then calls ``load_state_dict``), ``on_step_end(state, batch, outputs)`` after every
    optimizer step (``outputs`` is the step's dict), and ``on_epoch_end(state)``, whose
    returned dict of numbers is merged into the epoch's history record. ``state_dict``
    must hold tensors and plain Python values (it is saved in checkpoints).
    """

    def on_fit_start(self, state: TrainState) -> None:
        """Called once before the first step."""

    def on_step_end(self, state: TrainState, batch, outputs: dict) -> None:
        """Called after every optimizer step with the batch and the step's outputs."""

    def on_epoch_end(self, state: TrainState) -> dict | None:
        """Called at the end of every epoch; return metrics to record, or ``None``."""

    def state_dict(self) -> dict:
        """What a checkpoint must keep of this callback."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Restore what :meth:`state_dict` returned."""


def _default_encoder(model):
    return model.encoder


class OnlineProbe(Callback):
    """A linear classifier trained online on the features each step returns.

    The head sees ``outputs[feature_key].detach()``, has its own Adam optimizer and is
    zero-initialized (no draw from the global RNG), so it never changes the encoder's
    training. Its accuracy on each batch, before its update on that batch, averaged
    over the epoch, is recorded as ``probe_acc``; with ``val`` also ``probe_val_acc``.
    Images labelled -1 (unlabeled) are left out of its loss and accuracy.
    Under DDP its gradients are averaged over ranks, so every rank holds the same head.

    Parameters
    ----------
    num_classes: number of classes ``K``.
    feature_key, label_key: where the step's outputs hold the features ``(N, D)`` and
        the labels ``(N,)`` (:func:`~course_utils.train.simclr_step` returns both).
    lr: Adam's learning rate for the head.
    val: optional ImageDataset or ``(images, labels)``, evaluated at each epoch end on
        features from ``encoder(model)`` (:func:`course_utils.evaluate.extract_features`).
    encoder: ``model -> encoder`` for ``val``; default ``model.encoder``.
    """

    def __init__(self, num_classes: int, *, feature_key: str = "features", label_key: str = "labels",
                 lr: float = 1e-3, val=None, encoder=_default_encoder):
        self.num_classes = check_positive(num_classes, "num_classes", integer=True)
        self.lr = check_positive(lr, "lr")
        self.feature_key, self.label_key, self.encoder = feature_key, label_key, encoder
        self.val = None if val is None else as_tensors(val, "val")
        self.head = self.optimizer = None
        self._correct = self._seen = 0

    def _build(self, in_dim: int) -> None:
        self.head = torch.nn.utils.skip_init(nn.Linear, in_dim, self.num_classes, device=self.device)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)
        self.optimizer = torch.optim.Adam(self.head.parameters(), lr=self.lr)

    def on_fit_start(self, state):
        self.device = state.device
        if self.head is not None:
            self.head.to(state.device)

    def on_step_end(self, state, batch, outputs):
        for key, arg in ((self.feature_key, "feature_key"), (self.label_key, "label_key")):
            if key not in outputs:
                raise KeyError(f"OnlineProbe: the step's outputs have no {key!r} ({arg}); "
                               f"got keys {sorted(outputs)}")
        x = outputs[self.feature_key].detach().float().flatten(1)
        y = outputs[self.label_key]
        if self.head is None:
            self._build(x.shape[1])
        labeled = y >= 0  # -1 marks unlabeled images (e.g. STL-10's unlabeled split)
        logits = self.head(x)
        self.optimizer.zero_grad(set_to_none=True)
        (F.cross_entropy(logits, y, ignore_index=-1, reduction="sum") / labeled.sum().clamp_min(1)).backward()
        if is_distributed():
            for p in self.head.parameters():
                dist.all_reduce(p.grad)
                p.grad /= world_size()
        self.optimizer.step()
        self._correct += (logits.argmax(1) == y).sum()
        self._seen += labeled.sum()

    def on_epoch_end(self, state):
        counts = torch.tensor([float(self._correct), float(self._seen)], device=state.device)
        if is_distributed():
            dist.all_reduce(counts)
        self._correct = self._seen = 0
        metrics = {"probe_acc": (counts[0] / counts[1].clamp_min(1)).item()}
        if self.val is not None:
            from ..evaluate import extract_features

            images, labels = self.val
            features = extract_features(self.encoder(state.model), images, device=state.device)
            with torch.no_grad():
                predicted = self.head(features.to(state.device)).argmax(1).cpu()
            metrics["probe_val_acc"] = (predicted == labels.cpu()).float().mean().item()
        return metrics

    def state_dict(self):
        return {"head": None if self.head is None else self.head.state_dict(),
                "optimizer": None if self.head is None else self.optimizer.state_dict(),
                "correct": int(self._correct), "seen": int(self._seen)}

    def load_state_dict(self, state):
        if state["head"] is not None:
            self._build(state["head"]["weight"].shape[1])
            self.head.load_state_dict(state["head"])
            self.optimizer.load_state_dict(state["optimizer"])
        self._correct, self._seen = state["correct"], state["seen"]


class KNNMonitor(Callback):
    """Weighted kNN accuracy of the frozen encoder, recorded as ``knn_acc``.

    At the end of every ``every``-th epoch (and the last), features of ``train`` and
    ``test`` come from :func:`course_utils.evaluate.extract_features` (eval mode, no
    gradient) and are scored by :func:`course_utils.evaluate.knn_accuracy`: cosine
    similarity, votes weighted by ``exp(sim / temperature)`` (Wu et al., 2018).

    Parameters
    ----------
    train, test: ImageDataset or ``(images, labels)``: the memory bank and the queries.
    encoder: ``model -> encoder``; default ``model.encoder`` (as in
        :class:`~course_utils.models.SimCLRNet`).
    k, temperature: kNN's neighbours and temperature.
    every: evaluate every this many epochs.
    """

    def __init__(self, train, test, *, encoder=_default_encoder, k: int = 20,
                 temperature: float = 0.07, every: int = 1):
        self.train, self.test = as_tensors(train, "train"), as_tensors(test, "test")
        self.encoder = encoder
        self.k = check_positive(k, "k", integer=True)
        self.temperature = check_positive(temperature, "temperature")
        self.every = check_positive(every, "every", integer=True)

    def on_epoch_end(self, state):
        done = state.epoch + 1
        if done % self.every and done != state.epochs:
            return None
        from ..evaluate import extract_features, knn_accuracy

        encoder = self.encoder(state.model)
        (train_x, train_y), (test_x, test_y) = self.train, self.test
        acc = knn_accuracy(extract_features(encoder, train_x, device=state.device), train_y.cpu(),
                           extract_features(encoder, test_x, device=state.device), test_y.cpu(),
                           k=self.k, temperature=self.temperature)
        return {"knn_acc": acc}
