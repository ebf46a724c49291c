"""``release``: nbgrader's generate_assignment, then the student copies in ``notebooks/``.

``notebooks/<assignment>/`` is never edited by hand: it is a copy of
``<course>/release/<assignment>/`` (solutions replaced by stubs, hidden tests removed,
test cells locked and check-summed). A test fails when the two drift apart.

Example
-------
>>> release(Course(), ["hw1"])          # doctest: +SKIP
['notebooks/hw1/01_risk_minimization.ipynb: updated']
"""
from __future__ import annotations

import filecmp
import shutil
from pathlib import Path

from .course import PACKAGE_ROOT, Course

NOTEBOOKS = PACKAGE_ROOT.parent / "notebooks"


LOCKED_BY_SUBMISSIONS = "because there are submissions associated"
"""nbgrader's words when a notebook gained or lost cells after submissions were collected."""


def generate(course: Course, assignments: list[str] | None = None) -> list[str]:
    """Run nbgrader generate_assignment for each assignment (all by default).

    Raises ``RuntimeError`` with nbgrader's log when it fails, and a hint when the cause is
    that cells were added or removed in an assignment that already has submissions.
    """
    api = course.api()
    names = course.check_assignments(assignments)
    for name in names:
        result = api.generate_assignment(name, force=True, create=True)
        if not result["success"]:
            log = f"{result.get('log', '')}{result.get('error', '')}"
            hint = ""
            if LOCKED_BY_SUBMISSIONS in log:
                hint = (f"\nhint: {name} has submissions in the gradebook, so nbgrader keeps its cells as "
                        f"they were graded: edit cells in place (same cells, same grade ids), or drop its "
                        f"grades first with `nbgrader db assignment remove {name} --force` "
                        "inside autograder/")
            raise RuntimeError(f"nbgrader generate_assignment {name} failed:\n{log}{hint}")
    return names


def sync(course: Course, assignments: list[str], target: Path) -> list[str]:
    """Make ``target/<assignment>/`` an exact copy of the release; return what changed."""
    changes = []
    for name in assignments:
        src, dst = course.path("release", name), Path(target) / name
        dst.mkdir(parents=True, exist_ok=True)
        wanted = {p.relative_to(src) for p in src.rglob("*") if p.is_file()}
        for rel in sorted(wanted):
            if not (dst / rel).exists() or not filecmp.cmp(src / rel, dst / rel, shallow=False):
                (dst / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src / rel, dst / rel)
                changes.append(f"{dst / rel}: updated")
        for path in sorted(p for p in dst.rglob("*") if p.is_file()):
            if path.relative_to(dst) not in wanted:
                path.unlink()
                changes.append(f"{path}: removed (not in the release)")
    return changes


def release(course: Course, assignments: list[str] | None = None, target=...) -> list[str]:
    """generate_assignment, then :func:`sync` into ``target`` (skipped when None).

    By default ``target`` is the repository's ``notebooks/`` for the repository's own course
    and None for any other (a copy in a test or a benchmark must not overwrite it).
    """
    if target is ...:
        target = NOTEBOOKS if course.root == PACKAGE_ROOT else None
    names = generate(course, assignments)
    return sync(course, names, target) if target is not None else []
