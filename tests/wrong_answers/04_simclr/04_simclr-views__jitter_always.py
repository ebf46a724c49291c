# ruff: noqa: F821  (exec'd in the notebook's namespace: torch, nn, F, v2 and its other answers)
# Colour jitter on every view (no RandomApply with p=0.8).
def simclr_views(image_size, strength=0.5):
    s = strength
    return v2.Compose([
        v2.RandomResizedCrop(image_size, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3), antialias=True),
        v2.RandomHorizontalFlip(p=0.5),
        v2.ColorJitter(0.8 * s, 0.8 * s, 0.8 * s, 0.2 * s),
        v2.RandomGrayscale(p=0.2),
        v2.ToDtype(torch.float32, scale=True),
    ])
