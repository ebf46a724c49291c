"""One student's private course copy, where their autograde runs: :func:`prepare`.

It holds the course configuration, the release (for repairs), the source's data files,
a copy of the gradebook and the student's files, checked first: a file that is not a
notebook (e.g. not valid JSON) is left out and scores 0, a renamed notebook is
recognised by its content, a missing one is noted. Only the grader can read it; no
kernel sees it (:mod:`autograder.sandbox`).
"""
from __future__ import annotations

import shutil
from pathlib import Path

from .course import Course
from .notebooks import identify, read_notebook


def log(path: Path, text: str) -> None:
    """Append a line to a student's log."""
    with open(path, "a") as f:
        f.write(text.rstrip("\n") + "\n")


def prepare(course: Course, assignment: str, student: str, private: Path, template_db: Path,
            released: dict, log_file: Path) -> list[str]:
    """Build the private course copy; return notes on the student's files (renamed, unreadable)."""
    copy = course.derived(private)
    shutil.copytree(course.path("release", assignment), copy.path("release", assignment))
    shutil.copytree(course.path("source", assignment), copy.path("source", assignment),
                    ignore=shutil.ignore_patterns("*.ipynb"))
    shutil.copy2(template_db, private / "gradebook.db")
    src, dest = course.path("submitted", assignment, student), copy.path("submitted", assignment, student)
    dest.mkdir(parents=True)
    notes, seen, unreadable = [], {}, set()
    for path in sorted(p for p in src.rglob("*") if p.is_file()):
        rel = path.relative_to(src)
        if path.suffix != ".ipynb":
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dest / rel)
            continue
        nb, why = read_notebook(path)
        if nb is None:
            notes.append(f"{rel} is {why}: graded 0")
            unreadable.add(path.stem)
            continue
        name = path.stem if path.stem in released else identify(nb, released)
        if name is None:
            notes.append(f"{rel} matches no notebook of {assignment}: ignored")
            continue
        if name in seen:
            notes.append(f"{rel} and {seen[name]} are both {name}.ipynb: graded {seen[name]}")
            continue
        if name != path.stem:
            notes.append(f"{rel} graded as {name}.ipynb (renamed)")
        seen[name] = rel
        shutil.copy2(path, dest / f"{name}.ipynb")
    notes += [f"{name}.ipynb missing: graded 0" for name in sorted(set(released) - set(seen) - unreadable)]
    for note in notes:
        log(log_file, f"files: {note}")
    return notes


