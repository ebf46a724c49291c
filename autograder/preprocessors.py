"""nbgrader preprocessors of the course, set in ``nbgrader_config.py``.

So a TA's plain ``nbgrader autograde`` / ``generate_feedback`` gets them too:

- :class:`RepairCells` (sanitizing step, before nbgrader's OverwriteCells): repairs the
  submitted notebook against the released one (:mod:`autograder.repair`).
- :class:`GuardedExecute` (autograding step, instead of nbgrader's Execute): runs the
  kernel in the sandbox (:mod:`autograder.sandbox`), calls the integrity guard
  (:mod:`autograder.guard`) before every autograded test cell, survives kernels that
  die or ignore interrupts, and makes every test cell's score follow its
  execute reply.
- :class:`HideTests` (feedback): removes hidden tests and the tracebacks that would
  quote them (nbgrader issue 917), and puts a results table on top.

What each step did is kept in the notebook's ``metadata["autograder"]``
(``repairs``, ``events`` and the execution's wall-clock ``seconds``), which the grade
verb and the feedback read back.
"""
from __future__ import annotations

import ast
import json
import os
import signal
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode
from traitlets import Integer

from nbgrader import utils
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import ClearHiddenTests, Execute, NbGraderPreprocessor

from .hidden import hidden_lines, redact
from .notebooks import error_message, first_error
from .repair import repair_notebook
from .sandbox import SandboxKernelManager

GUARD = "__import__('sys').modules['_autograder_guard']"


def record(nb, key: str, lines: list[str]) -> None:
    """Append ``lines`` to ``nb.metadata["autograder"][key]``."""
    nb.metadata.setdefault("autograder", {}).setdefault(key, []).extend(lines)


def error_output(ename: str, evalue: str) -> NotebookNode:
    output = nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[])
    output.traceback = [error_message(output)]
    return output


class RepairCells(NbGraderPreprocessor):
    """Repair a submission against ``release/<assignment>/<notebook>.ipynb`` before sanitizing."""

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        coursedir = CourseDirectory(config=self.config)
        path = os.path.join(coursedir.format_path(coursedir.release_directory, ".", info["assignment"]),
                            info["notebook"] + ".ipynb")
        if not os.path.exists(path):
            self.log.warning("No released notebook %s: submission not repaired", path)
            return nb, resources
        repaired, changes = repair_notebook(nb, nbformat.read(path, as_version=4))
        for line in changes:
            self.log.warning("repair %s: %s", info["notebook"], line)
        record(repaired, "repairs", changes)
        return repaired, resources


class GuardedExecute(Execute):
    """nbgrader's Execute for hostile notebooks.

    - The kernel starts through :class:`~autograder.sandbox.SandboxKernelManager`.
    - Before each autograded test cell the guard restores what the tests rely on
      (through a user expression, out of reach of input/AST transformers); what it
      undid is recorded. If the guard cannot run, the test earns nothing.
    - A cell past its timeout is interrupted (nbgrader's behaviour). A cell that
      kills the kernel or ignores the interrupt is skipped: the notebook re-runs from
      the top in a fresh kernel without it, at most ``max_restarts`` times.
    - Every test cell's score follows its execute reply, as the course's tests are
      pass/fail: an error (even with tracebacks disabled, nbgrader PR 1324) leads the
      outputs, so an injected ``execute_result`` cannot buy partial credit, and a test
      cell that never ran gets an error instead of nbgrader's "no output: full
      points". A test cell that passed earns its points even when it wrote to stderr
      (a warning) or ended on a value: its stderr is shown as stdout and its
      ``execute_result`` as display data, which nbgrader would otherwise score as 0
      or as partial credit.
    """

    max_restarts = Integer(3, help="fresh kernels after a death or hang, per notebook").tag(config=True)

    def __init__(self, **kw):
        kw.setdefault("kernel_manager_class", SandboxKernelManager)
        super().__init__(**kw)
        self.shutdown_kernel = "immediate"

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        km.extra_hidden = [CourseDirectory(config=self.config).root]
        return km

    def preprocess(self, nb, resources=None, km=None):
        NotebookClient.__init__(self, nb, km)   # as nbconvert's ExecutePreprocessor does
        self._check_assign_resources(resources)
        start = time.monotonic()
        skip: dict[int, NotebookNode] = {}
        ran, stopped = self._run(skip)
        while stopped is not None:
            index, output = stopped
            skip[index] = output
            if len(skip) > self.max_restarts:
                self._event(f"cell {index}: {output.evalue}; gave up after {len(skip)} kernels, "
                            "later cells not run")
                break
            self._event(f"cell {index}: {output.evalue}; notebook re-run without it")
            ran, stopped = self._run(skip)
        for index, cell in enumerate(self.nb.cells):
            if utils.is_grade(cell) and cell.cell_type == "code" and index not in ran:
                cell.outputs = [skip.get(index) or error_output(
                    "NotRun", "this test did not run (an earlier cell stopped the kernel)")]
        self.set_widgets_metadata()
        self.nb.metadata.setdefault("autograder", {})["seconds"] = round(time.monotonic() - start, 1)
        return self.nb, self.resources

    def _event(self, line: str) -> None:
        self.log.warning(line)
        record(self.nb, "events", [line])

    def _run(self, skip):
        """Run the notebook once in a fresh kernel; return (cells run, (index, error) or None)."""
        ran = set()
        for cell in self.nb.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        with self.setup_kernel():
            info = self.wait_for_reply(self.kc.kernel_info())
            if info:
                self.nb.metadata["language_info"] = info["content"]["language_info"]
            for index, cell in enumerate(self.nb.cells):
                if cell.cell_type != "code":
                    continue
                if index in skip:
                    cell.outputs = [skip[index]]
                    continue
                graded = utils.is_grade(cell)
                try:
                    trusted = self._guard(cell) if graded else True
                    self.execute_cell(cell, index, store_history=True)
                    if graded:
                        self._user_expression(f"{GUARD}.release()")
                except DeadKernelError:
                    return ran, (index, error_output("KernelDied", self._death()))
                except CellTimeoutError:
                    return ran, (index, error_output(
                        "CellTimeoutError", f"still running {self.timeout} s after the timeout "
                        "interrupt; the kernel was stopped"))
                ran.add(index)
                if not trusted:
                    cell.outputs.insert(0, error_output(
                        "GuardError", "the autograder could not check this test: the kernel's "
                        "execution machinery was tampered with"))
        return ran, None

    def _user_expression(self, expression: str):
        msg_id = self.kc.execute("", silent=True, store_history=False, user_expressions={"x": expression})
        reply = self.wait_for_reply(msg_id)
        return ((reply or {}).get("content", {}).get("user_expressions") or {}).get("x", {})

    def _guard(self, cell) -> bool:
        result = self._user_expression(f"{GUARD}.restore()")
        gid = cell.metadata["nbgrader"]["grade_id"]
        if result.get("status") != "ok":
            self._event(f"'{gid}': integrity guard did not run ({result.get('ename', 'no reply')}); "
                        "test scored 0")
            return False
        found = json.loads(ast.literal_eval(result["data"]["text/plain"]))
        if found:
            self._event(f"'{gid}': tampering undone before the test: {', '.join(found)}")
        return True

    def _death(self) -> str:
        process = getattr(getattr(self.km, "provisioner", None), "process", None)
        code = process.poll() if process is not None else None
        if code is None:
            return "the kernel died"
        if code < 0:
            name = signal.Signals(-code).name
            hint = " (CPU time or memory limit?)" if name in ("SIGKILL", "SIGXCPU") else ""
            return f"the kernel was killed by {name}{hint}"
        return f"the kernel exited with code {code}"

    def on_cell_executed(self, **kwargs):
        super().on_cell_executed(**kwargs)   # nbgrader: an error reply always leaves an error output
        cell, reply = kwargs["cell"], kwargs["execute_reply"]
        content = reply["content"]
        if utils.is_grade(cell) and content["status"] == "error":
            cell.outputs.sort(key=lambda output: output.output_type != "error")
        elif utils.is_grade(cell):   # passed: full points (see the class doc)
            for output in cell.outputs:
                if output.output_type == "stream" and output.name == "stderr":
                    output.name = "stdout"
                elif output.output_type == "execute_result":
                    output.output_type = "display_data"
                    del output["execution_count"]
        if content.get("ename") == "CellTimeoutError":
            self._event(f"cell {kwargs['cell_index']}: timed out after {self.timeout} s; interrupted")


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
        notes = [*nb.metadata.get("autograder", {}).get("repairs", []),
                 *nb.metadata.get("autograder", {}).get("events", [])]
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
