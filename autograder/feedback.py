"""``feedback``: one HTML file per student and notebook, without hidden tests.

nbgrader's generate_feedback renders the autograded notebook, hidden tests included
(nbgrader issue 917, open upstream). The course configures :class:`HideTests` (this
step's preprocessor, below) instead, so every test cell shows its visible part,
pass/fail, points and message, a table sums them up, and output lines quoting a hidden
test are removed (hidden tests never run in the student's kernel, so there should be
none). This verb then checks every file it wrote against
the hidden-test lines of its source notebook: a file that still quotes one is
deleted, the other students' files are still written, and the verb fails at the end
naming it. A student with no autograded notebook (nothing readable was handed in)
gets no file; the verb says so. Every page is sanitised last
(:class:`autograder.sanitize.SanitizeFeedback`): none of a student's HTML or JavaScript
runs in it; the verb adds that step where a course's nbgrader_config.py lacks it.

Example
-------
>>> result = feedback(Course(), "hw1")                   # doctest: +SKIP
>>> bundle(Course(), "hw1", Path("hw1_feedback.zip"))    # for an LMS upload   # doctest: +SKIP
"""
from __future__ import annotations

import dataclasses
import zipfile
from pathlib import Path

import nbformat
from nbgrader import utils
from nbgrader.converters import GenerateFeedback
from nbgrader.preprocessors import ClearHiddenTests
from nbgrader.utils import is_grade
from traitlets.utils.importstring import import_item

from .course import Course
from .hidden import hidden_lines, leaked, redact
from .notebooks import error_message, first_error, recorded
from .sanitize import SanitizeFeedback


@dataclasses.dataclass
class Feedback:
    files: list[Path] = dataclasses.field(default_factory=list)
    skipped: list[str] = dataclasses.field(default_factory=list)   # one line per student without a file


def notebook_hidden_lines(course: Course, assignment: str, notebook: str) -> set[str]:
    """The hidden lines of one source notebook."""
    path = course.path("source", assignment) / f"{notebook}.ipynb"
    return hidden_lines(cell.source for cell in nbformat.read(str(path), as_version=4).cells)


def assignment_hidden_lines(course: Course, assignment: str) -> set[str]:
    """The hidden lines of all the source notebooks of ``assignment``."""
    return set().union(*(notebook_hidden_lines(course, assignment, n) for n in course.notebooks(assignment)))


def quoted(course: Course, assignment: str, student: str, path: Path) -> list[str]:
    """Hidden lines of its notebook that the feedback file ``path`` shows, other than lines
    the student wrote in their own cells (shown back to them, they reveal nothing)."""
    autograded = nbformat.read(str(course.path("autograded", assignment, student) / f"{path.stem}.ipynb"),
                               as_version=4)
    own = {line.strip() for cell in autograded.cells
           if not (is_grade(cell) and cell.cell_type == "code")
           for line in cell.source.splitlines()}
    return leaked(path.read_text(), notebook_hidden_lines(course, assignment, path.stem) - own)


def sanitized_steps(course: Course) -> list:
    """The course's ``GenerateFeedback.preprocessors`` with :class:`SanitizeFeedback` last, as
    nbgrader_config.py has it: added where a configuration lacks it, moved where it runs earlier
    (what runs after it, such as HideTests' table of error messages, would not be sanitised).

    >>> [step.__name__ for step in sanitized_steps(Course())]   # doctest: +SKIP
    ['GetGrades', 'HideTests', 'CSSHTMLHeaderPreprocessor', 'SanitizeFeedback']
    """
    config = course.config().GenerateFeedback
    steps = config.preprocessors if "preprocessors" in config \
        else GenerateFeedback.class_traits()["preprocessors"].default()
    steps = [import_item(step) if isinstance(step, str) else step for step in steps]
    return [step for step in steps if not issubclass(step, SanitizeFeedback)] + [SanitizeFeedback]


def feedback(course: Course, assignment: str, students: list[str] | None = None) -> Feedback:
    """Generate the feedback of every autograded student (or ``students``)."""
    api = course.api(**{"GenerateFeedback.preprocessors": sanitized_steps(course)})
    result, failed = Feedback(), []
    for student in students or course.students(assignment, step="autograded"):
        if not any(course.path("autograded", assignment, student).glob("*.ipynb")):
            result.skipped.append(f"{student}: no autograded notebook (see logs/{assignment}/{student}.log)")
            continue
        run = api.generate_feedback(assignment, student, force=True)
        if not run["success"]:
            failed.append(f"{student}: generate_feedback failed\n{run.get('log', '')}{run.get('error', '')}")
            continue
        for path in sorted(course.path("feedback", assignment, student).glob("*.html")):
            found = quoted(course, assignment, student, path)
            if found:
                path.unlink()
                failed.append(f"{path} quoted a hidden test ({found[0]!r}): deleted")
            else:
                result.files.append(path)
    if failed:
        raise RuntimeError(f"feedback {assignment}: {len(result.files)} files written, but\n"
                           + "\n".join(failed))
    return result


def bundle(course: Course, assignment: str, target: Path) -> Path:
    """Zip ``feedback/<student>/<assignment>/*.html`` as ``<student>/<file>`` (for an LMS)."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for student in course.students(assignment, step="feedback"):
            for path in sorted(course.path("feedback", assignment, student).glob("*.html")):
                if quoted(course, assignment, student, path):
                    raise RuntimeError(f"{path} quotes hidden tests; not bundled")
                zf.write(path, f"{student}/{path.name}")
    return target


class HideTests(ClearHiddenTests):
    """Feedback that shows each test's result and message, never hidden test code.

    Removes the hidden-test region of every test cell, cuts every traceback in a test
    cell down to ``ename: evalue`` (a traceback quotes the hidden line that failed),
    removes from every output any line that shows a hidden line (:mod:`autograder.hidden`:
    warnings, tracebacks of later cells and students' prints quote them too), and puts
    a table on top: each test, pass/fail, points and message, then what the autograder
    repaired or undid in the notebook.
    """

    def preprocess(self, nb, resources):
        lines = hidden_lines(cell.source for cell in nb.cells)
        nb, resources = super().preprocess(nb, resources)
        for cell in nb.cells:
            for output in cell.get("outputs", []):
                _redact_output(output, lines)
        rows = []
        for cell in nb.cells:
            if not (utils.is_grade(cell) and cell.cell_type == "code"):
                continue
            meta = cell.metadata["nbgrader"]
            message = first_error(cell)
            shown = "" if message is None else message.replace("|", "/")
            rows.append(f"| `{meta['grade_id']}` | {'pass' if message is None else 'fail'} | "
                        f"{meta.get('score', 0):g} / {meta['points']:g} | {shown} |")
        notes = [*recorded(nb, "repairs"), *recorded(nb, "events")]
        text = "## Autograder results\n\n| test | result | points | message |\n|---|---|---|---|\n"
        text += "\n".join(rows)
        if notes:
            text += "\n\nWhat the autograder changed or noticed in this notebook:\n\n"
            text += "\n".join(f"- {line}" for line in notes)
        nb.cells.insert(0, nbformat.v4.new_markdown_cell(text))
        return nb, resources

    def preprocess_cell(self, cell, resources, cell_index):
        if utils.is_grade(cell) and cell.cell_type == "code":
            self._remove_hidden_test_region(cell)
            for output in cell.outputs:
                if output.output_type == "error":
                    output.traceback = [error_message(output)]
        return cell, resources


def _redact_output(output, lines: set[str]) -> None:
    """Take hidden lines out of one output's text (streams, errors, text/* and SVG data)."""
    if output.output_type == "stream":
        output.text = redact(output.text, lines)
    elif output.output_type == "error":
        output.evalue = redact(output.evalue, lines)
        output.traceback = [redact(line, lines) for line in output.traceback]
    for mime, value in output.get("data", {}).items():
        if mime.startswith("text/") or mime == "image/svg+xml":
            output.data[mime] = redact(value if isinstance(value, str) else "".join(value), lines)
