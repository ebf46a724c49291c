"""What the TA reads: one :class:`Outcome` per student and assignment, and its summary line.

The line says the score, what is left to grade by hand, and in a few words per notebook
what was repaired, what happened while it ran, which answers are unanswered, the first
error outside the tests and which tests failed (and why). Cells are counted from 0 in the
order of the notebook as graded.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook
from nbgrader.utils import compute_checksum, is_grade, is_solution

from .notebooks import first_error, grade_id, recorded


@dataclasses.dataclass
class Outcome:
    """One student's result for one assignment."""

    assignment: str
    student: str
    score: float = 0.0
    max_score: float = 0.0
    manual: float = 0.0               # points still to grade by hand
    notes: list[str] = dataclasses.field(default_factory=list)
    seconds: float = 0.0
    skipped: bool = False

    def line(self) -> str:
        head = f"{self.assignment} {self.student}: "
        if self.skipped:
            return head + "already graded (use --force to grade again)"
        head += f"{self.score:g}/{self.max_score:g}"
        if self.manual:
            head += f" ({self.manual:g} to grade by hand)"
        return head + (" - " + "; ".join(self.notes) if self.notes else "")


def _first_error(cell) -> str | None:
    """The first line of the cell's first error, at most 70 characters (None: no error)."""
    message = first_error(cell)
    if message is None:
        return None
    line = next(iter(message.splitlines()), "")
    return line if len(line) <= 70 else line[:67] + "..."


def notes_from_notebooks(folder: Path) -> list[str]:
    """One student's notebooks in a few words each: what was repaired or undone, which answers
    are unanswered, the first error outside the tests, and which tests failed (and why)."""
    notes = []
    for path in sorted(folder.glob("*.ipynb")):
        nb = nbformat.read(str(path), as_version=4)
        short = (lambda gid, name=path.stem: gid.removeprefix(f"{name}-"))
        repairs = recorded(nb, "repairs")
        parts = [f"repaired: {repairs[0]}" + (f" (+{len(repairs) - 1} more)" if len(repairs) > 1 else "")] \
            if repairs else []
        parts += recorded(nb, "events")
        unanswered, failed, errors = [], [], []
        for index, cell in enumerate(nb.cells):
            if is_solution(cell) and cell.metadata.nbgrader.get("checksum") == compute_checksum(cell):
                unanswered.append(short(grade_id(cell)))
            elif cell.cell_type == "code" and (message := _first_error(cell)):
                if is_grade(cell):
                    if not message.startswith("NotImplementedError"):   # those are the unanswered ones
                        failed.append(f"{short(grade_id(cell))} ({message})")
                else:
                    errors.append(f"{short(grade_id(cell) or f'cell {index}')}: {message}")
        if unanswered:
            parts.append("unanswered " + ", ".join(unanswered))
        if errors:
            more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
            parts.append(f"first error in {errors[0]}{more}")
        if failed:
            parts.append("failed " + ", ".join(failed))
        if parts:
            notes.append(f"{path.stem}: " + "; ".join(parts))
    return notes


def summarize(gb: Gradebook, outcome: Outcome) -> None:
    sub = gb.find_submission(outcome.assignment, outcome.student)
    outcome.score, outcome.max_score = sub.score, sub.max_score
    outcome.manual = sum(g.max_score for nb in sub.notebooks for g in nb.grades if g.needs_manual_grade)


