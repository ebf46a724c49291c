"""course_utils: the library every notebook of the SSL course kit imports.

>>> import course_utils as cu
>>> device = cu.get_device()
>>> cu.seed_everything(0)
0
>>> train = cu.data.load_dataset("shapes", n=64)   # doctest: +SKIP

Submodules (imported on first use, so ``import course_utils`` stays fast):
``data``, ``augment``, ``models``, ``losses``, ``distributed``, ``train``,
``evaluate``, ``noise``, ``manifold``, ``plotting``, ``recipes``.
"""
import importlib

from .runtime import PROFILES, Profile, get_device, profile, seed_everything

__version__ = "0.1.0"

_SUBMODULES = ("data", "augment", "models", "losses", "distributed", "train",
               "evaluate", "noise", "manifold", "plotting", "recipes")

__all__ = ["get_device", "seed_everything", "profile", "Profile", "PROFILES", *_SUBMODULES]


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'course_utils' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
