"""Probes for 02_manifold_visualization: a default device is a live context of the kernel."""
import torch


def default_device(answer, namespace, *args, device="meta", **kwargs):
    """``answer(*args, **kwargs)`` called inside ``with torch.device(device)``: any tensor the answer makes
    without ``device=`` lands on ``device`` and clashes with the CPU inputs. Evidence: what it returned
    (an exception it raises reaches the judge as one of the same builtin type, for the judge to name).

    >>> default_device(lambda x: torch.zeros(2) + x, {}, torch.ones(2), device="cpu")
    tensor([1., 1.])
    """
    with torch.device(device):
        return answer(*args, **kwargs)
