"""runtime: device choice, seeding, run profiles, and the argument checks."""
import random

import numpy as np
import pytest
import torch

import course_utils as cu
from course_utils import _validate as v


def test_get_device_is_cpu_without_accelerators(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert cu.get_device() == torch.device("cpu")


def test_get_device_prefers_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert cu.get_device().type == "cuda"


def test_seed_everything_reproduces_python_numpy_torch():
    def draw():
        return random.random(), np.random.rand(), torch.rand(1).item()

    cu.seed_everything(123)
    first = draw()
    cu.seed_everything(123)
    assert draw() == first


@pytest.mark.parametrize("bad, exc",
                         [(1.5, TypeError), ("1", TypeError), (True, TypeError), (-1, ValueError)])
def test_seed_everything_rejects_bad_seed(bad, exc):
    with pytest.raises(exc, match="seed"):
        cu.seed_everything(bad)


def test_profile_reads_environment(monkeypatch):
    monkeypatch.setenv("SSL_COURSE_PROFILE", "cpu")
    assert cu.profile().name == "cpu"
    monkeypatch.setenv("SSL_COURSE_PROFILE", " GRADING ")
    assert cu.profile().name == "grading"


def test_profile_default_follows_hardware(monkeypatch):
    monkeypatch.delenv("SSL_COURSE_PROFILE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert cu.profile().name == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert cu.profile().name == "gpu"


def test_profile_unknown_name_names_the_variable(monkeypatch):
    monkeypatch.setenv("SSL_COURSE_PROFILE", "fast")
    with pytest.raises(ValueError, match="SSL_COURSE_PROFILE"):
        cu.profile()
    with pytest.raises(ValueError, match="name"):
        cu.profile("turbo")


def test_profiles_are_frozen_and_ordered_by_budget():
    g, c, p = (cu.PROFILES[k] for k in ("grading", "cpu", "gpu"))
    with pytest.raises(AttributeError):
        g.epochs = 100
    for field in ("n_train", "n_test", "epochs", "embed_samples"):
        assert getattr(g, field) <= getattr(c, field) <= getattr(p, field), field


def test_validators_name_the_argument():
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        v.check_tensor([1, 2], "x")
    with pytest.raises(ValueError, match="images must have 4 dimensions"):
        v.check_tensor(torch.zeros(3, 3), "images", ndim=4)
    with pytest.raises(ValueError, match="temperature must be > 0"):
        v.check_positive(0.0, "temperature")
    with pytest.raises(ValueError, match="temperature must be > 0"):
        v.check_positive(float("nan"), "temperature")
    with pytest.raises(ValueError, match="rate must be in"):
        v.check_fraction(1.5, "rate")
    with pytest.raises(TypeError, match="labels must be an integer tensor"):
        v.check_labels(torch.zeros(3), "labels")
    with pytest.raises(ValueError, match="labels must have length 4"):
        v.check_labels(torch.zeros(3, dtype=torch.long), "labels", n=4)
    with pytest.raises(ValueError, match="same device"):
        v.check_same_device(a=torch.zeros(1), b=torch.zeros(1, device="meta"))
