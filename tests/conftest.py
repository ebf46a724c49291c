"""Shared fixtures. Every test runs on CPU in the `grading` profile unless it says otherwise."""
import os

os.environ.setdefault("SSL_COURSE_PROFILE", "grading")
os.environ.setdefault("MPLBACKEND", "Agg")
# OpenMP threads sleep instead of spinning at barriers: on a shared or oversubscribed CI
# machine, spinning made 2-thread torch 20-90x slower per operation (measured here).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import pytest  # noqa: E402
import torch  # noqa: E402


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _seeded():
    """Each test starts from the same RNG state and a small thread count (2-core CI)."""
    import course_utils as cu
    torch.set_num_threads(2)
    cu.seed_everything(0)
    yield


@pytest.fixture(scope="module")
def course():
    """The autograder tests' private copy of the course, released once per session (shared)."""
    import autograder_cases   # only the autograder tests pay for importing nbgrader

    return autograder_cases.released_course()
