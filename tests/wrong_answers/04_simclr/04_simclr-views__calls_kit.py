# ruff: noqa: F821  (exec'd in the notebook's namespace: torch, nn, F, v2 and its other answers)
# The kit's per-image pipeline instead of your own.
import course_utils.augment


def simclr_views(image_size, strength=0.5):
    return course_utils.augment.simclr_transform(image_size, jitter=strength)
