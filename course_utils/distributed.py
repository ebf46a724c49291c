"""Multi-process training helpers on top of ``torch.distributed``.

Launch a script with ``torchrun --nproc_per_node=G script.py``: :func:`init_distributed`
(called by :func:`course_utils.train.fit`) joins the process group from torchrun's
environment (``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``),
with NCCL on CUDA and gloo on CPU. Without torchrun every helper answers as for a single
process, so the same code runs in a notebook.

Example
-------
>>> import torch
>>> from course_utils.distributed import gather_with_grad, is_distributed, world_size
>>> is_distributed(), world_size()
(False, 1)
>>> gather_with_grad(torch.ones(2, 3)).shape   # every rank's rows, concatenated
torch.Size([2, 3])
"""
from __future__ import annotations

import atexit
import os

import torch
import torch.distributed as dist

from .runtime import get_device


def is_distributed() -> bool:
    """True when a process group with more than one process is initialized."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    """This process's rank in the process group (0 without one)."""
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def world_size() -> int:
    """The number of processes in the process group (1 without one)."""
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


class _GatherWithGrad(torch.autograd.Function):
    """``all_gather`` + ``cat`` forward; backward sums the gradient over ranks, keeps own rows."""

    @staticmethod
    def forward(ctx, x):
        parts = [torch.empty_like(x) for _ in range(dist.get_world_size())]
        dist.all_gather(parts, x.contiguous())
        ctx.rows = slice(dist.get_rank() * x.shape[0], (dist.get_rank() + 1) * x.shape[0])
        return torch.cat(parts)

    @staticmethod
    def backward(ctx, grad):
        # every rank's loss depends on our rows: d(sum of losses)/d(our rows) is the sum
        grad = grad.contiguous().clone()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        return grad[ctx.rows]


def gather_with_grad(x: torch.Tensor) -> torch.Tensor:
    """Concatenate ``x`` from every rank along dim 0, differentiably.

    Forward: ``all_gather`` then ``cat`` in rank order. Backward: the incoming gradient
    is summed over ranks (``all_reduce``) and this rank's rows are returned, so each
    rank's ``x`` receives the gradient of the sum of all ranks' losses. (DDP then averages
    parameter gradients over ranks, giving the gradient of the mean loss.) Works on gloo
    and NCCL. Without a multi-process group it returns ``x`` unchanged.

    Parameters
    ----------
    x: ``(n, ...)`` tensor; every rank must pass the same shape.

    Returns
    -------
    ``(world_size * n, ...)`` tensor; rows ``rank * n`` to ``(rank + 1) * n`` are ``x``.
    """
    return _GatherWithGrad.apply(x) if is_distributed() else x


def _leave():
    if dist.is_initialized():
        dist.destroy_process_group()


def init_distributed(device=None) -> torch.device:
    """Join torchrun's process group if launched by it; return this process's device.

    When ``WORLD_SIZE`` > 1 and no group is initialized yet, initializes one from the
    environment: NCCL with device ``cuda:LOCAL_RANK`` when CUDA is available, else gloo on
    the CPU. The group is destroyed at interpreter exit. An already initialized group is
    used as it is.

    Parameters
    ----------
    device: the device to train on; by default ``cuda:LOCAL_RANK`` in a multi-process run
        with CUDA, else :func:`course_utils.get_device`.
    """
    if not (dist.is_available() and dist.is_initialized()) and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        if torch.cuda.is_available():
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        atexit.register(_leave)
    if device is not None:
        return torch.device(device)
    if is_distributed() and torch.cuda.is_available():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", torch.cuda.current_device())))
    return get_device()
