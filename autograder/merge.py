"""Writing one student's results into the course: the only writes a grading batch makes.

:func:`merge` copies the grades of the student's private gradebook (or zeros) into the
course gradebook; :func:`publish` replaces ``autograded/<student>/<assignment>``, whose
existence marks the student as graded. Both run in the grading process's main thread.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from nbgrader.api import Gradebook

from .course import Course


def merge(dst: Gradebook, private: Path | None, assignment: str, student: str) -> None:
    """Copy the student's grades (or zeros when ``private`` is None) into the course gradebook ``dst``."""
    dst.update_or_create_student(student)
    if private is None:
        sub = dst.update_or_create_submission(assignment, student)
        for nb in sub.notebooks:
            for g in nb.grades:
                g.auto_score, g.needs_manual_grade = 0, False
        dst.db.commit()
        return
    with Gradebook(f"sqlite:///{private / 'gradebook.db'}", dst.course_id) as src:
        src_sub = src.find_submission(assignment, student)
        dst.update_or_create_submission(assignment, student, timestamp=src_sub.timestamp)
        for nb in src_sub.notebooks:
            dnb = dst.find_submission_notebook(nb.name, assignment, student)
            dnb.late_submission_penalty = nb.late_submission_penalty
            for g in nb.grades:
                d = dst.find_grade(g.name, nb.name, assignment, student)
                d.auto_score = g.auto_score
                d.needs_manual_grade = d.manual_score is not None or d.auto_score is None
            for cm in nb.comments:
                dst.find_comment(cm.name, nb.name, assignment, student).auto_comment = cm.auto_comment
        dst.db.commit()


def publish(course: Course, private: Path | None, assignment: str, student: str) -> None:
    """Replace ``autograded/<student>/<assignment>`` (its existence marks the student as graded)."""
    final = course.path("autograded", assignment, student)
    staged = final.with_name(f".{assignment}.staged")
    shutil.rmtree(staged, ignore_errors=True)
    source = private / "autograded" / student / assignment if private else None
    if source is not None and source.is_dir():
        shutil.copytree(source, staged)
    else:
        staged.mkdir(parents=True)
    shutil.rmtree(final, ignore_errors=True)
    staged.rename(final)


