"""The training loop: :func:`fit`."""
from __future__ import annotations

import math
import os
import time

import torch
import torch.distributed as dist
from torch import nn
from tqdm.auto import tqdm

from .._validate import check_positive, check_seed
from ..distributed import init_distributed, is_distributed, rank, world_size
from ..runtime import seed_everything
from . import checkpoint as ckpt
from .batches import make_batches
from .callbacks import Callback, TrainState
from .history import History


def lr_factor(step: int, total: int, warmup: int) -> float:
    """The schedule: linear warmup over ``warmup`` steps, then cosine decay to 0 at ``total``.

    Multiplies each parameter group's initial learning rate at optimizer step ``step``
    (0-based): ``(step + 1) / warmup`` during warmup, then
    ``(1 + cos(pi * (step - warmup) / (total - warmup))) / 2`` (Loshchilov & Hutter, 2017).
    """
    if step < warmup:
        return (step + 1) / warmup
    return 0.5 * (1.0 + math.cos(math.pi * (step - warmup) / (total - warmup)))


def amp_dtype(amp, device: torch.device) -> torch.dtype | None:
    """The autocast dtype that :func:`fit` uses for its ``amp`` argument on ``device``.

    - ``False``: ``None`` (full precision) on any device;
    - ``"auto"``: on CUDA ``torch.bfloat16`` where the GPU supports it, else ``torch.float16``;
      ``None`` on any other device;
    - ``"bf16"``: ``torch.bfloat16`` on any device;
    - ``"fp16"``: ``torch.float16`` on CUDA; a ``ValueError`` on any other device.

    Any other ``amp`` is a ``ValueError``.
    """
    if amp is False:
        return None
    if amp == "auto":
        if device.type != "cuda":
            return None
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if amp == "bf16":
        return torch.bfloat16
    if amp == "fp16":
        if device.type != "cuda":
            raise ValueError(f"amp='fp16' needs a CUDA device (float16 with a grad scaler), got device "
                             f"{device}; use amp='bf16' or amp=False")
        return torch.float16
    raise ValueError(f"amp must be one of 'auto', 'bf16', 'fp16' or False, got {amp!r}")


def _make_optimizer(optimizer, model: nn.Module, lr: float, weight_decay: float):
    params = [p for p in model.parameters() if p.requires_grad]
    if optimizer is None:
        if not params:
            raise ValueError("model has no trainable parameters (requires_grad=True)")
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    made = optimizer
    if callable(optimizer) and not isinstance(optimizer, torch.optim.Optimizer):
        made = optimizer(params)
    if not isinstance(made, torch.optim.Optimizer):
        raise TypeError("optimizer must be None, a torch.optim.Optimizer or a callable params -> Optimizer, "
                        f"got {type(made).__name__}")
    return made


def _as_outputs(out) -> dict:
    """The step's return value as a dict with a scalar ``"loss"``."""
    if isinstance(out, torch.Tensor):
        out = {"loss": out}
    if not isinstance(out, dict) or not isinstance(out.get("loss"), torch.Tensor):
        raise TypeError("step must return a loss tensor or a dict with a 'loss' tensor, "
                        f"got {type(out).__name__}")
    if out["loss"].ndim != 0:
        raise ValueError(f"step's loss must be a scalar tensor, got shape {tuple(out['loss'].shape)}")
    return out


def _restore(path, plan: dict, state: TrainState, scaler, callbacks) -> dict:
    """Load the checkpoint at ``path`` into the model, optimizer, scaler, callbacks and ``state``."""
    saved = ckpt.load(path)
    for key, value in plan.items():
        if saved["plan"][key] != value:
            raise ValueError(f"checkpoint {os.fspath(path)!r} comes from a run with "
                             f"{key}={saved['plan'][key]}, this one has {key}={value}; pass a new "
                             "checkpoint path (or delete the file) to start afresh")
    if len(saved["callbacks"]) != len(callbacks):
        raise ValueError(f"callbacks: the checkpoint {os.fspath(path)!r} holds {len(saved['callbacks'])} "
                         f"callback states, got {len(callbacks)} callbacks")
    state.model.load_state_dict(saved["model"])
    state.optimizer.load_state_dict(saved["optimizer"])
    scaler.load_state_dict(saved["scaler"])
    for cb, cb_state in zip(callbacks, saved["callbacks"]):
        cb.load_state_dict(cb_state)
    state.history = History.from_dict(saved["history"])
    state.epoch, state.step, state.step_in_epoch = saved["epoch"], saved["step"], saved["step_in_epoch"]
    return saved


def _check_optional_positive(value, name):
    return None if value is None else check_positive(value, name, integer=True)


def fit(model: nn.Module, step, data, *, epochs: int, batch_size: int | None = None, optimizer=None,
        lr: float = 1e-3, weight_decay: float = 1e-4, warmup_epochs: float = 0, device=None,
        amp="auto", callbacks=(), checkpoint=None, checkpoint_every: int | None = None,
        seed: int = 0, progress: bool = True, max_steps: int | None = None) -> History:
    """Train ``model`` by calling ``step`` on batches of ``data``; return the :class:`History`.

    Every optimizer step: set the scheduled learning rate, run ``step(model, batch)``
    under :func:`torch.autocast`, backpropagate its loss (through a grad scaler for
    fp16), update, then call the callbacks' ``on_step_end``.

    Parameters
    ----------
    model: the module to train; moved to ``device``. Under ``torch.distributed`` (launched
        by ``torchrun`` with ``WORLD_SIZE`` > 1, or a group already initialized) it is
        wrapped in ``DistributedDataParallel`` (BatchNorm statistics stay per rank unless
        you convert it with ``nn.SyncBatchNorm.convert_sync_batchnorm`` first).
    step: ``step(model, batch) -> loss`` or ``-> {"loss": loss, ...}``, e.g.
        :func:`~course_utils.train.simclr_step` bound with :func:`functools.partial`. It
        gets the DDP wrapper as ``model`` under DDP; callbacks get the model itself.
    data: an ImageDataset or a tuple ``(images (N, ...), labels (N,))`` of tensors: kept on
        ``device`` when it fits, shuffled each epoch by a generator seeded by
        ``(seed, epoch)``, drop-last batches ``(images, labels)`` with images as stored
        (uint8). Or a re-iterable of batches with a length, e.g. a ``DataLoader`` (under
        DDP it must yield this rank's batches, e.g. with a ``DistributedSampler``).
    epochs: number of passes over ``data``.
    batch_size: the global batch size for tensor data (divisible by the world size; each
        rank takes a contiguous share of every batch). ``None`` for an iterable.
    optimizer: ``None`` for ``AdamW(lr, weight_decay)``, an optimizer over ``model``'s
        parameters, or a callable ``params -> Optimizer``.
    lr, weight_decay: for the default AdamW. The schedule multiplies every group's
        initial lr by :func:`lr_factor`: linear warmup over ``warmup_epochs`` (may be
        fractional), then cosine decay to 0 at the end of ``epochs``.
    device: default ``cuda:LOCAL_RANK`` under DDP, else :func:`course_utils.get_device`.
    amp: ``"auto"`` (bf16 on CUDA when supported, else fp16 with a grad scaler; off on CPU
        and MPS), ``"bf16"``, ``"fp16"`` (CUDA only) or ``False``.
    callbacks: :class:`~course_utils.train.Callback` instances, e.g.
        :class:`~course_utils.train.OnlineProbe`, :class:`~course_utils.train.KNNMonitor`.
    checkpoint: a file path. If it exists, training resumes from it (it must come from a
        run with the same ``epochs``, ``batch_size``, ``seed``, steps per epoch and world size);
        it is written at the end of every epoch and every ``checkpoint_every`` steps. It
        holds the model, optimizer, grad scaler, callbacks, history, position and every
        RNG state, so a run killed at any step and resumed ends with the same weights as
        one never stopped (on CPU with a fixed seed; the schedule is a function of the
        step, so it needs no state). Only rank 0 writes it.
    checkpoint_every: also write the checkpoint every this many optimizer steps.
    seed: seeds python, numpy and torch at the start (``seed + rank`` under DDP, so the
        ranks draw different augmentations) and the per-epoch shuffling.
    progress: show a tqdm bar (rank 0 only).
    max_steps: stop after this many optimizer steps in all (the schedule still spans
        ``epochs``); a partial last epoch is recorded but not checkpointed.

    Returns
    -------
    :class:`~course_utils.train.History`: per-epoch records and per-step losses and lrs.

    Example
    -------
    >>> import functools
    >>> from course_utils.train import fit, simclr_step
    >>> step = functools.partial(simclr_step, augment=augment, temperature=0.5)  # doctest: +SKIP
    >>> history = fit(model, step, train, epochs=10, batch_size=256)          # doctest: +SKIP
    >>> history["loss"]                                                       # doctest: +SKIP
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not callable(step):
        raise TypeError(f"step must be callable as step(model, batch), got {type(step).__name__}")
    check_positive(epochs, "epochs", integer=True)
    check_positive(lr, "lr")
    if isinstance(weight_decay, bool) or not isinstance(weight_decay, (int, float)) or not weight_decay >= 0:
        raise ValueError(f"weight_decay must be a number >= 0, got {weight_decay!r}")
    if isinstance(warmup_epochs, bool) or not isinstance(warmup_epochs, (int, float)) \
            or not 0 <= warmup_epochs <= epochs:
        raise ValueError(f"warmup_epochs must be a number in [0, epochs={epochs}], got {warmup_epochs!r}")
    _check_optional_positive(checkpoint_every, "checkpoint_every")
    _check_optional_positive(max_steps, "max_steps")
    check_seed(seed)
    callbacks = list(callbacks)
    for cb in callbacks:
        if not isinstance(cb, Callback):
            raise TypeError(f"callbacks must hold Callback instances, got {type(cb).__name__}")

    device = init_distributed(device)
    seed_everything((seed + rank()) % 2**32)
    dtype = amp_dtype(amp, device)
    model.to(device)
    batches = make_batches(data, batch_size=batch_size, device=device, seed=seed)
    steps_per_epoch = len(batches)
    total = epochs * steps_per_epoch
    last_step = total if max_steps is None else min(total, max_steps)
    warmup = round(warmup_epochs * steps_per_epoch)
    optimizer = _make_optimizer(optimizer, model, lr, weight_decay)
    for group in optimizer.param_groups:
        group.setdefault("initial_lr", group["lr"])
    scaler = torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)
    state = TrainState(model=model, optimizer=optimizer, device=device, epochs=epochs,
                       steps_per_epoch=steps_per_epoch, history=History())
    for cb in callbacks:
        cb.on_fit_start(state)

    plan = {"epochs": epochs, "batch_size": batch_size, "seed": seed, "steps_per_epoch": steps_per_epoch,
            "world_size": world_size()}
    resumed, elapsed = None, 0.0
    if checkpoint is not None and os.path.exists(checkpoint):
        resumed = _restore(checkpoint, plan, state, scaler, callbacks)
        elapsed = resumed["elapsed"]
    history = state.history
    net = (nn.parallel.DistributedDataParallel(model, device_ids=[device] if device.type == "cuda" else None)
           if is_distributed() else model)
    pending = []  # this epoch's step losses still on the device (read once per epoch)

    def flush():
        if pending:
            losses = torch.stack(pending).float()
            if is_distributed():
                dist.all_reduce(losses)
                losses /= world_size()
            values = losses.tolist()
            for i, v in enumerate(values):
                if not math.isfinite(v):
                    raise FloatingPointError(f"the loss is {v} at step {len(history.step_loss) + i}; "
                                             "try a lower lr (or amp=False)")
            history.step_loss.extend(values)
            pending.clear()

    def save(epoch_rng, elapsed_s):
        flush()
        rng = {**ckpt.rng_state(device), "epoch_torch": epoch_rng}
        rngs = [rng]
        if is_distributed():
            rngs = [None] * world_size()
            dist.all_gather_object(rngs, rng)
        if rank() == 0:
            ckpt.save_atomic({
                "plan": plan, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "scaler": scaler.state_dict(), "callbacks": [cb.state_dict() for cb in callbacks],
                "history": history.to_dict(), "epoch": state.epoch, "step": state.step,
                "step_in_epoch": state.step_in_epoch, "elapsed": elapsed_s,
                "rng": rngs}, checkpoint)
        if is_distributed():
            dist.barrier()  # the file is complete before any rank can read it (e.g. in a next fit)

    bar = tqdm(total=last_step, initial=state.step, disable=not progress or rank() != 0, unit="step")
    if resumed is not None and not bar.disable:
        bar.write(f"resuming from {os.fspath(checkpoint)}: epoch {state.epoch + 1}, step {state.step}")
    autocast = torch.autocast(device.type, dtype=dtype, enabled=dtype is not None)
    while state.epoch < epochs and state.step < last_step:
        started = time.perf_counter() - elapsed
        if resumed is not None:
            ckpt.set_rng_state(resumed["rng"][rank()])
            epoch_rng = resumed["rng"][rank()]["epoch_torch"]
            resumed, elapsed = None, 0.0
        else:
            epoch_rng = torch.get_rng_state()
        # a DataLoader draws its shuffling from torch's RNG when iterated: replay the epoch's start
        now = torch.get_rng_state()
        torch.set_rng_state(epoch_rng)
        epoch_batches = batches.epoch(state.epoch, state.step_in_epoch)
        if state.step_in_epoch:
            torch.set_rng_state(now)
        bar.set_description(f"epoch {state.epoch + 1}/{epochs}")
        net.train()
        for batch in epoch_batches:
            lr_now = lr_factor(state.step, total, warmup)
            for group in optimizer.param_groups:
                group["lr"] = group["initial_lr"] * lr_now
            optimizer.zero_grad(set_to_none=True)
            with autocast:
                outputs = _as_outputs(step(net, batch))
            scaler.scale(outputs["loss"]).backward()
            scaler.step(optimizer)
            scaler.update()
            state.step += 1
            state.step_in_epoch += 1
            pending.append(outputs["loss"].detach())
            history.step_lr.append(optimizer.param_groups[0]["lr"])
            for cb in callbacks:
                cb.on_step_end(state, batch, outputs)
            bar.update()
            if state.step % 10 == 0 and not bar.disable:  # .item() waits for the device
                bar.set_postfix(loss=f"{pending[-1].item():.4f}", refresh=False)
            if state.step == last_step:
                break
            if checkpoint is not None and checkpoint_every and state.step % checkpoint_every == 0 \
                    and state.step_in_epoch < steps_per_epoch:
                save(epoch_rng, time.perf_counter() - started)
        flush()
        done = state.step - state.step_in_epoch
        record = {"epoch": state.epoch + 1, "step": state.step,
                  "loss": sum(history.step_loss[done:]) / state.step_in_epoch,
                  "lr": history.step_lr[-1]}
        for cb in callbacks:
            record.update(cb.on_epoch_end(state) or {})
        record["time_s"] = time.perf_counter() - started
        history.records.append(record)
        bar.set_postfix({k: f"{v:.4g}" for k, v in record.items() if k not in ("epoch", "step", "time_s")
                         and isinstance(v, float)})
        if state.step_in_epoch == steps_per_epoch:
            state.epoch, state.step_in_epoch = state.epoch + 1, 0
            if checkpoint is not None:
                save(torch.get_rng_state(), 0.0)
    bar.close()
    return history
