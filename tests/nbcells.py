"""Run an instructor notebook's cells in-process to check its hidden tests.

Used by the tests that show each graded exercise's tests fail on the classic wrong
answers students write (``tests/wrong_answers/<notebook>/<grade_id>__<what>.py``).

The notebook's code cells run once, in order, with the reference solutions, in the
``grading`` profile; just before each autograded test cell the namespace is kept,
so a wrong answer can be swapped in and that test cell run again against it.
"""
from __future__ import annotations

import contextlib
import functools
import io
import os
import re
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "autograder" / "source"
WRONG = Path(__file__).resolve().parent / "wrong_answers"


def nbgrader_meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


class NotebookRun:
    """Executes ``autograder/source/<hw>/<name>.ipynb`` once; remembers each test cell's namespace."""

    def __init__(self, hw: str, name: str):
        self.path = SOURCE / hw / f"{name}.ipynb"
        self.nb = nbformat.read(self.path, as_version=4)
        self.before_test: dict[str, tuple[dict, str]] = {}   # test grade_id -> (namespace, test source)
        self.solution_of: dict[str, str] = {}                # test grade_id -> preceding solution grade_id
        self._run()

    def _run(self):
        os.environ["SSL_COURSE_PROFILE"] = "grading"
        os.environ.setdefault("MPLBACKEND", "Agg")
        ns: dict = {"__name__": "__main__"}
        last_solution = None
        cwd = os.getcwd()
        os.chdir(self.path.parent)
        try:
            for cell in self.nb.cells:
                if cell.cell_type != "code":
                    continue
                meta = nbgrader_meta(cell)
                if meta.get("solution"):
                    last_solution = meta.get("grade_id")
                if meta.get("grade") and not meta.get("solution"):
                    self.before_test[meta["grade_id"]] = (dict(ns), cell.source)
                    self.solution_of[meta["grade_id"]] = last_solution
                _exec(cell.source, ns)
        finally:
            os.chdir(cwd)
            import matplotlib.pyplot as plt
            plt.close("all")

    def test_ids(self) -> list[str]:
        return list(self.before_test)

    def stub_of(self, test_id: str) -> str:
        """The solution cell graded by ``test_id``, as students receive it (see :func:`stub`)."""
        solution_id = self.solution_of[test_id]
        return stub(next(c.source for c in self.nb.cells if nbgrader_meta(c).get("grade_id") == solution_id))

    def run_test(self, test_id: str, answer_source: str | None = None) -> None:
        """Run test cell ``test_id`` after ``answer_source`` (default: the reference); raises if it fails."""
        ns, test_source = self.before_test[test_id]
        ns = dict(ns)
        if answer_source is not None:
            _exec(answer_source, ns)
        _exec(test_source, ns)


def _exec(source: str, ns: dict) -> None:
    lines = [ln for ln in source.splitlines() if not ln.lstrip().startswith(("%", "!"))]  # IPython magics
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile("\n".join(lines), "<cell>", "exec"), ns)


def stub(source: str) -> str:
    """``source`` with each solution region replaced by nbgrader's stub (``raise NotImplementedError()``)."""
    from nbformat.v4 import new_code_cell
    from nbgrader.preprocessors import ClearSolutions

    cell = new_code_cell(source)
    ClearSolutions()._replace_solution_region(cell, "python")
    return cell.source


@functools.cache
def source_notebook(hw: str, name: str) -> nbformat.NotebookNode:
    """The source notebook, read once per session (callers only read it)."""
    return nbformat.read(SOURCE / hw / f"{name}.ipynb", as_version=4)


def graded_tests(hw: str, name: str) -> list[str]:
    """grade_ids of the notebook's autograded test cells, in order (read without running it)."""
    metas = [nbgrader_meta(c) for c in source_notebook(hw, name).cells if c.cell_type == "code"]
    return [meta["grade_id"] for meta in metas if meta.get("grade") and not meta.get("solution")]


def points(hw: str, name: str) -> dict:
    """The points a notebook states in its first cell and the points its graded cells carry.

    ``{"stated": N, "stated_split": (autograded, by hand)}`` from a header reading
    ``**Points: N** (A autograded, M graded by hand)`` (``None`` where absent), and
    ``"autograded"``/``"by_hand"``: the sums over code test cells and written-answer cells.
    """
    nb = source_notebook(hw, name)
    header = nb.cells[0].source
    stated = re.search(r"\*\*Points: (\d+)\*\*", header)
    split = re.search(r"\((\d+) autograded, (\d+) graded by hand\)", header)
    graded = [c for c in nb.cells if nbgrader_meta(c).get("grade")]
    return {"stated": int(stated.group(1)) if stated else None,
            "stated_split": tuple(map(int, split.groups())) if split else None,
            "autograded": sum(nbgrader_meta(c).get("points", 0) for c in graded if c.cell_type == "code"),
            "by_hand": sum(nbgrader_meta(c).get("points", 0) for c in graded if c.cell_type == "markdown")}


def wrong_answers(notebook: str) -> list[tuple[str, str, Path]]:
    """(test grade_id, description, file) for every wrong answer kept for ``notebook``.

    Files are named ``<solution grade_id>__<description>.py``; the test id is the
    solution's grade_id followed by ``-tests``.
    """
    folder = WRONG / notebook
    out = []
    for f in sorted(folder.glob("*.py")):
        solution_id, _, what = f.stem.partition("__")
        out.append((f"{solution_id}-tests", what, f))
    return out
