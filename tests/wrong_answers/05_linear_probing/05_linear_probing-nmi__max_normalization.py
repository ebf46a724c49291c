# ruff: noqa: F821  (exec'd in the notebook's namespace: torch, nn, F, v2 and its other answers)
# Divides the mutual information by the larger entropy instead of their mean.
def nmi(a, b):
    _, ia = torch.unique(a, return_inverse=True)
    _, ib = torch.unique(b, return_inverse=True)
    n_a, n_b = int(ia.max()) + 1, int(ib.max()) + 1
    if n_a == 1 and n_b == 1:
        return 1.0
    joint = torch.bincount(ia * n_b + ib, minlength=n_a * n_b).reshape(n_a, n_b).double() / len(a)
    pa, pb = joint.sum(1), joint.sum(0)
    nz = joint > 0
    mi = (joint[nz] * (joint[nz] / (pa[:, None] * pb[None, :])[nz]).log()).sum()
    return float(mi / max(-(pa * pa.log()).sum(), -(pb * pb.log()).sum()))
