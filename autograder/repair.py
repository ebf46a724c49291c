"""Put a submitted notebook back into the shape nbgrader expects, and say what changed.

Notebooks reach the grader bent in many ways: saved from Colab or another editor
that dropped or altered nbgrader's cell metadata, a code cell turned to markdown,
cells deleted, duplicated, reordered or inserted, locked cells edited.
:func:`repair_notebook` matches every nbgrader cell of the *released* notebook (its
"anchors": solutions, tests, locked cells) to a submitted cell -- by grade id first,
then by content, then by position for written answers -- and rebuilds the notebook:

- anchors come back in the released order, each with the released metadata and cell
  type; locked cells get the released source (nbgrader's OverwriteCells then puts the
  hidden tests back from the gradebook);
- the student's other cells keep their place after the anchor they followed;
- a missing anchor is inserted from the release (a missing answer earns nothing);
- copies of locked cells are dropped; stray nbgrader metadata is removed.

Every change is reported in one line. ``python -m autograder repair`` shows the
report; grading applies it automatically (:class:`RepairCells`, nbgrader's sanitize step).

Example
-------
>>> import nbformat
>>> released = nbformat.read("autograder/release/hw1/01_risk_minimization.ipynb", 4)  # doctest: +SKIP
>>> fixed, changes = repair_notebook(nbformat.read("colab_copy.ipynb", 4), released)  # doctest: +SKIP
"""
from __future__ import annotations

import copy
import difflib
import os
import re

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell
from nbformat.v4.nbbase import random_cell_id
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import NbGraderPreprocessor
from nbgrader.utils import is_locked, is_solution

from .notebooks import grade_id, identify, read_notebook, record, released_notebooks

CONTENT_MATCH = 0.6      # least similarity for a content match
COPY_OF_LOCKED = 0.9     # an unmatched cell this close to a locked cell is a copy of it
_DEFINES = re.compile(r"^(?:(?:async\s+)?(?:def|class)\s+(\w+)|(\w+)\s*=[^=])", re.MULTILINE)


def _defines(source: str) -> set[str]:
    """Top-level names a cell defines (def, class or assignment)."""
    return {a or b for a, b in _DEFINES.findall(source)}


def _norm(source: str) -> str:
    return "\n".join(" ".join(line.split()) for line in source.strip().splitlines())


def similarity(released_cell, cell, floor: float = 0.0) -> float:
    """How alike two cells are, in [0, 1] (0 when surely below ``floor``); a solution
    and its stub match on the names they define."""
    names = _defines(released_cell.source) if is_solution(released_cell) else set()
    named = bool(names) and names <= _defines(cell.source)
    a, b = _norm(released_cell.source), _norm(cell.source)
    if not (a or b):
        return 1.0
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    if not named and (matcher.real_quick_ratio() < floor or matcher.quick_ratio() < floor):
        return 0.0
    return 0.9 + 0.1 * matcher.ratio() if named else matcher.ratio()


def _as_type(cell, cell_type: str):
    """The cell with the given type, keeping its source, id and metadata."""
    if cell.cell_type == cell_type:
        return cell
    new = new_code_cell(cell.source) if cell_type == "code" else new_markdown_cell(cell.source)
    new.metadata = cell.metadata
    if "id" in cell:
        new.id = cell.id
    return new


def _match(released_cells, anchors, cells) -> tuple[dict[int, int], dict[int, str]]:
    """released index -> submitted index (every released cell found), and how each was matched.

    Released cells that are not anchors (narrative, questions) are matched too, as
    landmarks for placing written answers, which share no text with their stub.
    """
    match, how, taken = {}, {}, set()
    for r in anchors:   # 1. grade id (the closest of several copies)
        gid = grade_id(released_cells[r])
        same = [j for j, c in enumerate(cells) if grade_id(c) == gid and j not in taken]
        if same:
            closest = (lambda j: (similarity(released_cells[r], cells[j]), j))  # noqa: B023 (used at once)
            j = same[0] if len(same) == 1 else max(same, key=closest)
            match[r], how[r] = j, "grade id"
            taken.add(j)
    by_text: dict[str, list[int]] = {}
    for j, c in enumerate(cells):
        if j not in taken:
            by_text.setdefault(_norm(c.source), []).append(j)
    for r in range(len(released_cells)):   # 2a. the very same text (most cells: cheap)
        if r not in match and by_text.get(text := _norm(released_cells[r].source)):
            match[r], how[r] = by_text[text].pop(0), "content (1.00)"
            taken.add(match[r])
    landmark = {r: COPY_OF_LOCKED for r in range(len(released_cells)) if r not in anchors}
    floors = {r: landmark.get(r, CONTENT_MATCH) for r in range(len(released_cells)) if r not in match}
    pairs = sorted(((score, r, j) for r, floor in floors.items() for j, c in enumerate(cells)
                    if j not in taken and (score := similarity(released_cells[r], c, floor)) >= floor),
                   reverse=True)
    for score, r, j in pairs:   # 2b. similar content, best pairs first
        if r not in match and j not in taken:
            match[r], how[r] = j, f"content ({score:.2f})"
            taken.add(j)
    for r in anchors:           # 3. written answers: the one free cell between matched neighbours
        if r in match or not is_solution(released_cells[r]):
            continue
        lo = max((match[a] for a in match if a < r), default=-1)
        hi = min((match[a] for a in match if a > r), default=len(cells))
        free = [j for j in range(lo + 1, hi) if j not in taken
                and cells[j].cell_type == released_cells[r].cell_type]
        if len(free) == 1:
            match[r], how[r] = free[0], "position"
            taken.add(free[0])
    return match, how


def repair_notebook(submitted, released) -> tuple[nbformat.NotebookNode, list[str]]:
    """Repair ``submitted`` against ``released`` (both nbformat v4 notebooks).

    Returns the repaired notebook (a new object) and the list of changes, one
    human-readable line each; an empty list means the notebook was already intact.
    """
    cells = [copy.deepcopy(c) for c in submitted.cells]
    rel = released.cells
    anchors = [i for i, c in enumerate(rel) if grade_id(c)]
    found, how = _match(rel, anchors, cells)
    match = {r: j for r, j in found.items() if r in anchors}
    narrative = set(found.values()) - set(match.values())   # the released narrative, kept as it is
    changes: list[str] = []

    owner_of, owner = {}, None   # each unmatched cell rides with the anchor it followed
    by_position = {j: r for r, j in match.items()}
    for j in range(len(cells)):
        owner = by_position.get(j, owner)
        owner_of[j] = owner
    order = [match[r] for r in anchors if r in match]
    if order != sorted(order):
        changes.append("cells moved back to the released order: "
                       + ", ".join(grade_id(rel[r]) for r in anchors if r in match))

    def followers(r):
        kept = []
        for j in (k for k in range(len(cells)) if k not in by_position and owner_of[k] == r):
            cell = cells[j]
            locked = [a for a in anchors if is_locked(rel[a])
                      and j not in narrative and similarity(rel[a], cell, COPY_OF_LOCKED) >= COPY_OF_LOCKED]
            if locked:
                changes.append(f"cell {j}: copy of locked cell '{grade_id(rel[locked[0]])}' dropped")
                continue
            if "nbgrader" in cell.metadata:
                del cell.metadata["nbgrader"]
                changes.append(f"cell {j}: nbgrader metadata removed (matches no released cell)")
            kept.append(cell)
        return kept

    out = followers(None)
    for r in anchors:
        ref, gid = rel[r], grade_id(rel[r])
        meta = ref.metadata["nbgrader"]
        if r not in match:
            out.append(copy.deepcopy(ref))
            what = "answer" if is_solution(ref) else "cell"
            changes.append(f"'{gid}': missing; released {what} inserted")
            continue
        j = match[r]
        cell = cells[j]
        if how[r] != "grade id":
            changes.append(f"'{gid}': found by {how[r]} at cell {j}")
        if cell.cell_type != ref.cell_type:
            changes.append(f"'{gid}': {cell.cell_type} cell turned back into {ref.cell_type}")
            cell = _as_type(cell, ref.cell_type)
        if cell.metadata.get("nbgrader") != meta:
            if "nbgrader" not in cell.metadata:
                changes.append(f"'{gid}': nbgrader metadata restored")
            else:
                diff = sorted(k for k in set(meta) | set(cell.metadata["nbgrader"])
                              if meta.get(k) != cell.metadata["nbgrader"].get(k))
                changes.append(f"'{gid}': nbgrader metadata corrected ({', '.join(diff)})")
            cell.metadata["nbgrader"] = copy.deepcopy(meta)
        for flag in ("editable", "deletable"):
            if flag in ref.metadata:
                cell.metadata[flag] = ref.metadata[flag]
            else:
                cell.metadata.pop(flag, None)
        if is_locked(ref) and cell.source != ref.source:
            changes.append(f"'{gid}': locked cell was edited; released version restored")
            cell.source = ref.source
        out.append(cell)
        out.extend(followers(r))

    nb = nbformat.v4.new_notebook(metadata=copy.deepcopy(submitted.get("metadata", {})))
    nb.nbformat, nb.nbformat_minor = released.nbformat, released.nbformat_minor
    seen = set()
    for cell in out:
        if cell.get("id") in seen or not cell.get("id"):
            cell.id = random_cell_id()
        seen.add(cell.id)
    nb.cells = out
    return nb, changes


def repair_submissions(course, assignment: str, students: list[str] | None = None,
                       write: bool = False) -> dict[str, list[str]]:
    """Repair report of each submitted notebook, ``{"<student>/<file name>": [changes]}``.

    A file under another name is repaired as the released notebook its content
    matches (as grading does). With ``write``, repaired notebooks replace the
    submitted ones (a renamed one is saved under its released name when that is
    free), and the originals are kept under ``<course>/repair_originals/<student>/<assignment>/``.
    (Grading repairs on its own; this is for looking, or for fixing submitted/ for good.)
    """
    released = released_notebooks(course, assignment)
    report = {}
    for student in students or course.students(assignment):
        folder = course.path("submitted", assignment, student)
        for path in sorted(folder.glob("*.ipynb")):
            key = f"{student}/{path.name}"
            nb, why = read_notebook(path)
            name = None if nb is None else path.stem if path.stem in released else identify(nb, released)
            if name is None:
                report[key] = [f"{why or f'matches no notebook of {assignment}'}: not repaired"]
                continue
            fixed, report[key] = repair_notebook(nb, released[name])
            target = folder / f"{name}.ipynb"
            if name != path.stem:
                report[key].insert(0, f"renamed file: it is {name}.ipynb"
                                   + ("" if not target.exists() else f" (but {name}.ipynb exists too)"))
            if write and report[key] and (target == path or not target.exists()):
                backup = course.root / "repair_originals" / student / assignment / path.name
                backup.parent.mkdir(parents=True, exist_ok=True)
                path.replace(backup)
                nbformat.write(fixed, str(target))
    return report


class RepairCells(NbGraderPreprocessor):
    """nbgrader's sanitize step: repair a submission against ``release/<assignment>/<notebook>.ipynb``."""

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        coursedir = CourseDirectory(config=self.config)
        path = os.path.join(coursedir.format_path(coursedir.release_directory, ".", info["assignment"]),
                            info["notebook"] + ".ipynb")
        if not os.path.exists(path):
            self.log.warning("No released notebook %s: submission not repaired", path)
            return nb, resources
        repaired, changes = repair_notebook(nb, nbformat.read(path, as_version=4))
        for line in changes:
            self.log.warning("repair %s: %s", info["notebook"], line)
        record(repaired, "repairs", changes)
        return repaired, resources
