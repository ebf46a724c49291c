"""Reading notebooks as students hand them in, and telling which released notebook one is;
what a cell's nbgrader id and first error are (whether a cell is an answer, a test or locked:
``nbgrader.utils.is_solution``, ``is_grade``, ``is_locked``); and the one place that owns the
autograder's own notebook metadata, ``metadata["autograder"]``:

- ``repairs``: what repair changed (:class:`autograder.repair.RepairCells`);
- ``events``: what happened while the notebook ran (:class:`autograder.execute.JudgedExecute`);
- ``seconds``: how long the run took;
- ``judge``: the judge's round trips to the kernel, ``{"calls": n, "seconds": s}``.

Example
-------
>>> nb, why = read_notebook(Path("submission.ipynb"))     # doctest: +SKIP
>>> identify(nb, released_notebooks(Course(), "hw1"))    # doctest: +SKIP
'01_risk_minimization'
"""
from __future__ import annotations

import difflib
import json
from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode
from nbformat.reader import NotJSONError

from .course import Course


META = "autograder"                  # the notebook metadata key the autograder writes under
KEYS = ("repairs", "events", "seconds", "judge")


def record(nb, key: str, lines: list[str]) -> None:
    """Append ``lines`` to ``nb.metadata["autograder"][key]`` (``repairs`` or ``events``)."""
    if key not in KEYS:
        raise ValueError(f"key must be one of {KEYS}, got {key!r}")
    nb.metadata.setdefault(META, {}).setdefault(key, []).extend(lines)


def recorded(nb, key: str):
    """What was recorded under ``key`` (``[]`` for a list never recorded, else ``None``)."""
    if key not in KEYS:
        raise ValueError(f"key must be one of {KEYS}, got {key!r}")
    return nb.metadata.get(META, {}).get(key, [] if key in ("repairs", "events") else None)


def error_output(ename: str, evalue: str) -> NotebookNode:
    """An error output as the autograder writes them: ``ename: evalue``, no traceback to show."""
    output = nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[])
    output.traceback = [error_message(output)]
    return output


def grade_id(cell) -> str | None:
    """The nbgrader grade id of a cell, if it has one."""
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def error_message(output) -> str:
    """An error output in one line, as the feedback, the report and the summary lines show it:
    ``ename: evalue`` (``ename`` alone when evalue is empty)."""
    return f"{output.ename}: {output.evalue}".rstrip(": ")


def first_error(cell) -> str | None:
    """:func:`error_message` of the cell's first error output; None when it has none."""
    errors = [o for o in cell.get("outputs", []) if o.output_type == "error"]
    return error_message(errors[0]) if errors else None


def read_notebook(path: Path) -> tuple[nbformat.NotebookNode | None, str]:
    """The notebook at ``path``, or None and why it cannot be read."""
    try:
        return nbformat.read(str(path), as_version=4), ""
    except (json.JSONDecodeError, NotJSONError, UnicodeDecodeError) as exc:
        return None, f"not valid JSON ({str(exc)[:80]})"
    except Exception as exc:  # nbformat raises a zoo of errors for non-notebooks
        return None, f"not a notebook ({type(exc).__name__}: {str(exc)[:80]})"


def released_notebooks(course: Course, assignment: str) -> dict[str, nbformat.NotebookNode]:
    """name -> released (student) version, for each notebook of ``assignment``."""
    folder = course.path("release", assignment)
    if not folder.is_dir():
        raise ValueError(f"assignment {assignment!r} has no release: "
                         "run `python -m autograder release` first")
    return {p.stem: nbformat.read(str(p), as_version=4) for p in sorted(folder.glob("*.ipynb"))}


def identify(nb: nbformat.NotebookNode, released: dict[str, nbformat.NotebookNode]) -> str | None:
    """Which released notebook ``nb`` is: most shared grade ids, else most similar text."""
    if len(released) == 1:
        return next(iter(released))
    ids = {grade_id(c) for c in nb.cells} - {None}
    shared = {name: len(ids & {grade_id(c) for c in rel.cells}) for name, rel in released.items()}
    best = max(shared, key=shared.get)
    if shared[best]:
        return best
    text = "\n".join(c.source for c in nb.cells)
    ratios = {name: difflib.SequenceMatcher(None, text, "\n".join(c.source for c in rel.cells)).quick_ratio()
              for name, rel in released.items()}
    best = max(ratios, key=ratios.get)
    return best if ratios[best] >= 0.5 else None
