"""The feedback step's nbgrader preprocessor (set in ``nbgrader_config.py``): :class:`HideTests`.

The other steps' preprocessors live beside their logic: :class:`autograder.repair.RepairCells`
(sanitize) and :class:`autograder.execute.JudgedExecute` (autograde).
"""
from __future__ import annotations

import nbformat
from nbgrader import utils
from nbgrader.preprocessors import ClearHiddenTests

from .hidden import hidden_lines, redact
from .notebooks import error_message, first_error, recorded


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
