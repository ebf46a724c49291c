"""``export``: the grades as CSV (nbgrader's own CSV exporter) and as a printed table.

Example
-------
>>> export_csv(Course(), Path("grades.csv"))     # doctest: +SKIP
>>> print(grade_table(Course()))                 # doctest: +SKIP
student   hw1     hw2
alice     5/7     6/6
"""
from __future__ import annotations

from pathlib import Path

from nbgrader.plugins import CsvExportPlugin

from .course import Course


def export_csv(course: Course, target: Path, assignments: list[str] | None = None) -> Path:
    """One row per student and assignment: nbgrader's columns (raw score, late penalty, score, max)."""
    plugin = CsvExportPlugin(to=str(target), assignment=list(assignments or []))
    with course.gradebook() as gb:
        plugin.export(gb)
    return Path(target)


def grade_table(course: Course, assignments: list[str] | None = None) -> str:
    """Students x assignments, ``score/max`` (``-`` when nothing was submitted)."""
    names = course.check_assignments(assignments)
    rows = {}
    with course.gradebook() as gb:
        maxima = {a: gb.find_assignment(a).max_score for a in names}
        for a in names:
            for sub in gb.assignment_submissions(a):
                rows.setdefault(sub.student.id, {})[a] = f"{sub.score:g}/{sub.max_score:g}"
    header = ["student", *(f"{a} (/{maxima[a]:g})" for a in names)]
    table = [header] + [[s, *(rows[s].get(a, "-") for a in names)] for s in sorted(rows)]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in table)
