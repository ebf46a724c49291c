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
(the newest is kept), junk such as ``__MACOSX``. A damaged archive entry (bad CRC,
data that does not decompress) is one such line and the rest of the archive is still
placed; an archive that cannot be opened at all (truncated, not a zip) or of which no
entry can be read is a ``ValueError`` of one line.

A student id becomes a folder name that nbgrader also reads as a glob pattern, so
``ab[c]`` would match the folder of ``abc``. Ids made of letters, digits, ``_``,
``-`` and ``.`` are kept; any other id is placed under :func:`safe_id` (``ab_c_-0f6c7f2c``),
reported, and recorded in ``<course>/student_ids.csv`` (columns ``id,original``).

Example
-------
>>> report = collect(Course(), Path("~/Downloads/submissions.zip"), "hw1")   # doctest: +SKIP
>>> print(*report.problems, sep="\\n")                                        # doctest: +SKIP
>>> report.mapped                                                         # doctest: +SKIP
{'ab[c]': 'ab_c_-0f6c7f2c'}
"""
from __future__ import annotations

import csv
import dataclasses
import hashlib
import os
import re
import shutil
import tempfile
import time
import zipfile
import zlib
from pathlib import Path

from .course import Course
from .notebooks import identify, read_notebook, released_notebooks

JUNK = re.compile(r"(^|/)(__MACOSX|\.ipynb_checkpoints|\.DS_Store|Thumbs\.db)(/|$)")
MAX_ZIP_BYTES = 2 * 2**30
SAFE_ID = re.compile(r"\w[\w.-]*")   # letters (any script), digits, _ - . ; not . or - first
MAX_ID_BYTES = 100                   # longer ids are mapped too (a folder name has at most 255 bytes)
IDS_FILE = "student_ids.csv"
# what reading one damaged entry raises: bad CRC or header, bad deflate data, an unsupported
# compression or encryption, data cut short, a name the file system refuses
ENTRY_ERRORS = (zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError, EOFError, OSError)


def match_name(filename: str, names: list[str]) -> str | None:
    """The released notebook a file name points at (the longest name it contains)."""
    stem = Path(filename).stem
    hits = [n for n in names if n in stem]
    return max(hits, key=len) if hits else None


@dataclasses.dataclass
class Report:
    placed: list[str] = dataclasses.field(default_factory=list)     # "<file> -> <destination>"
    problems: list[str] = dataclasses.field(default_factory=list)   # one line per file not placed
    mapped: dict[str, str] = dataclasses.field(default_factory=dict)  # original id -> safe id


def is_safe_id(student: str) -> bool:
    """Whether ``student`` can be a folder name as it is: letters, digits, ``_``, ``-``, ``.``,
    not starting with ``.`` or ``-``, at most 100 bytes (no glob character, space or ``/``).

    >>> is_safe_id("alice.b-2"), is_safe_id("zoë"), is_safe_id("ab[c]"), is_safe_id("..")
    (True, True, False, False)
    """
    return bool(SAFE_ID.fullmatch(student)) and len(student.encode()) <= MAX_ID_BYTES


def safe_id(student: str, digits: int = 8) -> str:
    """A folder name for the unsafe id ``student``: its safe characters (others become ``_``,
    at most 40), ``-``, and the first ``digits`` hex digits of its SHA-256, so the same id always
    gives the same name and two ids do not share one.

    >>> safe_id("ab[c]")
    'ab_c_-0f6c7f2c'
    """
    slug = re.sub(r"[^\w.-]", "_", student)[:40].lstrip(".-") or "student"
    return f"{slug}-{hashlib.sha256(student.encode()).hexdigest()[:digits]}"


def read_ids(course: Course) -> dict[str, str]:
    """original id -> safe id, from ``<course>/student_ids.csv`` ({} when there is none)."""
    path = course.root / IDS_FILE
    if not path.is_file():
        return {}
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames != ["id", "original"]:
            raise ValueError(f"{path} must have the columns id,original, got {reader.fieldnames}")
        return {row["original"]: row["id"] for row in reader}


def map_ids(students: set[str], known: dict[str, str]) -> dict[str, str]:
    """original -> safe id for each unsafe id of ``students``: as ``known`` (the CSV) has it,
    else :func:`safe_id`, with more hash digits where that name is taken by another id."""
    taken = {*students, *known.values()}
    mapped = {}
    for student in sorted(s for s in students if not is_safe_id(s)):
        if student in known:
            mapped[student] = known[student]
            continue
        name = next(n for n in (safe_id(student, d) for d in (8, 16, 64)) if n not in taken)
        taken.add(name)
        mapped[student] = name
    return mapped


def record_ids(course: Course, mapped: dict[str, str]) -> None:
    """Append to ``<course>/student_ids.csv`` the mappings it does not have yet."""
    path = course.root / IDS_FILE
    new = {original: name for original, name in mapped.items() if original not in read_ids(course)}
    if not new:
        return
    fresh = not path.is_file() or path.stat().st_size == 0
    with open(path, "a", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        if fresh:
            writer.writerow(["id", "original"])
        writer.writerows((name, original) for original, name in sorted(new.items()))


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


def _open_zip(archive: Path) -> zipfile.ZipFile:
    """``archive`` opened, or a ValueError of one line saying why it cannot be."""
    try:
        return zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ValueError(f"{archive} cannot be opened as a zip file ({exc}): truncated, damaged "
                         "or not a zip; nothing placed") from None


def _extract_entry(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path) -> None:
    """Write one entry to ``target`` with the archive's time (the newest of two files wins);
    nothing is left of it when it cannot be read."""
    if info.is_dir():
        target.mkdir(parents=True, exist_ok=True)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with zf.open(info) as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst)
    except ENTRY_ERRORS:
        target.unlink(missing_ok=True)
        raise
    try:
        stamp = time.mktime((*info.date_time, 0, 0, -1))
        os.utime(target, (stamp, stamp))
    except (OverflowError, ValueError, OSError):
        pass   # a nonsense date: the file keeps the time of extraction


def _extract(archive: Path, into: Path) -> list[str]:
    """Unpack ``archive`` into ``into``; return one line per entry that could not be read.

    Raises ValueError when the archive cannot be opened, is too large, has an entry outside
    ``into``, or has files none of which could be read."""
    with _open_zip(archive) as zf:
        infos = zf.infolist()
        if sum(i.file_size for i in infos) > MAX_ZIP_BYTES:
            raise ValueError(f"{archive} unpacks to more than {MAX_ZIP_BYTES // 2**30} GiB")
        root = into.resolve()
        for info in infos:
            if not (into / info.filename).resolve().is_relative_to(root):  # a sibling such as root + "x" too
                raise ValueError(f"{archive}: entry {info.filename!r} points outside the archive")
        failed = {}
        for info in infos:
            try:
                _extract_entry(zf, info, into / info.filename)
            except ENTRY_ERRORS as exc:
                failed[info.filename] = str(exc)[:100] or type(exc).__name__
    files = [i.filename for i in infos if not i.is_dir()]
    if files and all(name in failed for name in files):
        name, why = next(iter(failed.items()))
        raise ValueError(f"{archive}: none of its {len(files)} files could be read "
                         f"(first: {name!r}: {why}); nothing placed")
    return [f"{archive.name}: entry {name!r} could not be read ({why}); not placed"
            for name, why in failed.items()]


def collect(course: Course, source: Path, assignment: str, dry_run: bool = False) -> Report:
    """Place every submission under ``source`` (a folder or a zip) into ``submitted/``."""
    source = Path(source).expanduser()
    released = released_notebooks(course, assignment)
    report = Report()
    with tempfile.TemporaryDirectory() as tmp:
        folder = source
        if source.suffix.lower() == ".zip" and source.is_file():
            folder = Path(tmp)
            report.problems.extend(_extract(source, folder))
        if not folder.is_dir():
            raise ValueError(f"source must be a folder or a .zip file, got {source}")
        chosen: dict[tuple[str, str], Path] = {}
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            rel = path.relative_to(folder)
            if JUNK.search(rel.as_posix()):
                continue
            student, name = _student_of(rel, assignment)
            if not student:
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
        report.mapped = map_ids({student for student, _ in chosen}, read_ids(course))
        for (student, name), path in sorted(chosen.items()):
            dest = course.path("submitted", assignment, report.mapped.get(student, student)) / name
            note = f" (id mapped from {student!r}, see {IDS_FILE})" if student in report.mapped else ""
            report.placed.append(f"{path.relative_to(folder)} -> {dest.relative_to(course.root)}{note}")
            if not dry_run:
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, dest)
        if not dry_run:
            record_ids(course, report.mapped)
    return report
