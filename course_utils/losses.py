"""Contrastive losses.

- :func:`nt_xent`: SimCLR's normalized temperature-scaled cross-entropy (Chen et al., 2020a).

References
----------
Chen, Kornblith, Norouzi, Hinton (2020a). A Simple Framework for Contrastive Learning of
Visual Representations. ICML. https://arxiv.org/abs/2002.05709 (Eq. 1 and Algorithm 1).
"""
from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F

from ._validate import check_positive, check_same_device, check_tensor
from .distributed import gather_with_grad, rank, world_size


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.5) -> torch.Tensor:
    r"""SimCLR's NT-Xent loss between two views of a batch.

    With :math:`z = [z^{(1)}; z^{(2)}]` the :math:`2N` embeddings and
    :math:`s_{ij} = z_i^\top z_j / (\lVert z_i\rVert \lVert z_j\rVert)`, each anchor
    :math:`i` has its other view :math:`p(i)` as the positive and the other :math:`2N-2`
    embeddings as negatives:

    .. math::
        \ell_i = -\log \frac{\exp(s_{i,p(i)}/\tau)}{\sum_{k \ne i} \exp(s_{ik}/\tau)},
        \qquad \mathcal{L} = \frac{1}{2N} \sum_{i=1}^{2N} \ell_i .

    The similarities and the log-softmax are computed in float32 (float64 inputs stay
    float64) with autocast disabled, so the loss is stable under bf16/fp16 autocast and
    for small temperatures.

    Under ``torch.distributed`` (initialized, world size > 1) the embeddings of all ranks
    are gathered with gradient (:func:`course_utils.distributed.gather_with_grad`), so the
    negatives come from the global batch; the returned loss is the mean over this rank's
    :math:`2N` anchors, hence the mean of the ranks' losses equals the single-process loss
    on the concatenated batch. Every rank must then pass the same ``N``.

    Parameters
    ----------
    z1, z2: floating tensors ``(N, D)`` on one device, the embeddings of the two views;
        row ``i`` of ``z1`` and row ``i`` of ``z2`` come from the same image.
    temperature: :math:`\tau > 0`.

    Returns
    -------
    A scalar tensor (float32, or float64 for float64 inputs) on the inputs' device.

    References
    ----------
    Chen et al. (2020a), A Simple Framework for Contrastive Learning of Visual
    Representations, Eq. 1. https://arxiv.org/abs/2002.05709

    Example
    -------
    >>> z1, z2 = torch.randn(8, 16), torch.randn(8, 16)
    >>> loss = nt_xent(z1, z2, temperature=0.5)
    >>> loss.shape
    torch.Size([])
    """
    check_tensor(z1, "z1", ndim=2, floating=True)
    check_tensor(z2, "z2", ndim=2, floating=True)
    if z2.shape != z1.shape:
        raise ValueError(f"z2 must have the same shape as z1 (two views of one batch), "
                         f"got z1 {tuple(z1.shape)} and z2 {tuple(z2.shape)}")
    if z1.shape[0] == 0:
        raise ValueError("z1 must hold at least one embedding, got shape (0, D)")
    device = check_same_device(z1=z1, z2=z2)
    check_positive(temperature, "temperature")

    n, offset = z1.shape[0], rank() * z1.shape[0]
    m = n * world_size()  # embeddings per view in the global batch
    dtype = torch.promote_types(torch.promote_types(z1.dtype, z2.dtype), torch.float32)
    # autocast would recast the matmul to bf16/fp16; the meta device has no autocast
    full_precision = (contextlib.nullcontext() if device.type == "meta"
                      else torch.autocast(device.type, enabled=False))
    with full_precision:
        z = torch.cat([gather_with_grad(z1), gather_with_grad(z2)]).to(dtype)  # (2M, D)
        z = F.normalize(z, dim=1)
        anchor_idx = torch.cat([torch.arange(offset, offset + n, device=device),
                                torch.arange(m + offset, m + offset + n, device=device)])  # (2N,)
        logits = z[anchor_idx] @ z.T / temperature  # (2N, 2M) cosine similarity / tau
        is_self = torch.zeros_like(logits, dtype=torch.bool)
        is_self[torch.arange(2 * n, device=device), anchor_idx] = True
        logits = logits.masked_fill(is_self, float("-inf"))
        positive_idx = (anchor_idx + m) % (2 * m)
        return F.cross_entropy(logits, positive_idx)
