# ruff: noqa: F821  (exec'd in the notebook's namespace: torch, nn, F, v2 and its other answers)
# NT-Xent on h instead of the projection z: the projection head gets no gradient.
def simclr_step(model, batch, *, augment, temperature=0.5):
    images, labels = batch
    h, z = model(torch.cat([augment(images), augment(images)]))
    h1, h2 = h.chunk(2)
    return {"loss": nt_xent(h1, h2, temperature), "features": h1.detach(), "labels": labels}
