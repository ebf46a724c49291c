"""``collect``: import submissions as LMSs and Colab hand them out into nbgrader's layout.

Accepted, from a folder or a ``.zip`` of one:

- ``<student>_<anything>.ipynb`` (Canvas, Moodle, Colab downloads: the student id is
  the part before the first ``_``; a Canvas ``LATE`` marker is skipped);
- ``<student>/<assignment>/<notebook>.ipynb`` and ``<student>/<notebook>.ipynb``.

Each notebook goes to ``submitted/<student>/<assignment>/<notebook>.ipynb``. Which
notebook of the assignment a file is comes from its name, else from its content
(grade ids, then text): a renamed ``Copy of hw (3).ipynb`` still lands right.
Everything that could not be placed is reported, one line per file: unreadable
files, notebooks that match no released one, a second file for the same notebook
(the newest is kept), junk such as ``__MACOSX``.

Example
-------
>>> report = collect(Course(), Path("~/Downloads/submissions.zip"), "hw1")   # doctest: +SKIP
>>> print(*report.problems, sep="\\n")                                        # doctest: +SKIP
"""
from __future__ import annotations

import dataclasses
import os
import re
import shutil
import tempfile
import time
import zipfile
from pathlib import Path

from .course import Course
from .notebooks import identify, read_notebook, released_notebooks

JUNK = re.compile(r"(^|/)(__MACOSX|\.ipynb_checkpoints|\.DS_Store|Thumbs\.db)(/|$)")
MAX_ZIP_BYTES = 2 * 2**30


def match_name(filename: str, names: list[str]) -> str | None:
    """The released notebook a file name points at (the longest name it contains)."""
    stem = Path(filename).stem
    hits = [n for n in names if n in stem]
    return max(hits, key=len) if hits else None


@dataclasses.dataclass
class Report:
    placed: list[str] = dataclasses.field(default_factory=list)     # "<file> -> <destination>"
    problems: list[str] = dataclasses.field(default_factory=list)   # one line per file not placed


def _student_of(rel: Path, assignment: str) -> tuple[str | None, str]:
    """(student id, file name without the student's prefix) from a path in the submission folder."""
    parts = rel.parts
    if len(parts) == 3 and parts[1] == assignment or len(parts) == 2:
        return parts[0], parts[-1]
    if len(parts) == 1 and "_" in parts[0]:
        student, rest = parts[0].split("_", 1)
        if rest.startswith("LATE_"):
            rest = rest[len("LATE_"):]
        return student, rest
    return None, parts[-1]


def _extract(archive: Path, into: Path) -> Path:
    with zipfile.ZipFile(archive) as zf:
        if sum(i.file_size for i in zf.infolist()) > MAX_ZIP_BYTES:
            raise ValueError(f"{archive} unpacks to more than {MAX_ZIP_BYTES // 2**30} GiB")
        root = into.resolve()
        for info in zf.infolist():
            if not (into / info.filename).resolve().is_relative_to(root):  # a sibling such as root + "x" too
                raise ValueError(f"{archive}: entry {info.filename!r} points outside the archive")
        zf.extractall(into)
        for info in zf.infolist():   # keep the archive's times: the newest of two files wins
            stamp = time.mktime((*info.date_time, 0, 0, -1))
            os.utime(into / info.filename, (stamp, stamp))
    return into


def collect(course: Course, source: Path, assignment: str, dry_run: bool = False) -> Report:
    """Place every submission under ``source`` (a folder or a zip) into ``submitted/``."""
    source = Path(source).expanduser()
    released = released_notebooks(course, assignment)
    report = Report()
    with tempfile.TemporaryDirectory() as tmp:
        folder = _extract(source, Path(tmp)) if source.suffix == ".zip" else source
        if not folder.is_dir():
            raise ValueError(f"source must be a folder or a .zip file, got {source}")
        chosen: dict[tuple[str, str], Path] = {}
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            rel = path.relative_to(folder)
            if JUNK.search(rel.as_posix()):
                continue
            student, name = _student_of(rel, assignment)
            if student is None:
                report.problems.append(f"{rel}: no student id (expected <student>_<name> or <student>/...)")
                continue
            if path.suffix != ".ipynb":
                chosen.setdefault((student, name), path)
                continue
            notebook = match_name(name, list(released))
            nb, why = read_notebook(path)
            if notebook is None and nb is not None:
                notebook = identify(nb, released)
            if notebook is None:
                report.problems.append(f"{rel}: {why or 'matches no notebook of ' + assignment}; not placed")
                continue
            if why:
                report.problems.append(f"{rel}: {why}; placed as {notebook}.ipynb, it will be graded 0")
            key = (student, f"{notebook}.ipynb")
            if key in chosen:
                older, newer = sorted([chosen[key], path], key=lambda p: p.stat().st_mtime)
                report.problems.append(f"{older.relative_to(folder)}: a newer file for {student}/{key[1]} "
                                       f"exists ({newer.relative_to(folder)}); not placed")
                path = newer
            chosen[key] = path
        for (student, name), path in sorted(chosen.items()):
            dest = course.path("submitted", assignment, student) / name
            report.placed.append(f"{path.relative_to(folder)} -> {dest.relative_to(course.root)}")
            if not dry_run:
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, dest)
    return report
