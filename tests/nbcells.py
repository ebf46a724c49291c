"""Run an instructor notebook's cells in-process to check its hidden tests.

Used by the tests that show each graded exercise's tests fail on the classic wrong
answers students write (``tests/wrong_answers/<notebook>/<grade_id>__<what>.py``).

The notebook's code cells run once, in order, with the reference solutions, in the
``grading`` profile; just before each autograded test cell the namespace is kept,
so a wrong answer can be swapped in and that test cell run again against it.
"""
from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "autograder" / "source"
WRONG = Path(__file__).resolve().parent / "wrong_answers"


def _meta(cell) -> dict:
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
                meta = _meta(cell)
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
