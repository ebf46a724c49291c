"""The autograder's verbs that need no grading kernel: CLI, release, collect, repair, leak checks.

They work on a private copy of the course released once per session
(``autograder_cases.released_course``); grading is tested in test_autograder_grading.py.
"""
from __future__ import annotations

import filecmp
import os
import subprocess
import zipfile
from pathlib import Path

import nbformat
import pytest

import autograder_cases as cases
from autograder import samples
from autograder.__main__ import main
from autograder.collect import collect
from autograder.course import Course
from autograder.feedback import assignment_hidden_lines
from autograder.hidden import BEGIN, END, REMOVED, hidden_lines, leaked, redact
from autograder.grade import grade
from autograder.notebooks import grade_id
from autograder.release import generate, sync
from autograder.repair import repair_notebook, repair_submissions

VERBS = ["release", "collect", "repair", "grade", "feedback", "export", "report", "formgrader", "demo"]


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("verb", VERBS)
def test_every_verb_has_help(verb, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([verb, "--help"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: python -m autograder {verb}")


def test_bad_arguments_name_what_was_wrong(course, tmp_path):
    with pytest.raises(ValueError, match="nbgrader_config.py"):
        Course(tmp_path)
    with pytest.raises(ValueError, match="assignment must be one of"):
        course.check_assignments(["hw9"])
    with pytest.raises(ValueError, match="workers must be >= 1"):
        grade(course, workers=0)
    with pytest.raises(SystemExit, match="assignment must be one of"):
        main(["--course", str(course.root), "export", "hw9"])


# ------------------------------------------------------------------------------- release
def test_release_syncs_notebooks_folder(course, tmp_path):
    synced = course.root.parent / "notebooks"
    for a in course.assignments():
        assert tree(synced / a) == tree(course.path("release", a))
    target = tmp_path / "notebooks"
    sync(course, course.assignments(), target)
    stray, changed = target / course.assignments()[0] / "old.ipynb", next(target.rglob("*.ipynb"))
    stray.write_text("{}")
    changed.write_text("edited by hand")
    changes = sync(course, course.assignments(), target)
    assert sorted(changes) == sorted([f"{changed}: updated", f"{stray}: removed (not in the release)"])
    assert sync(course, course.assignments(), target) == []


def test_release_after_submissions_says_how_to_change_cells(course, monkeypatch):
    """nbgrader refuses to add or remove cells once an assignment has submissions: say what to do."""
    class Refusing:
        def generate_assignment(self, name, **kwargs):
            return {"success": False, "error": "",
                    "log": "RuntimeError: Cannot add or remove cells for notebook '04_simclr' "
                           "because there are submissions associated with it\n"}

    monkeypatch.setattr(type(course), "api", lambda self: Refusing())
    name = course.assignments()[-1]
    with pytest.raises(RuntimeError, match=rf"(?s)Cannot add or remove cells.*hint: {name} has submissions.*"
                                           rf"nbgrader db assignment remove {name} --force"):
        generate(course, [name])


def test_repository_notebooks_match_a_fresh_release(course):
    """notebooks/ is exactly what `python -m autograder release` makes of autograder/source."""
    committed = cases.REPO / "notebooks"
    assert sorted(p.name for p in committed.iterdir() if p.is_dir()) == course.assignments()
    for a in course.assignments():
        fresh, kept = tree(course.path("release", a)), tree(committed / a)
        assert sorted(kept) == sorted(fresh), f"notebooks/{a} differs: run `python -m autograder release`"
        stale = [name for name in fresh if kept[name] != fresh[name]]
        assert not stale, f"notebooks/{a}: {stale} differ from a fresh release:" \
            " run `python -m autograder release`"


def solution_lines(course, assignment: str) -> set[str]:
    """Stripped lines inside the solution regions of the source notebooks that the release lacks."""
    lines = set()
    for path in course.path("source", assignment).glob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            inside = False
            for line in cell.source.splitlines():
                if "### BEGIN SOLUTION" in line:
                    inside = True
                elif "### END SOLUTION" in line:
                    inside = False
                elif inside and line.strip():
                    lines.add(line.strip())
    return lines


def test_release_has_no_solution_or_hidden_test_text(course):
    for a in course.assignments():
        hidden = assignment_hidden_lines(course, a)
        assert hidden, f"{a}: no hidden tests found in the source"
        public = {line.strip() for path in course.path("release", a).glob("*.ipynb")
                  for cell in nbformat.read(path, as_version=4).cells for line in cell.source.splitlines()}
        solutions = solution_lines(course, a)
        for path in course.path("release", a).glob("*.ipynb"):
            text = path.read_text()
            for marker in (BEGIN, END, "### BEGIN SOLUTION", "### END SOLUTION"):
                assert marker not in text, f"{path.name} contains {marker!r}"
            assert not leaked(text, hidden), path.name
        # a solution line may be in the release only where the stub or the narrative has it too
        source_public = {line.strip() for path in course.path("source", a).glob("*.ipynb")
                         for cell in nbformat.read(path, as_version=4).cells
                         if not cell.metadata.get("nbgrader", {}).get("solution")
                         for line in cell.source.splitlines()}
        assert not (solutions & public) - source_public - {"", "return", "pass"}


def test_plain_nbgrader_generate_assignment_inside_the_course(course):
    """A TA's own `nbgrader generate_assignment` in the course root gives the same release."""
    a = course.assignments()[0]
    before = tree(course.path("release", a))
    run = subprocess.run(["nbgrader", "generate_assignment", a, "--force"], cwd=course.root,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert tree(course.path("release", a)) == before


# ------------------------------------------------------------------------------- collect
def test_collect_places_lms_and_folder_layouts_and_reports_the_rest(course, tmp_path):
    a = course.assignments()[0]
    first, *rest = course.notebooks(a)
    ref = {n: samples.reference(course, a, n) for n in course.notebooks(a)}
    inbox = tmp_path / "inbox"
    (inbox / "bob" / a).mkdir(parents=True)
    (inbox / "carol").mkdir()
    (inbox / "__MACOSX").mkdir()
    nbformat.write(ref[first], inbox / f"alice_LATE_{first}.ipynb")               # Canvas
    nbformat.write(ref[first], inbox / "dave_Copy of homework (3).ipynb")         # renamed: by content
    nbformat.write(ref[first], inbox / "bob" / a / f"{first}.ipynb")               # folder layout
    nbformat.write(ref[first], inbox / "carol" / f"{first}.ipynb")
    (inbox / "carol" / "data.csv").write_text("x\n1\n")                          # a data file rides along
    (inbox / f"erin_{first}.ipynb").write_text('{"cells": [')                     # not JSON
    (inbox / "nameless.ipynb").write_text("{}")                                   # no student id
    (inbox / "__MACOSX" / f"._alice_{first}.ipynb").write_text("junk")             # skipped silently
    older = inbox / "frank" / f"{first}.ipynb"
    older.parent.mkdir()
    nbformat.write(ref[first], older)
    newer = inbox / f"frank_{first}_v2.ipynb"
    nbformat.write(ref[first], newer)
    os.utime(older, (946684800, 946684800))   # 2000
    other = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("my shopping list")])
    nbformat.write(other, inbox / "gina_notes.ipynb")                            # matches nothing

    dry = collect(course, inbox, a, dry_run=True)
    assert not course.path("submitted", a, "alice").exists()
    archive = tmp_path / "submissions.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in inbox.rglob("*"):
            zf.write(path, path.relative_to(inbox))
    report = collect(course, archive, a)
    assert report == dry
    placed = {line.split(" -> ")[1] for line in report.placed}
    students = ("alice", "bob", "carol", "dave", "erin", "frank")
    assert placed == {f"submitted/{s}/{a}/{first}.ipynb" for s in students} | \
        {f"submitted/carol/{a}/data.csv"}
    assert filecmp.cmp(course.path("submitted", a, "frank") / f"{first}.ipynb", newer, shallow=False)
    problems = "\n".join(report.problems)
    assert f"erin_{first}.ipynb: not valid JSON" in problems and "it will be graded 0" in problems
    assert "nameless.ipynb: no student id" in problems
    assert f"frank/{first}.ipynb: a newer file" in problems
    assert "gina_notes.ipynb: matches no notebook" in problems
    assert "__MACOSX" not in problems and len(report.problems) == 4


def test_collect_refuses_an_archive_that_escapes(course, tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../../outside_hw1.ipynb", "{}")
    with pytest.raises(ValueError, match="points outside the archive"):
        collect(course, archive, course.assignments()[0])


def test_an_archive_entry_in_a_sibling_folder_is_outside_too(tmp_path):
    """``../unpackedx/`` shares its name's prefix with ``unpacked/`` but is not inside it."""
    from autograder.collect import _extract

    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../unpackedx/evil.ipynb", "{}")
    (tmp_path / "unpacked").mkdir()
    with pytest.raises(ValueError, match="points outside the archive"):
        _extract(archive, tmp_path / "unpacked")
    assert not (tmp_path / "unpackedx").exists()


def test_release_of_a_course_copy_leaves_the_repository_notebooks_alone(course, monkeypatch):
    import autograder.release as release_module

    synced = []
    monkeypatch.setattr(release_module, "generate", lambda course, names: names or course.assignments())
    monkeypatch.setattr(release_module, "sync", lambda course, names, target: synced.append(target) or [])
    release_module.release(course)
    release_module.release(release_module.Course())  # the repository's own course
    assert synced == [release_module.NOTEBOOKS]


# -------------------------------------------------------------------------------- repair
STRUCTURAL = [cases.colab, cases.altered_metadata, cases.markdown_answer, cases.cells_deleted,
              cases.cells_duplicated, cases.cells_reordered, cases.cells_inserted, cases.edit_locked,
              cases.edit_locked_stripped, cases.renamed_file]


def nbgrader_cells(nb) -> list[tuple]:
    return [(grade_id(c), c.cell_type, c.metadata["nbgrader"]) for c in nb.cells if grade_id(c)]


@pytest.mark.parametrize("case", STRUCTURAL, ids=lambda c: c.__name__)
def test_repair_restores_the_released_structure(course, case):
    a, nb = cases.targets(course)[0]
    released = samples.released(course, a, nb)
    files, _, _ = case(course, a, nb)
    (submitted,) = files.values()
    if isinstance(submitted, str):
        submitted = nbformat.reads(submitted, as_version=4)
    fixed, changes = repair_notebook(submitted, released)
    assert nbgrader_cells(fixed) == nbgrader_cells(released)
    for cell, ref in zip(*(list(filter(grade_id, n.cells)) for n in (fixed, released))):
        if ref.metadata["nbgrader"].get("locked") and not ref.metadata["nbgrader"].get("solution"):
            assert cell.source == ref.source, grade_id(ref)
    nbformat.validate(fixed)
    assert bool(changes) == (case not in (cases.cells_inserted, cases.renamed_file)), changes
    again, more = repair_notebook(fixed, released)
    assert more == [] and nbgrader_cells(again) == nbgrader_cells(released)


def test_repair_keeps_the_students_answers(course):
    a, nb = cases.targets(course)[0]
    reference = cases.light(course, a, nb)
    files, _, _ = cases.cells_reordered(course, a, nb)
    fixed, _ = repair_notebook(files[nb], samples.released(course, a, nb))
    answers = {grade_id(c): c.source for c in reference.cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    assert {grade_id(c): c.source for c in fixed.cells if grade_id(c) in answers} == answers
    assert repair_notebook(reference, samples.released(course, a, nb))[1] == []


def test_partly_wrong_sample_breaks_one_answer_no_other_test_needs(course):
    for a in course.assignments():
        for nb in course.notebooks(a):
            reference, wrong = samples.reference(course, a, nb), samples.partly_wrong(course, a, nb)
            changed = [(grade_id(r), w.source) for r, w in zip(reference.cells, wrong.cells)
                       if r.source != w.source]
            assert [gid for gid, _ in changed] == samples.independent_answers(course, a, nb)[:1]
            assert "return None" in changed[0][1]


def test_independent_answers_follow_dependencies_through_ungraded_cells(course, tmp_path):
    """An answer whose result an ungraded cell turns into a variable a later test reads is not independent."""
    copy_ = Course().derived(tmp_path / "toy")
    (copy_.root / "source" / "toy").mkdir(parents=True)
    cell = nbformat.v4.new_code_cell

    def graded(source, gid, **meta):
        return cell(source, metadata={"nbgrader": {"grade_id": gid, "locked": False, **meta}})

    nb = nbformat.v4.new_notebook(cells=[
        graded("def f(x):\n    return x + 1", "toy-f", solution=True, grade=False),
        graded("assert f(1) == 2", "toy-f-tests", solution=False, grade=True, points=1),
        graded("def g(x):\n    return 2 * x", "toy-g", solution=True, grade=False),
        graded("assert g(1) == 2", "toy-g-tests", solution=False, grade=True, points=1),
        cell("table = [f(i) for i in range(3)]\nscale = table[-1]"),
        graded("def h(x):\n    return x - 1", "toy-h", solution=True, grade=False),
        graded("def check(v):\n    return h(v) == v - 1\n\nassert check(scale)", "toy-h-tests",
               solution=False, grade=True, points=1),
    ])
    nbformat.write(nb, copy_.root / "source" / "toy" / "toy.ipynb")
    assert samples.independent_answers(copy_, "toy", "toy") == ["toy-g", "toy-h"]


def test_repair_verb_reports_and_writes_with_backups(course, capsys):
    a, nb = cases.targets(course)[0]
    files, _, _ = cases.markdown_answer(course, a, nb)
    samples.write_submission(course, a, "repair-me", files)
    renamed, _, _ = cases.renamed_file(course, a, nb)
    samples.write_submission(course, a, "renamed", renamed)
    main(["--course", str(course.root), "repair", a, "--student", "repair-me", "--student", "renamed"])
    out = capsys.readouterr().out
    assert f"repair-me/{nb}.ipynb: 1 changes" in out and "markdown cell turned back into code" in out
    assert f"it is {nb}.ipynb" in out
    # without --write the verb only reports: no backup, the renamed file still under its name
    assert not (course.root / "repair_originals").exists()
    assert (course.path("submitted", a, "renamed") / f"Copy of {nb} (1).ipynb").exists()
    report = repair_submissions(course, a, ["repair-me", "renamed"], write=True)
    assert any("markdown cell turned back into code" in c for c in report[f"repair-me/{nb}.ipynb"])
    assert (course.root / "repair_originals" / "repair-me" / a / f"{nb}.ipynb").exists()
    assert (course.path("submitted", a, "renamed") / f"{nb}.ipynb").exists()
    assert all(changes == [] for changes in repair_submissions(course, a, ["repair-me", "renamed"]).values())


# ------------------------------------------------------------------------- leak detection
def test_hidden_lines_are_found_in_html_and_redacted_from_outputs(course):
    lines = assignment_hidden_lines(course, course.assignments()[0])
    long = max(lines, key=len)
    assert len(long) >= 30 and hidden_lines([f"{BEGIN}\n{long}\n{END}", "print(1)"]) == {long}
    assert leaked(f"<pre><span>{long[:10]}</span>{long[10:]}</pre>", lines) == [long]
    assert leaked(f"<p>{long.replace('<', '&lt;')} and more</p>", lines) == [long]
    assert leaked("<p>visible tests passed</p>", lines) == []
    traceback = f"\x1b[0;32m----> 3\x1b[0m {long}\nok\n"
    assert redact(traceback, lines) == f"{REMOVED}\nok\n"
    assert redact(f"  {long}", lines) == REMOVED
