"""What ``collect`` does with the inputs a red team broke it with: student ids that nbgrader reads as
glob patterns (``ab[c]`` matched the folder of ``abc``), and damaged archives (a traceback, nothing
placed). Each test collects into a course of its own (the shared course's configuration and release).
"""
from __future__ import annotations

import copy
import csv
import glob
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbgrader.coursedir import CourseDirectory

from autograder import samples
from autograder.__main__ import main
from autograder.collect import IDS_FILE, collect, is_safe_id, map_ids, safe_id

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def private(course, tmp_path):
    """A course of this test's own, configured and released like the shared one."""
    mine = course.derived(tmp_path / "course")
    shutil.copytree(course.root / "release", mine.root / "release")
    return mine


@pytest.fixture
def notebook(course):
    """(assignment, its first notebook, the reference submission of it)."""
    a = course.assignments()[0]
    first = course.notebooks(a)[0]
    return a, first, samples.reference(course, a, first)


def csv_rows(course) -> list[dict]:
    with open(course.root / IDS_FILE, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


# ---------------------------------------------------------------------------- student ids
@pytest.mark.parametrize("student, safe", [
    ("alice", True), ("a.b-c_2", True), ("zoë", True), ("學生", True), ("_x", True),
    ("ab[c]", False), ("a*b", False), ("a?", False), ("ab c", False), ("..", False), (".hidden", False),
    ("-x", False), ("a" * 101, False), ("", False)])
def test_only_letters_digits_and_dot_dash_underscore_are_kept(student, safe):
    assert is_safe_id(student) is safe


def test_a_safe_id_is_stable_traceable_and_distinct():
    assert safe_id("ab[c]") == safe_id("ab[c]") and safe_id("ab[c]").startswith("ab_c_-")
    assert is_safe_id(safe_id("ab[c]")) and is_safe_id(safe_id("..")) and is_safe_id(safe_id("a" * 300))
    assert safe_id("ab[c]") != safe_id("ab]c[")              # same slug, different hash
    assert map_ids({"abc", "alice"}, {}) == {}                  # safe ids are not mapped
    taken = {"someone else": safe_id("ab[c]")}                 # the CSV gave that name away already
    assert map_ids({"ab[c]"}, taken) == {"ab[c]": safe_id("ab[c]", 16)}
    assert map_ids({"ab[c]"}, {"ab[c]": "kept-as-recorded"}) == {"ab[c]": "kept-as-recorded"}


def test_glob_characters_in_ids_give_each_student_their_own_folder(private, notebook, tmp_path):
    a, first, ref = notebook
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    raw = ["ab[c]", "abc", "ab c", "zoë", "a*b"]
    for student in raw:
        nb = copy.deepcopy(ref)
        nb.metadata["handed_in_by"] = student
        if student == "a*b":                                  # LMS layout: <student>_<name>.ipynb
            nbformat.write(nb, inbox / f"{student}_{first}.ipynb")
        else:                                                 # <student>/<assignment>/<notebook>.ipynb
            (inbox / student / a).mkdir(parents=True)
            nbformat.write(nb, inbox / student / a / f"{first}.ipynb")

    report = collect(private, inbox, a)

    mapped = {"ab[c]": safe_id("ab[c]"), "ab c": safe_id("ab c"), "a*b": safe_id("a*b")}
    assert report.mapped == mapped
    students = private.students(a)
    assert sorted(students) == sorted(["abc", "zoë", *mapped.values()])
    coursedir = CourseDirectory(config=private.config())
    for student in students:                                   # nbgrader globs the id: exactly its folder
        pattern = coursedir.format_path(coursedir.submitted_directory, student, a)
        assert glob.glob(pattern) == [str(private.path("submitted", a, student))], student
        assert len(glob.glob(str(private.root / "submitted" / student / a))) == 1
    # the bug this fixes: the raw id, as nbgrader's pattern, is the other student's folder
    assert glob.glob(coursedir.format_path("submitted", "ab[c]", a)) == \
        [str(private.path("submitted", a, "abc"))]
    for student in raw:                                        # each one's own notebook, in their folder
        placed = nbformat.read(private.path("submitted", a, mapped.get(student, student)) / f"{first}.ipynb",
                               as_version=4)
        assert placed.metadata["handed_in_by"] == student
    for original, name in mapped.items():
        (line,) = [line for line in report.placed if f"submitted/{name}/" in line]
        assert line.endswith(f"(id mapped from {original!r}, see {IDS_FILE})")
    assert {(row["id"], row["original"]) for row in csv_rows(private)} == {(v, k) for k, v in mapped.items()}


def test_the_id_file_keeps_every_mapping_and_a_dry_run_writes_none(private, notebook, tmp_path):
    a, first, ref = notebook
    for batch, students in enumerate([["ab[c]", "x y"], ["ab[c]", "q?"]]):
        inbox = tmp_path / f"inbox{batch}"
        inbox.mkdir()
        for student in students:
            nbformat.write(ref, inbox / f"{student}_{first}.ipynb")
        if batch == 1:
            assert collect(private, inbox, a, dry_run=True).mapped["q?"] == safe_id("q?")
            assert "q?" not in {row["original"] for row in csv_rows(private)}
        report = collect(private, inbox, a)
        assert report.mapped["ab[c]"] == safe_id("ab[c]")     # the same folder every time
    assert sorted((row["original"], row["id"]) for row in csv_rows(private)) == \
        sorted((s, safe_id(s)) for s in ["ab[c]", "x y", "q?"])  # appended, no row lost or repeated


# ---------------------------------------------------------------------------- bad archives
def corrupt(archive: Path, name: str, at: int, data: bytes) -> None:
    """Overwrite entry ``name``'s data in ``archive``, ``at`` bytes in, with ``data``."""
    with zipfile.ZipFile(archive) as zf:
        offset = zf.getinfo(name).header_offset
    raw = bytearray(archive.read_bytes())
    name_length, extra_length = (int.from_bytes(raw[offset + i:offset + i + 2], "little") for i in (26, 28))
    start = offset + 30 + name_length + extra_length + at      # after the local header
    raw[start:start + len(data)] = data
    archive.write_bytes(bytes(raw))


def lms_zip(path: Path, entries: dict[str, str], compression=zipfile.ZIP_STORED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, text in entries.items():
            zf.writestr(name, text)
    return path


def test_a_damaged_entry_is_one_line_and_the_rest_is_placed(private, notebook, tmp_path, capsys):
    a, first, ref = notebook
    text = nbformat.writes(ref)
    archive = lms_zip(tmp_path / "submissions.zip",
                      {f"alice_{first}.ipynb": text, f"bob_{first}.ipynb": text})
    corrupt(archive, f"bob_{first}.ipynb", 100, b"\0" * 4)    # stored: bad CRC (JSON has no NUL)
    deflated = lms_zip(tmp_path / "deflated.zip", {f"carol_{first}.ipynb": text, f"dave_{first}.ipynb": text},
                       zipfile.ZIP_DEFLATED)
    corrupt(deflated, f"dave_{first}.ipynb", 0, b"\xff" * 16)  # not deflate data at all

    report = collect(private, archive, a)
    assert report.placed == [f"alice_{first}.ipynb -> submitted/alice/{a}/{first}.ipynb"]
    assert report.problems == [f"submissions.zip: entry 'bob_{first}.ipynb' could not be read "
                               f"(Bad CRC-32 for file 'bob_{first}.ipynb'); not placed"]
    assert private.students(a) == ["alice"]
    report = collect(private, deflated, a)
    assert [line.split(" -> ")[1] for line in report.placed] == [f"submitted/carol/{a}/{first}.ipynb"]
    (line,) = report.problems
    assert line.startswith(f"deflated.zip: entry 'dave_{first}.ipynb' could not be read (Error -3 while "
                           "decompressing data") and "\n" not in line

    main(["--course", str(private.root), "collect", str(archive), a])   # exits 0: something was placed
    out = capsys.readouterr().out
    assert "1 files placed; 1 not placed" in out and f"entry 'bob_{first}.ipynb' could not be read" in out


@pytest.mark.parametrize("kind", ["truncated", "text", "every entry damaged"])
def test_an_archive_nothing_can_be_read_from_is_a_one_line_error(private, notebook, tmp_path, kind):
    a, first, ref = notebook
    archive = tmp_path / "bad.zip"
    if kind == "text":
        archive.write_text("this is not a zip\n")
    else:
        lms_zip(archive, {f"alice_{first}.ipynb": nbformat.writes(ref)})
        if kind == "truncated":
            archive.write_bytes(archive.read_bytes()[:archive.stat().st_size // 2])
        else:
            corrupt(archive, f"alice_{first}.ipynb", 50, b"\0" * 4)
    with pytest.raises(ValueError) as error:
        collect(private, archive, a)
    assert str(archive) in str(error.value) and "nothing placed" in str(error.value)
    assert "\n" not in str(error.value)
    with pytest.raises(SystemExit) as exit_:
        main(["--course", str(private.root), "collect", str(archive), a])
    assert exit_.value.code == f"autograder collect: {error.value}"
    assert not (private.root / "submitted").exists()


def test_the_cli_names_a_bad_archive_in_one_line_without_a_traceback(private, notebook, tmp_path):
    a, _, _ = notebook
    archive = tmp_path / "bad.zip"
    archive.write_text("not a zip\n")
    run = subprocess.run([sys.executable, "-m", "autograder", "--course", str(private.root), "collect",
                          str(archive), a], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert run.returncode != 0 and "Traceback" not in run.stderr
    (line,) = run.stderr.strip().splitlines()
    assert line.startswith(f"autograder collect: {archive} cannot be opened as a zip file")
