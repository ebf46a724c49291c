"""Sample submissions built from the course's own notebooks (for the demo, tests, benchmarks).

- :func:`reference`: the release with every solution cell holding the instructor's
  solution (markers removed) and every written answer filled in;
- :func:`blank`: the release unchanged;
- :func:`partly_wrong`: the reference with one autograded answer returning ``None``
  instead (one no other test depends on; the other answers stay right).

Example
-------
>>> nb = reference(Course(), "hw1", "01_risk_minimization")      # doctest: +SKIP
>>> write_submission(Course(), "hw1", "alice", {"01_risk_minimization": nb})   # doctest: +SKIP
"""
from __future__ import annotations

import ast
import copy

from pathlib import Path

import nbformat
from nbgrader.utils import is_grade, is_solution

from .course import Course
from .notebooks import grade_id

WRITTEN_ANSWER = "A sample answer: the training data come from another distribution than the target."


def _strip_markers(source: str) -> str:
    return "\n".join(line for line in source.splitlines()
                     if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line)


def released(course: Course, assignment: str, notebook: str) -> nbformat.NotebookNode:
    return nbformat.read(course.path("release", assignment) / f"{notebook}.ipynb", as_version=4)


def solutions(course: Course, assignment: str, notebook: str) -> dict[str, str]:
    """grade id -> the instructor's solution (code cells) or a sample written answer."""
    source = nbformat.read(course.path("source", assignment) / f"{notebook}.ipynb", as_version=4)
    return {grade_id(c): _strip_markers(c.source) if c.cell_type == "code" else WRITTEN_ANSWER
            for c in source.cells if is_solution(c)}


def with_answers(nb, answers: dict[str, str]) -> nbformat.NotebookNode:
    """A copy of ``nb`` whose solution cells hold ``answers`` (by grade id)."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if grade_id(cell) in answers:
            cell.source = answers[grade_id(cell)]
    return nb


def reference(course: Course, assignment: str, notebook: str) -> nbformat.NotebookNode:
    return with_answers(released(course, assignment, notebook), solutions(course, assignment, notebook))


def blank(course: Course, assignment: str, notebook: str) -> nbformat.NotebookNode:
    return released(course, assignment, notebook)


def _top_level_bound(statements) -> set[str]:
    """Names bound at module level by ``statements`` (not inside functions or classes)."""
    bound = set()
    for node in statements:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
            continue
        for child in ast.walk(node):
            if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store):
                bound.add(child.id)
            elif isinstance(child, ast.alias):
                bound.add((child.asname or child.name).split(".")[0])
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                bound.add(child.name)
    return bound


def _names(source: str) -> tuple[set[str], set[str]]:
    """(names a cell binds at module level, global names it reads: names it reads and binds
    nowhere, in no scope); IPython magics dropped; a cell that does not parse reads all (``"*"``)."""
    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set(), {"*"}
    nodes = list(ast.walk(tree))
    anywhere = _top_level_bound(tree.body) | {n.arg for n in nodes if isinstance(n, ast.arg)} | {
        n.id for n in nodes if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)} | {
        n.name for n in nodes if isinstance(n, ast.ExceptHandler) and n.name}
    read = {n.id for n in nodes if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    return _top_level_bound(tree.body), read - anywhere


def independent_answers(course: Course, assignment: str, notebook: str) -> list[str]:
    """Grade ids of the code answers whose value no other graded cell can depend on, in order.

    Taint analysis on the source notebook (hidden tests included): starting from the
    names an answer binds, every later ungraded cell that reads a tainted name taints
    what it binds; the answer is independent when no graded cell but its own tests
    reads a tainted name. A wrong independent answer costs exactly its own tests.
    """
    source = nbformat.read(course.path("source", assignment) / f"{notebook}.ipynb", as_version=4)
    cells = [c for c in source.cells if c.cell_type == "code"]
    owner, current = {}, None          # cell index -> the answer it belongs to (itself, or its tests)
    for i, cell in enumerate(cells):
        if is_solution(cell):
            current = owner[i] = i
        elif is_grade(cell) and current is not None:
            owner[i] = current
    names = [_names(cell.source) for cell in cells]
    found = []
    for k in (i for i in owner if owner[i] == i):
        tainted, clean = set(names[k][0]), True
        for i in range(k + 1, len(cells)):
            reads = names[i][1]
            if not (reads & tainted or "*" in reads):
                continue
            if i in owner and owner[i] != k:
                clean = False
                break
            if i not in owner:
                tainted |= names[i][0]
        if clean:
            found.append(grade_id(cells[k]))
    return found


def partly_wrong(course: Course, assignment: str, notebook: str) -> nbformat.NotebookNode:
    """The reference with one answer returning None: the first independent one (see
    :func:`independent_answers`), else the first; the others stay right."""
    cells = released(course, assignment, notebook).cells
    stubs = {grade_id(c): c.source for c in cells}
    code = [grade_id(c) for c in cells if c.cell_type == "code" and is_solution(c)]
    first = (independent_answers(course, assignment, notebook) or code)[0]
    wrong = stubs[first].replace("raise NotImplementedError()", "return None")
    return with_answers(reference(course, assignment, notebook), {first: wrong})


def write_submission(course: Course, assignment: str, student: str, notebooks: dict[str, object]) -> None:
    """Write ``{notebook name: notebook or raw text}`` into ``submitted/<student>/<assignment>/``
    (a name with a suffix other than ``.ipynb``, e.g. ``helper.py``, is written as it is)."""
    folder = course.path("submitted", assignment, student)
    folder.mkdir(parents=True, exist_ok=True)
    for name, nb in notebooks.items():
        path = folder / (name if Path(name).suffix in (".ipynb", ".py", ".csv", ".txt") else f"{name}.ipynb")
        if isinstance(nb, (str, bytes)):
            path.write_bytes(nb.encode() if isinstance(nb, str) else nb)
        else:
            nbformat.write(nb, str(path))
