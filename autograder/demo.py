"""``demo`` (``make demo``): the whole TA pipeline on embedded data, in a few minutes.

release -> sample submissions per notebook, handed in LMS-style
(``<student>_<notebook>.ipynb``) and imported with ``collect`` -> grade (parallel,
sandboxed) -> feedback -> ``grades.csv`` -> the grade table.

The samples (:data:`STUDENTS`): ``sample-reference`` (the instructor's solutions:
every autograded point), ``sample-blank`` (the release unchanged: 0) and
``sample-partly-wrong`` (the first answer of each notebook wrong).
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

import nbformat

from . import samples
from .collect import collect
from .course import Course
from .export import export_csv, grade_table
from .feedback import feedback
from .grade import Limits, grade
from .release import release

STUDENTS = {"sample-reference": samples.reference, "sample-blank": samples.blank,
            "sample-partly-wrong": samples.partly_wrong}


def hand_in(course: Course, assignment: str, folder: Path, students: list[str]) -> None:
    """Write the sample submissions of ``assignment`` into ``folder`` as an LMS download."""
    for name in course.notebooks(assignment):
        for student in students:
            nb = STUDENTS[student](course, assignment, name)
            nbformat.write(nb, str(folder / f"{student}_{name}.ipynb"))


def demo(course: Course | None = None, workers: int | None = None, limits: Limits | None = None,
         students: list[str] | None = None, echo=print) -> str:
    """Run the pipeline on ``course`` (default: this package's) for ``students`` (default: all of
    :data:`STUDENTS`); return the grade table (also echoed)."""
    course = course or Course()
    students = list(students or STUDENTS)
    if unknown := set(students) - set(STUDENTS):
        raise ValueError(f"students must be among {list(STUDENTS)}, got {sorted(unknown)}")
    start = time.monotonic()
    echo("release: " + ("; ".join(release(course)) or "notebooks/ up to date"))
    for assignment in course.assignments():
        with tempfile.TemporaryDirectory() as tmp:
            hand_in(course, assignment, Path(tmp), students)
            report = collect(course, Path(tmp), assignment)
        echo(f"collect {assignment}: {len(report.placed)} notebooks placed"
             + "".join(f"\n  {line}" for line in report.problems))
    grade(course, students=students, workers=workers, force=True, limits=limits or Limits(), echo=echo)
    for assignment in course.assignments():
        result = feedback(course, assignment, students)
        echo(f"feedback {assignment}: {len(result.files)} HTML files under {course.root / 'feedback'}")
    csv = export_csv(course, course.root / "grades.csv")
    table = grade_table(course)
    echo(f"grades: {csv}\n\n{table}\n\ndemo done in {time.monotonic() - start:.0f} s")
    return table
