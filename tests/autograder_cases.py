"""Hostile and broken submissions for the autograder tests, one builder per case.

Every case hands in one notebook, the *target*, and nothing else (the assignment's
other notebooks are missing and earn 0). It starts from the target's *light*
reference (:func:`light`): the instructor's solutions of the first exercises, up to
the second answer a case may break; after that the release as it is, minus the
ungraded code cells (a student who stopped there). So a case costs a kernel start
and a few cells, yet goes through the whole pipeline. The target is the notebook
whose light part ran fastest in the reference's grading, among those with two
answers no other test depends on (:func:`bendable`); the cases break only such
answers, so a broken answer costs exactly its own tests. Answers are found in the
notebooks (not by name), so the cases keep working when the notebooks change; only
the NT-Xent cases look for the answer defining ``nt_xent``, as DESIGN.md requires
that exercise.

A case returns the files to hand in, the tests that must earn nothing, and a regex
the student's summary line must match; every other test up to the cut must earn its
full points, every later one 0 (exactly: not one more).
"""
from __future__ import annotations

import atexit
import copy
import dataclasses
import datetime
import functools
import json
import re
import shutil
import tempfile
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell

from autograder import samples
from autograder.course import Course
from autograder.notebooks import grade_id

REPO = Path(__file__).resolve().parent.parent
INJECTED = "\nnt_xent = None  # written by a student's kernel\n"   # what write_everywhere appends to the kit
# Where a TA's course lives: outside /tmp (a kernel's private /tmp hides everything under /tmp, so a
# course there would prove nothing about the sandbox). Ignored by git; each session's folder is removed.
OUTSIDE = REPO / ".test-courses"


@functools.lru_cache(maxsize=None)
def outside_tmp() -> Path:
    """This test session's folder outside /tmp: the course and the TA's downloads live there."""
    OUTSIDE.mkdir(exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="session-", dir=OUTSIDE))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    return root


def downloads() -> Path:
    """The folder a TA collected from (an LMS download), outside /tmp, with something of the
    course's in it: a source notebook's hidden-test marker and the hostile cases' marker."""
    from hostile_cases import MARKER

    folder = outside_tmp() / "Downloads"
    if not folder.is_dir():
        folder.mkdir()
        (folder / "notes.txt").write_text(f"{MARKER}\n### BEGIN HIDDEN TESTS\n")
    return folder


@functools.lru_cache(maxsize=None)
def released_course() -> Course:
    """A private copy of the course (its sources as of now, our configuration), released with
    ``python -m autograder release`` into its own ``notebooks/``; one per test session, shared
    by the autograder test modules, removed at exit. It lies outside /tmp, as a TA's does."""
    from autograder.__main__ import main

    root = outside_tmp()
    downloads()
    course = Course().copy(root / "course")
    main(["--course", str(course.root), "release", "--notebooks", str(root / "notebooks")])
    return course


@dataclasses.dataclass
class Answer:
    grade_id: str
    name: str | None        # the function (or class) it defines
    tests: list[str]        # grade ids of its test cells


def answers(course: Course, assignment: str, notebook: str) -> list[Answer]:
    """The autograded answers of a released notebook and the test cells that grade each."""
    found = []
    for cell in samples.released(course, assignment, notebook).cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and cell.cell_type == "code":
            name = re.search(r"^(?:def|class) (\w+)", cell.source, re.MULTILINE)
            found.append(Answer(meta["grade_id"], name and name.group(1), []))
        elif meta.get("grade") and not meta.get("solution") and found:
            found[-1].tests.append(meta["grade_id"])
    return found


def bendable(course: Course, assignment: str, notebook: str) -> list[Answer]:
    """The answers a case may break: named, tested, and independent (no other test depends on
    them, see :func:`autograder.samples.independent_answers`): a broken one costs its own tests."""
    free = set(samples.independent_answers(course, assignment, notebook))
    return [x for x in answers(course, assignment, notebook) if x.name and x.tests and x.grade_id in free]


def full_points(course: Course, assignment: str, notebooks: list[str] | None = None) -> dict[str, float]:
    """grade id -> points of every autograded test of the assignment (or of ``notebooks``)."""
    return {grade_id(c): c.metadata["nbgrader"]["points"]
            for n in notebooks or course.notebooks(assignment)
            for c in samples.released(course, assignment, n).cells
            if c.metadata.get("nbgrader", {}).get("grade") and not c.metadata["nbgrader"].get("solution")}


def index_of(nb, gid: str) -> int:
    return next(i for i, c in enumerate(nb.cells) if grade_id(c) == gid)


def off_by(source: str, name: str) -> str:
    """The answer, made wrong in value: its result scaled and shifted (for a float tensor,
    dtype, shape, device and gradient stay right, so only comparisons can catch it)."""
    return (f"{source}\n\n_right_{name} = {name}\n\n\ndef {name}(*args, **kwargs):\n"
            f"    return _right_{name}(*args, **kwargs) * 1.5 + 0.1\n")


@dataclasses.dataclass
class Submission:
    course: Course
    assignment: str
    notebook: str                       # the target notebook
    nb: nbformat.NotebookNode           # its reference version, to bend
    answers: list[Answer]               # those a case may break (bendable)

    def cell(self, gid: str):
        return self.nb.cells[index_of(self.nb, gid)]

    def wrong(self, *which: int) -> list[str]:
        """Make answers ``which`` wrong in value; return their tests (which then earn 0)."""
        lost = []
        for k in which:
            cell = self.cell(self.answers[k].grade_id)
            cell.source = off_by(cell.source, self.answers[k].name)
            lost += self.answers[k].tests
        return lost

    def insert_after(self, gid: str, *cells) -> None:
        at = index_of(self.nb, gid) + 1
        self.nb.cells[at:at] = list(cells)

    def files(self, name: str | None = None, raw: str | None = None) -> dict:
        return {(name or self.notebook): raw if raw is not None else self.nb}


def cut(course: Course, assignment: str, notebook: str, keep: Answer | None = None) -> str:
    """Grade id of the last cell a light submission answers: the last test of the second
    bendable answer, or of ``keep`` when that comes later."""
    released = samples.released(course, assignment, notebook)
    ends = [bendable(course, assignment, notebook)[1].tests[-1], *([keep.tests[-1]] if keep else [])]
    return max(ends, key=lambda gid: index_of(released, gid))


def light(course: Course, assignment: str, notebook: str, keep: Answer | None = None):
    """The reference of the notebook's first exercises only, up to :func:`cut`: after it the
    answers stay the released stubs and the ungraded code cells are gone (a student who
    stopped there). Nothing nbgrader tracks is missing, so nothing gets repaired; the
    later tests fail at once instead of after the notebook's long runs."""
    released = samples.released(course, assignment, notebook)
    at = index_of(released, cut(course, assignment, notebook, keep))
    before = {grade_id(c) for c in released.cells[:at + 1]}
    solutions = samples.solutions(course, assignment, notebook)
    nb = samples.with_answers(released, {gid: source for gid, source in solutions.items() if gid in before})
    nb.cells = nb.cells[:at + 1] + [c for c in nb.cells[at + 1:] if c.cell_type != "code" or grade_id(c)]
    return nb


def scored(course: Course, assignment: str, notebook: str, keep: Answer | None = None) -> list[str]:
    """The tests a light submission earns: those up to the cut."""
    released = samples.released(course, assignment, notebook)
    at = index_of(released, cut(course, assignment, notebook, keep))
    return [gid for gid in full_points(course, assignment, [notebook]) if index_of(released, gid) <= at]


def targets(course: Course) -> list[tuple[str, str]]:
    """(assignment, notebook) of every notebook a case can target: two bendable answers."""
    fit = [(a, n) for a in course.assignments() for n in course.notebooks(a)
           if len(bendable(course, a, n)) >= 2]
    if not fit:
        raise ValueError("no notebook has two independent, tested autograded answers")
    return fit


def light_seconds(course: Course, assignment: str, notebook: str, student: str) -> float:
    """Seconds the cells of the light part took in ``student``'s autograded notebook (nbclient's timings)."""
    nb = nbformat.read(course.path("autograded", assignment, student) / f"{notebook}.ipynb", as_version=4)
    total = 0.0
    for cell in nb.cells[:index_of(nb, cut(course, assignment, notebook)) + 1]:
        timing = cell.metadata.get("execution", {})
        if "iopub.execute_input" in timing and "shell.execute_reply" in timing:
            total += (datetime.datetime.fromisoformat(timing["shell.execute_reply"].replace("Z", "+00:00"))
                      - datetime.datetime.fromisoformat(timing["iopub.execute_input"].replace("Z", "+00:00"))
                      ).total_seconds()
    return total


def start(course: Course, assignment: str, notebook: str, keep: Answer | None = None) -> Submission:
    nb = light(course, assignment, notebook, keep)
    return Submission(course, assignment, notebook, nb, bendable(course, assignment, notebook))


# --------------------------------------------------------------------------- cases
# Each returns (files, tests that earn 0, regex the student's summary line must match).

def control(course, a, nb):
    """The light reference itself: every test up to the cut earns its points."""
    return start(course, a, nb).files(), [], r"\A(?!.*(repaired|failed))"


def partly_wrong(course, a, nb):
    """As the demo's partly wrong sample: an answer returns None."""
    s = start(course, a, nb)
    cell = s.cell(s.answers[0].grade_id)
    released = samples.released(course, a, nb)
    stub = released.cells[index_of(released, s.answers[0].grade_id)].source
    cell.source = stub.replace("raise NotImplementedError()", "return None")
    return s.files(), s.answers[0].tests, r"failed "


def syntax_error(course, a, nb):
    s = start(course, a, nb)
    cell = s.cell(s.answers[0].grade_id)
    cell.source = "def broken(:\n    pass\n\n" + cell.source
    return s.files(), s.answers[0].tests, r"SyntaxError"


def import_error(course, a, nb):
    s = start(course, a, nb)
    cell = s.cell(s.answers[0].grade_id)
    cell.source = "import definitely_not_an_installed_module\n\n" + cell.source
    return s.files(), s.answers[0].tests, r"ModuleNotFoundError"


def infinite_loop(course, a, nb):
    s = start(course, a, nb)
    s.insert_after(s.answers[0].tests[-1], new_code_cell("while True:\n    pass"))
    return s.files(), [], r"timed out after \d+ s; interrupted"


def ignores_interrupt(course, a, nb):
    s = start(course, a, nb)
    s.insert_after(s.answers[0].tests[-1], new_code_cell(
        "while True:\n    try:\n        while True:\n            pass\n"
        "    except KeyboardInterrupt:\n        pass"))
    return s.files(), [], r"after the timeout interrupt; the kernel was stopped; notebook re-run without it"


def memory_bomb(course, a, nb):
    s = start(course, a, nb)
    s.insert_after(s.answers[0].tests[-1], new_code_cell(
        "def bomb():\n    hog = []\n    while True:\n        hog.append(bytearray(2**27))\n\n\nbomb()"))
    return s.files(), [], r"MemoryError"


def os_exit(course, a, nb):
    s = start(course, a, nb)
    s.insert_after(s.answers[0].tests[-1], new_code_cell("import os\n\nos._exit(3)"))
    return s.files(), [], r"the kernel exited with code 3; notebook re-run without it"


def segfault(course, a, nb):
    s = start(course, a, nb)
    s.insert_after(s.answers[0].grade_id, new_code_cell("import ctypes\n\nctypes.string_at(0)"))
    return s.files(), [], r"killed by SIGSEGV; notebook re-run without it"


def colab(course, a, nb):
    """Saved from Colab: nbgrader metadata gone, Colab's added, nbformat 4.0 without cell ids."""
    s = start(course, a, nb)
    data = json.loads(nbformat.writes(s.nb))
    data["nbformat_minor"] = 0
    data["metadata"] = {"colab": {"provenance": [], "name": f"{s.notebook}.ipynb"},
                        "kernelspec": {"name": "python3", "display_name": "Python 3"}}
    for i, cell in enumerate(data["cells"]):
        cell.pop("id", None)
        code = {"outputId": "x"} if cell["cell_type"] == "code" else {}
        cell["metadata"] = {"id": f"colab{i:04d}", **code}
    return s.files(raw=json.dumps(data)), [], r"repaired: .*found by content"


def altered_metadata(course, a, nb):
    """Metadata edited to ask for more: 100 points, unlocked tests, an answer made a graded cell."""
    s = start(course, a, nb)
    for gid in s.answers[0].tests:
        s.cell(gid).metadata["nbgrader"].update(points=100, locked=False)
    s.cell(s.answers[1].grade_id).metadata["nbgrader"].update(grade=True, points=50)
    return s.files(), [], r"metadata corrected"


def markdown_answer(course, a, nb):
    s = start(course, a, nb)
    i = index_of(s.nb, s.answers[1].grade_id)
    old = s.nb.cells[i]
    s.nb.cells[i] = new_markdown_cell(old.source, metadata=old.metadata)
    return s.files(), [], r"markdown cell turned back into code"


def cells_deleted(course, a, nb):
    s = start(course, a, nb)
    drop = set(s.answers[0].tests)
    s.nb.cells = [c for i, c in enumerate(s.nb.cells) if i != 0 and grade_id(c) not in drop]
    return s.files(), [], r"missing; released cell inserted"


def cells_duplicated(course, a, nb):
    s = start(course, a, nb)
    for gid in [s.answers[0].grade_id, *s.answers[0].tests]:
        s.insert_after(gid, copy.deepcopy(s.cell(gid)))
    return s.files(), [], r"repaired: .*(copy of locked cell|nbgrader metadata removed)"


def cells_reordered(course, a, nb):
    s = start(course, a, nb)
    first, second = s.answers[0], s.answers[1]
    move = [first.grade_id, *first.tests, second.grade_id, *second.tests]
    cells = {gid: s.cell(gid) for gid in move}
    s.nb.cells = [c for c in s.nb.cells if grade_id(c) not in cells]
    at = 2
    s.nb.cells[at:at] = [cells[g] for g in [*second.tests, second.grade_id, *first.tests, first.grade_id]]
    return s.files(), [], r"moved back to the released order"


def cells_inserted(course, a, nb):
    s = start(course, a, nb)
    s.insert_after(s.answers[0].grade_id, new_markdown_cell("My notes."),
                   new_code_cell("scratch = sum(range(10))"))
    s.nb.cells.insert(1, new_code_cell("import math\n\nhelper = math.sqrt(2)"))
    return s.files(), [], r"\A(?!.*repaired)"


def renamed_file(course, a, nb):
    s = start(course, a, nb)
    return s.files(name=f"Copy of {s.notebook} (1)"), [], r"graded as .* \(renamed\)"


def invalid_json(course, a, nb):
    s = start(course, a, nb)
    text = nbformat.writes(s.nb)
    lost = list(full_points(course, a, [nb]))
    return s.files(raw=text[: len(text) // 2]), lost, r"not valid JSON.*graded 0"


TAMPER_COMPARISONS = '''import builtins
import numpy as np
import torch

np.allclose = np.isclose = lambda *a, **k: True
np.testing.assert_allclose = np.testing.assert_array_equal = lambda *a, **k: None
torch.allclose = torch.equal = lambda *a, **k: True
torch.isclose = lambda a, b, *r, **k: torch.ones_like(torch.as_tensor(a), dtype=torch.bool)
torch.testing.assert_close = lambda *a, **k: None
torch.Tensor.__sub__ = lambda self, other: torch.zeros_like(self)
builtins.abs = lambda x: 0


def assert_close(*args, **kwargs):
    pass


def abs(x):
    return 0'''


def _tampered(course, a, nb, code: str, wrong=(0,)):
    """A submission with the answers ``wrong`` and a cell of ``code`` inserted before them. The
    tampering acts in the student's kernel only; the hidden tests judge out of it, so the wrong
    answers fail, and nothing claims to have undone anything."""
    s = start(course, a, nb)
    lost = s.wrong(*wrong)
    s.nb.cells.insert(2, new_code_cell(code))
    return s.files(), lost, r"\A(?!.*undone).*failed "


def tamper_comparisons(course, a, nb):
    """The comparisons patched before the answers. They no longer reach the tests (judged out of the
    kernel), but they stay patched in the student's kernel, where ``Tensor.__sub__`` and ``abs`` now
    return zeros: every answer computed after them is wrong there, so every test of the light part
    fails, the right answers' too (nothing cleans up after a student's own code)."""
    files, _, summary = _tampered(course, a, nb, TAMPER_COMPARISONS, wrong=(0, 1))
    return files, scored(course, a, nb), summary


def tamper_traceback(course, a, nb):
    """nbgrader PR 1324's trick: no traceback, so no error output; plus custom handlers."""
    return _tampered(course, a, nb, (
        "import sys\n\nip = get_ipython()\nip.showtraceback = lambda *a, **k: None\n"
        "ip._showtraceback = lambda *a, **k: None\nip.showsyntaxerror = lambda *a, **k: None\n"
        "ip.set_custom_exc((BaseException,), lambda *a, **k: None)\nsys.excepthook = lambda *a: None"))


def tamper_ast(course, a, nb):
    """An AST transformer that wraps every cell in try/except: no error ever reaches the reply."""
    return _tampered(course, a, nb, '''import ast


class Swallow(ast.NodeTransformer):
    def visit_Module(self, node):
        wrapper = ast.parse("try:\\n    pass\\nexcept BaseException:\\n    pass").body[0]
        wrapper.body = node.body or [ast.Pass()]
        node.body = [wrapper]
        return ast.fix_missing_locations(node)


get_ipython().ast_transformers.append(Swallow())''')


def tamper_events(course, a, nb):
    """A pre_run_cell hook that patches the comparisons again right before every cell."""
    return _tampered(course, a, nb, (
        "import builtins\n\n\ndef again(*args):\n    builtins.abs = lambda x: 0\n\n\n"
        "get_ipython().events.register('pre_run_cell', again)"))


def edit_locked(course, a, nb):
    s = start(course, a, nb)
    lost = s.wrong(0)
    for gid in s.answers[0].tests:
        s.cell(gid).source = "print('all tests passed')"
    return s.files(), lost, r"locked cell was edited; released version restored"


def edit_locked_stripped(course, a, nb):
    s = start(course, a, nb)
    lost = s.wrong(0)
    for gid in s.answers[0].tests:
        cell = s.cell(gid)
        cell.metadata = {}
        cell.source = "pass  # tests\n"
    return s.files(), lost, r"missing; released cell inserted"


def read_hidden(course, a, nb):
    """Look for the hidden tests where they live on the grader (paths known exactly) and,
    if found, answer with the instructor's solution copied out of the source notebook."""
    s = start(course, a, nb)
    first = s.answers[0]
    lost = s.wrong(0)
    places = [course.root, downloads(), REPO / "autograder", REPO / ".git", Path("/proc/1/cwd"), Path("..")]
    cell = s.cell(first.grade_id)
    cell.source += f'''

import json
import pathlib

FOUND = []
for place in {[str(p) for p in places]!r}:
    try:
        for path in pathlib.Path(place).rglob("*"):
            text = path.read_bytes() if path.is_file() else b""
            if b"BEGIN HIDDEN TESTS" in text or path.name == "gradebook.db":
                FOUND.append(str(path))
                if path.suffix == ".ipynb" and b"BEGIN SOLUTION" in text:
                    for c in json.loads(text)["cells"]:
                        source = "".join(c["source"])
                        if "def {first.name}(" in source and "BEGIN SOLUTION" in source:
                            exec(source, globals())
    except OSError:
        pass
print("found:", FOUND)'''
    return s.files(), lost, r"failed "


def noisy_answer(course, a, nb):
    """A right answer that warns on stderr and hands IPython a value (an ``execute_result``)
    whenever called: nbgrader alone would score its tests 0; they earn full points."""
    s = start(course, a, nb)
    first = s.answers[0]
    s.cell(first.grade_id).source += f"""

import sys as _sys
import warnings as _warnings

_plain_{first.name} = {first.name}


def {first.name}(*args, **kwargs):
    _warnings.warn("a warning from a right answer")
    _sys.displayhook(0.0)
    return _plain_{first.name}(*args, **kwargs)
"""
    return s.files(), [], r"\A(?!.*failed)"


def print_hidden(course, a, nb):
    """A right answer that prints the source of the hidden test calling it, and a later cell
    that prints every cell IPython cached: the feedback must show neither."""
    s = start(course, a, nb)
    first = s.answers[0]
    cell = s.cell(first.grade_id)
    cell.source += f"""

import inspect as _inspect
import linecache as _linecache

_quiet_{first.name} = {first.name}


def {first.name}(*args, **kwargs):
    for caller in _inspect.stack()[1:3]:
        print("".join(_linecache.getlines(caller.filename)))
    return _quiet_{first.name}(*args, **kwargs)
"""
    s.insert_after(s.answers[1].tests[-1], new_code_cell(
        "import linecache\n\nfor name, entry in list(linecache.cache.items()):\n"
        "    if 'ipykernel' in name or name.startswith('<'):\n        print(''.join(entry[2]))"))
    return s.files(), [], r"\A(?!.*failed)"


def write_everywhere(course, a, nb, victims: list[str]):
    """Try to give itself full marks, zero other students and change the kit for them."""
    s = start(course, a, nb)
    lost = s.wrong(0, 1)
    dbs = [course.root / "gradebook.db"]   # (the real course's is hidden the same way; read_hidden looks)
    folders = [course.root / step / v / a for v in victims for step in ("submitted", "autograded")]
    kit = REPO / "course_utils" / "losses.py"
    s.nb.cells.insert(2, new_code_cell(f'''import sqlite3

DONE = []
for db in {[str(p) for p in dbs]!r}:
    try:
        con = sqlite3.connect(db)
        con.execute("UPDATE grade SET auto_score = 100, manual_score = 100")
        con.commit()
        DONE.append(db)
    except Exception as exc:
        print("gradebook:", type(exc).__name__)
for folder in {[str(p) for p in folders]!r}:
    try:
        with open(folder + "/pwned.txt", "w") as f:
            f.write("x")
        DONE.append(folder)
    except OSError as exc:
        print("folder:", type(exc).__name__)
try:
    with open({str(kit)!r}, "a") as f:
        f.write({INJECTED!r})
    DONE.append("kit")
except OSError as exc:
    print("kit:", type(exc).__name__)
print("done:", DONE)'''))
    return s.files(), lost, r"failed "


def nt_xent_notebook(course: Course) -> tuple[str, str]:
    """(assignment, notebook) of the answer defining ``nt_xent``."""
    return next((a, n) for a in course.assignments() for n in course.notebooks(a)
                if any(x.name == "nt_xent" for x in answers(course, a, n)))


def nt_xent_answer(course: Course, assignment: str, notebook: str) -> Answer:
    return next(x for x in answers(course, assignment, notebook) if x.name == "nt_xent")


def _nt_xent(course, a, nb):
    ans = nt_xent_answer(course, a, nb)
    return start(course, a, nb, keep=ans), ans


def calls_kit(course, a, nb):
    s, ans = _nt_xent(course, a, nb)
    s.cell(ans.grade_id).source = ("import course_utils.losses\n\n\ndef nt_xent(z1, z2, temperature=0.5):\n"
                                   "    return course_utils.losses.nt_xent(z1, z2, temperature)\n")
    return s.files(), ans.tests, r"own code"


def kit_alias(course, a, nb):
    s, ans = _nt_xent(course, a, nb)
    s.cell(ans.grade_id).source = "from course_utils.losses import nt_xent\n"
    return s.files(), ans.tests, r"own code"


def monkeypatch_kit(course, a, nb):
    """Copy the kit's code object, then try to blind the own-code check: patch sys.setprofile and
    move course_utils.__file__. The check knows the kit by its code, and took sys.setprofile
    before any student code ran."""
    s, ans = _nt_xent(course, a, nb)
    s.cell(ans.grade_id).source = '''import sys
import types

import course_utils
import course_utils.losses as kit

_copy = types.FunctionType(kit.nt_xent.__code__, vars(kit), "nt_xent", kit.nt_xent.__defaults__)


def nt_xent(z1, z2, temperature=0.5):
    return _copy(z1, z2, temperature)


course_utils.__file__ = "/nowhere/course_utils/__init__.py"
sys.setprofile = lambda *args: None'''
    return s.files(), ans.tests, r"own code"


@dataclasses.dataclass
class Case:
    student: str
    assignment: str
    notebook: str         # the one notebook handed in
    scored: list[str]     # its tests that the light reference passes
    lost: list[str]       # those of them that this case must fail
    summary: str          # regex the student's summary line must match

    def expected(self, course: Course) -> dict[str, float]:
        """grade id -> points of every autograded test of the assignment (missing notebooks: 0)."""
        return {gid: (points if gid in self.scored and gid not in self.lost else 0.0)
                for gid, points in full_points(course, self.assignment).items()}


def build_cases(course: Course, reference: str, victims: dict[str, str], cases=None,
                nt_xent_cases=None) -> list[Case]:
    """Write every case as a student ``case-<name>`` into ``submitted/``; return the cases.

    ``reference``: a student whose autograded reference gives each notebook's timings,
    to pick as the target the notebook whose light part runs fastest; ``victims``:
    assignment -> a well-behaved student whose folders write_everywhere attacks.
    """
    target = min(targets(course), key=lambda key: light_seconds(course, *key, reference))
    nt_target = nt_xent_notebook(course)
    nt_keep = nt_xent_answer(course, *nt_target)
    built, nt_xent_cases = [], NT_XENT_CASES if nt_xent_cases is None else nt_xent_cases
    for case in CASES if cases is None else cases:
        (a, nb), keep = (nt_target, nt_keep) if case in nt_xent_cases else (target, None)
        files, lost, summary = (write_everywhere(course, a, nb, [victims[a]]) if case is write_everywhere
                                else case(course, a, nb))
        student = "case-" + case.__name__.replace("_", "-")
        samples.write_submission(course, a, student, files)
        built.append(Case(student, a, nb, scored(course, a, nb, keep), lost, summary))
    return built


GENERIC_CASES = [control, partly_wrong, syntax_error, import_error, infinite_loop, ignores_interrupt,
                 memory_bomb, os_exit, segfault, colab, altered_metadata, markdown_answer, cells_deleted,
                 cells_duplicated, cells_reordered, cells_inserted, renamed_file, invalid_json,
                 tamper_comparisons, tamper_traceback, tamper_ast, tamper_events, edit_locked,
                 edit_locked_stripped, read_hidden, print_hidden, noisy_answer]
NT_XENT_CASES = [calls_kit, kit_alias, monkeypatch_kit]
CASES = [*GENERIC_CASES, write_everywhere, *NT_XENT_CASES]
"""Every case, in the order :func:`build_cases` writes them: the generic ones and write_everywhere
on the fastest target notebook, the NT-Xent ones on the notebook that asks for ``nt_xent``."""
