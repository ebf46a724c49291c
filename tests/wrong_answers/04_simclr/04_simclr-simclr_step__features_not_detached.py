# ruff: noqa: F821  (exec'd in the notebook's namespace: torch, nn, F, v2 and its other answers)
# The features keep their graph: an online probe's loss would reach the encoder.
def simclr_step(model, batch, *, augment, temperature=0.5):
    images, labels = batch
    h, z = model(torch.cat([augment(images), augment(images)]))
    z1, z2 = z.chunk(2)
    return {"loss": nt_xent(z1, z2, temperature), "features": h[: len(images)], "labels": labels}
