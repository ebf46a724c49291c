"""Output caps: what a cell (and a notebook) may keep of what a student's code printed or displayed.

nbgrader's ``LimitOutput`` counts lines and ignores images, so 200 MiB of text on one line,
or 2,000 figures, used to be kept whole (notebooks and feedback pages of 200+ MB). Here
every output is counted in bytes (its text, or the encoded size of each of its
representations: a PNG's base64, an HTML string) as it arrives from the kernel, and is
dropped once its cell has kept :data:`CELL_BYTES` or the notebook :data:`NOTEBOOK_BYTES`;
the cell then ends with one note saying so. Error outputs are always kept (they decide a
test's score), shortened to their last lines. So an autograded notebook and its feedback
page stay under 20 MiB whatever the student printed.

Example
-------
>>> import nbformat
>>> budget = OutputBudget(cell_bytes=10, notebook_bytes=100)
>>> out = nbformat.v4.new_output("stream", name="stdout", text="x" * 8)
>>> budget.admit(0, out), budget.admit(0, out)
(True, False)
>>> budget.note(0)["text"]
'[autograder: output cut here: this cell printed or displayed more than 10 bytes]\\n'
"""
from __future__ import annotations

import nbformat

CELL_BYTES = 2 * 2**20        # kept per cell
NOTEBOOK_BYTES = 16 * 2**20   # kept per notebook


def size(output) -> int:
    """Bytes an output takes in the notebook: its text, traceback or representations."""
    if output.get("output_type") == "stream":
        return len(output.get("text", ""))
    if output.get("output_type") == "error":
        return sum(len(line) for line in output.get("traceback", [])) + len(output.get("evalue", ""))
    data = output.get("data", {})
    return sum(len(value) if isinstance(value, str) else sum(map(len, value)) if isinstance(value, list)
               else len(str(value)) for value in data.values())


class OutputBudget:
    """Counts the bytes kept per cell and per notebook; says which outputs to keep."""

    def __init__(self, cell_bytes: int = CELL_BYTES, notebook_bytes: int = NOTEBOOK_BYTES):
        self.cell_bytes, self.notebook_bytes = cell_bytes, notebook_bytes
        self.kept: dict[int, int] = {}      # cell index -> bytes kept
        self.cut: dict[int, str] = {}       # cell index -> why its later outputs were dropped

    def admit(self, cell_index: int, output) -> bool:
        """Whether to keep ``output`` of cell ``cell_index`` (False: drop it, and note the cut)."""
        if output.get("output_type") == "error":   # always kept: it decides the test's score
            _shorten_error(output)
            return True
        n, here = size(output), self.kept.get(cell_index, 0)
        if cell_index in self.cut:
            return False
        if here + n > self.cell_bytes:
            self.cut[cell_index] = f"this cell printed or displayed more than {_mib(self.cell_bytes)}"
        elif sum(self.kept.values()) + n > self.notebook_bytes:
            self.cut[cell_index] = f"the notebook's outputs reached {_mib(self.notebook_bytes)}"
        else:
            self.kept[cell_index] = here + n
            return True
        return False

    def note(self, cell_index: int):
        """The stream output that ends a cut cell."""
        return nbformat.v4.new_output("stream", name="stdout",
                                      text=f"[autograder: output cut here: {self.cut[cell_index]}]\n")

    def trim(self, cell_index: int, outputs: list) -> list:
        """``outputs`` of a finished cell within the budget (outputs updated after they arrived, via
        display handles, are counted again here), ending with the note when any was dropped."""
        self.kept.pop(cell_index, None)
        earlier = self.cut.pop(cell_index, None)
        kept = [o for o in outputs if self.admit(cell_index, o)]
        if earlier is not None:
            self.cut.setdefault(cell_index, earlier)
        if cell_index in self.cut:
            kept.append(self.note(cell_index))
        return kept


def _shorten_error(output, lines: int = 40, chars: int = 10_000) -> None:
    """An error output in at most ``lines`` traceback lines of ``chars`` characters, evalue likewise."""
    output["evalue"] = output.get("evalue", "")[:chars]
    output["traceback"] = [line[:chars] for line in output.get("traceback", [])[-lines:]]


def _mib(n: int) -> str:
    return f"{n / 2**20:g} MiB" if n >= 2**20 else f"{n} bytes"
