"""The training core: :func:`fit` a model with a step function, on any device.

Read in this order: ``steps.py`` (what one step computes: SimCLR, supervised),
``loop.py`` (:func:`fit`: schedule, mixed precision, DDP, checkpoints), ``batches.py``
(data kept on the device, reproducible shuffling), ``callbacks.py`` (online probe, kNN
monitor), ``checkpoint.py`` (RNG states, atomic files), ``history.py``.

Example
-------
>>> import functools
>>> import course_utils as cu
>>> from course_utils.train import fit, simclr_step, OnlineProbe
>>> train = cu.data.load_dataset("shapes", n=512)                          # doctest: +SKIP
>>> encoder = cu.models.SmallConvNet()                                      # doctest: +SKIP
>>> model = cu.models.SimCLRNet(encoder, cu.models.ProjectionHead(encoder.feature_dim))  # doctest: +SKIP
>>> step = functools.partial(simclr_step, augment=cu.augment.SimCLRAugment(32))  # doctest: +SKIP
>>> history = fit(model, step, train, epochs=2, batch_size=128,
...               callbacks=[OnlineProbe(len(train.classes))])             # doctest: +SKIP
>>> history["loss"], history["probe_acc"]                                   # doctest: +SKIP
"""
from .callbacks import Callback, KNNMonitor, OnlineProbe, TrainState
from .history import History
from .loop import amp_dtype, fit, lr_factor
from .steps import simclr_step, supervised_step

__all__ = ["fit", "History", "simclr_step", "supervised_step", "Callback", "OnlineProbe",
           "KNNMonitor", "TrainState", "lr_factor", "amp_dtype"]
