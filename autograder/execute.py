"""nbgrader's autograde execution step for hostile notebooks: :class:`JudgedExecute`.

The student's cells run in a sandboxed kernel (:mod:`autograder.sandbox`). Each test
cell runs there only as the student saw it (its visible asserts); its hidden part is
judged in this process by :mod:`autograder.judge`, which reaches the student's functions
through the harness the kernel loaded before any student code ran
(:mod:`autograder.kernel.harness`), and only plain data comes back. A test cell earns its
points when its visible part raised nothing *and* the judge found nothing wrong.

What a kernel does to itself is the student's own business: a cell that kills the kernel,
asks it to exit (``exit()``, ``quit()``) or ignores the timeout interrupt is skipped and the
notebook runs again from the top in a fresh kernel without it (at most ``max_restarts``
times), and the blame goes to that cell, not the next one. Outputs are capped in bytes
(:mod:`autograder.outputs`). What happened is recorded in the notebook's metadata
(:mod:`autograder.notebooks`: ``events`` and ``seconds``).
"""
from __future__ import annotations

import ast
import signal
import time
from pathlib import Path

from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode
from traitlets import Integer

from nbgrader import utils
from nbgrader.preprocessors import Execute

from . import judge
from .hidden import split_test
from .notebooks import META, error_output, record
from .outputs import OutputBudget
from .sandbox import SandboxKernelManager

KERNEL_CODE = Path(__file__).resolve().parent / "kernel"


def _harness_sources() -> list[tuple[str, str]]:
    """(module name, source) of the kernel-side code, the harness last (it uses the others)."""
    probes = sorted((p for p in (KERNEL_CODE / "probes").glob("*.py") if p.stem != "__init__"),
                    key=lambda p: (p.stem != "generic", p.stem))   # the others import from generic
    return [("_autograder_codec", (KERNEL_CODE / "codec.py").read_text()),
            *((f"_autograder_probe_{p.stem}", p.read_text()) for p in probes),
            ("_autograder_harness", (KERNEL_CODE / "harness.py").read_text())]


# Evaluated in the kernel before any of the student's cells, as a user expression (so that no
# cell, history entry or linecache entry holds it): the harness and what it uses, as source (the
# kernel sees no file of the autograder), then the harness records the kit's code.
LOADER = """\
import sys, types
for name, source in SOURCES:
    module = sys.modules[name] = types.ModuleType(name)
    module.__file__ = "<" + name + ">"
    exec(compile(source, module.__file__, "exec"), module.__dict__)
sys.modules["_autograder_harness"].prepare()
"""
LOAD_HARNESS = "exec({!r}, {{'SOURCES': {!r}}}) or 'loaded'".format(LOADER, _harness_sources())
SERVE = "__import__('sys').modules['_autograder_harness'].serve({!r})"


class KernelExit(Exception):
    """The kernel was asked to exit (``exit()``/``quit()``) by the cell or call that ran."""


def _asked_to_exit(reply) -> bool:
    payload = ((reply or {}).get("content") or {}).get("payload") or []
    return any(isinstance(p, dict) and p.get("source") == "ask_exit" for p in payload)


class JudgedExecute(Execute):
    """nbgrader's Execute, with hidden tests judged out of the kernel (see the module doc).

    Every test cell's score follows its result, as the course's tests are pass/fail: an
    error (even with tracebacks disabled, nbgrader PR 1324) leads the outputs, so an
    injected ``execute_result`` cannot buy partial credit, and a test cell that never ran
    gets an error instead of nbgrader's "no output: full points". A test cell that passed
    earns its points even when it wrote to stderr (a warning) or ended on a value: its
    stderr is shown as stdout and its ``execute_result`` as display data, which nbgrader
    would otherwise score as 0 or as partial credit.
    """

    max_restarts = Integer(3, help="fresh kernels after a death, exit or hang, per notebook").tag(config=True)

    def __init__(self, **kw):
        kw.setdefault("kernel_manager_class", SandboxKernelManager)
        super().__init__(**kw)
        self.shutdown_kernel = "immediate"

    def preprocess(self, nb, resources=None, km=None):
        NotebookClient.__init__(self, nb, km)   # as nbconvert's ExecutePreprocessor does
        self._check_assign_resources(resources)
        start = time.monotonic()
        self._judged = {"calls": 0, "seconds": 0.0}
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
        meta = self.nb.metadata.setdefault(META, {})
        meta["seconds"] = round(time.monotonic() - start, 1)
        meta["judge"] = {"calls": self._judged["calls"], "seconds": round(self._judged["seconds"], 2)}
        return self.nb, self.resources

    def _event(self, line: str) -> None:
        self.log.warning(line)
        record(self.nb, "events", [line])

    def _run(self, skip):
        """Run the notebook once in a fresh kernel; return (cells run, (index, error) or None)."""
        ran, self._budget, self._exit = set(), OutputBudget(), False
        for cell in self.nb.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        with self.setup_kernel():
            info = self.wait_for_reply(self.kc.kernel_info())
            if info:
                self.nb.metadata["language_info"] = info["content"]["language_info"]
            self._load_harness()
            for index, cell in enumerate(self.nb.cells):
                if cell.cell_type != "code":
                    continue
                if index in skip:
                    cell.outputs = [skip[index]]
                    continue
                try:
                    self._execute(cell, index)
                except DeadKernelError:
                    return ran, (index, error_output("KernelDied", self._death()))
                except KernelExit:
                    return ran, (index, error_output("KernelExit", "the cell asked the kernel to exit "
                                                     "(exit() or quit()); the kernel was stopped"))
                except CellTimeoutError:
                    return ran, (index, error_output(
                        "CellTimeoutError", f"still running {self.timeout} s after the timeout "
                        "interrupt; the kernel was stopped"))
                ran.add(index)
        return ran, None

    def _load_harness(self) -> None:
        msg_id = self.kc.execute("", silent=True, store_history=False, user_expressions={"x": LOAD_HARNESS})
        content = (self.wait_for_reply(msg_id) or {}).get("content", {})
        result = (content.get("user_expressions") or {}).get("x", {})
        if result.get("status") != "ok":
            raise RuntimeError(f"the grading kernel could not load the harness: "
                               f"{result.get('ename', 'no reply')}: {result.get('evalue', '')}")

    def _execute(self, cell, index: int) -> None:
        """Run one cell; for a test cell, the visible part in the kernel, then the hidden part here."""
        if not (utils.is_grade(cell) and cell.cell_type == "code"):
            self.execute_cell(cell, index, store_history=True)
            self._check_exit()
            return
        source = cell.source
        visible, hidden = split_test(source)
        cell.source = visible
        try:
            self.execute_cell(cell, index, store_history=True)
        finally:
            cell.source = source
        self._check_exit()
        if hidden.strip() and not any(o.output_type == "error" for o in cell.outputs):
            failure = judge.run(hidden, self._send)
            if failure is not None:
                cell.outputs.insert(0, error_output(*failure))

    def _check_exit(self) -> None:
        if self._exit:
            raise KernelExit()

    def _send(self, request: str) -> str:
        """One round trip to the kernel's harness (the judge's channel)."""
        start = time.monotonic()
        msg_id = self.kc.execute("", silent=True, store_history=False,
                                 user_expressions={"reply": SERVE.format(request)})
        reply = self.wait_for_reply(msg_id)
        self._judged["calls"] += 1
        self._judged["seconds"] += time.monotonic() - start
        if reply is None:   # timed out: nbclient has interrupted the kernel
            raise CellTimeoutError(f"a call of the student's code ran past {self.timeout} s")
        if _asked_to_exit(reply):
            raise KernelExit()
        result = (reply.get("content", {}).get("user_expressions") or {}).get("reply") or {}
        if result.get("status") != "ok":
            raise RuntimeError(f"the harness did not answer ({result.get('ename', 'no reply')})")
        text = ast.literal_eval(str(result.get("data", {}).get("text/plain", "None")))
        if not isinstance(text, str):
            raise RuntimeError("the harness answered something that is not text")
        return text

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

    def output(self, outs, msg, display_id, cell_index):
        out = super().output(outs, msg, display_id, cell_index)
        if out is not None and outs and outs[-1] is out and not self._budget.admit(cell_index, out):
            outs.pop()
        return out

    def on_cell_executed(self, **kwargs):
        super().on_cell_executed(**kwargs)   # nbgrader: an error reply always leaves an error output
        cell, reply, index = kwargs["cell"], kwargs["execute_reply"], kwargs["cell_index"]
        content = reply["content"]
        self._exit = self._exit or _asked_to_exit(reply)
        cell.outputs = self._budget.trim(index, cell.outputs)
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
            self._event(f"cell {index}: timed out after {self.timeout} s; interrupted")
