"""What :func:`~course_utils.train.fit` returns: per-epoch records and per-step values."""
from __future__ import annotations

import dataclasses


@dataclasses.dataclass
class History:
    """The record of one training run (picklable; :meth:`to_dict` gives plain Python).

    Attributes
    ----------
    records: one dict per epoch: ``epoch`` (1-based count of epochs done), ``step``
        (optimizer steps done), ``loss`` (mean step loss, averaged over ranks), ``lr``
        (the last step's learning rate), ``time_s`` (wall time), plus the metrics the
        callbacks' ``on_epoch_end`` returned.
    step_loss: the loss of every optimizer step (averaged over ranks).
    step_lr: the learning rate of every optimizer step (of the first parameter group).

    Example
    -------
    >>> h = History([{"epoch": 1, "loss": 2.0}, {"epoch": 2, "loss": 1.5}])
    >>> h["loss"]
    [2.0, 1.5]
    """

    records: list = dataclasses.field(default_factory=list)
    step_loss: list = dataclasses.field(default_factory=list)
    step_lr: list = dataclasses.field(default_factory=list)

    def __getitem__(self, key: str) -> list:
        """One value per epoch (``None`` where an epoch lacks ``key``, e.g. ``every=2`` metrics)."""
        if not any(key in r for r in self.records):
            raise KeyError(f"no epoch recorded {key!r}; recorded keys: {self.keys()}")
        return [r.get(key) for r in self.records]

    def __len__(self) -> int:
        return len(self.records)

    def keys(self) -> list:
        """The keys recorded in any epoch, in first-seen order."""
        return list(dict.fromkeys(k for r in self.records for k in r))

    def to_dict(self) -> dict:
        """Plain lists and dicts, e.g. for ``json.dump`` or a checkpoint."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "History":
        """Inverse of :meth:`to_dict`."""
        return cls(**d)
