"""Checkpoint files and random-number-generator states for exact resume.

A checkpoint is a plain dict saved with :func:`torch.save` (loadable with
``weights_only=True``): written to a temporary file, flushed to disk, then moved over
the old one with :func:`os.replace`, so a run killed mid-write leaves the previous
checkpoint intact.
"""
from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import torch


def rng_state(device: torch.device) -> dict:
    """The states of python's ``random``, numpy's global generator, torch's CPU generator
    and, when training on CUDA, every CUDA generator."""
    name, keys, pos, has_gauss, gauss = np.random.get_state()
    state = {"python": random.getstate(), "numpy": (name, torch.from_numpy(keys.astype(np.int64)),
                                                      pos, has_gauss, gauss),
             "torch": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Inverse of :func:`rng_state`."""
    random.setstate(state["python"])
    name, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    torch.set_rng_state(state["torch"])
    if "cuda" in state:
        torch.cuda.set_rng_state_all(state["cuda"])


def save_atomic(obj, path) -> None:
    """``torch.save(obj, path)`` that never leaves a partly written ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        torch.save(obj, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def load(path) -> dict:
    """Load a checkpoint written by :func:`save_atomic` onto the CPU."""
    return torch.load(path, map_location="cpu", weights_only=True)
