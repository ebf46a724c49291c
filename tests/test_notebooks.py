"""Every homework notebook: it runs in the `grading` profile, and its hidden tests pass on the
reference solutions and fail on the released stubs and on the classic wrong answers kept in
``tests/wrong_answers/<notebook>/`` (see each folder: PCA without centring, a kNN score that
counts the point itself, a transition matrix whose rows do not sum to 1, NT-Xent without masking
the self-similarity or with the positive at the wrong index, a probe that backpropagates into the
encoder, ...).

Beyond that: the hidden block alone fails each wrong answer (not only the visible asserts), each
exercise is graded on its own (the autograder's partly-wrong sample relies on it), the points
add up, and the nbgrader metadata, the setup cell and the stripped outputs are as the course wants.
"""
import functools
import re

import pytest
from nbcells import NotebookRun, nbgrader_meta, source_notebook, graded_tests, points, wrong_answers

NOTEBOOKS = [("hw1", "01_risk_minimization"), ("hw1", "02_manifold_visualization"),
             ("hw1", "03_label_noise"), ("hw2", "04_simclr"), ("hw2", "05_linear_probing")]
HIDDEN = "### BEGIN HIDDEN TESTS"


@functools.cache
def _run(hw: str, name: str) -> NotebookRun:
    return NotebookRun(hw, name)   # executed once per test session, on first use


EACH_TEST = [(hw, name, t) for hw, name in NOTEBOOKS for t in graded_tests(hw, name)]
"""``(hw, name, test_id)`` for every autograded test cell of every notebook."""
EACH_WRONG_ANSWER = [(hw, name, *answer) for hw, name in NOTEBOOKS for answer in wrong_answers(name)]


def _id(value):
    return getattr(value, "stem", value)


@pytest.mark.parametrize("hw, name", NOTEBOOKS)
def test_stated_points_are_the_cells_points(hw, name):
    p = points(hw, name)
    assert p["stated"] == p["autograded"] + p["by_hand"]
    assert p["stated_split"] == (p["autograded"], p["by_hand"])


@pytest.mark.parametrize("hw, name", NOTEBOOKS)
def test_every_test_cell_runs_after_its_solution(hw, name):
    run = _run(hw, name)
    assert len(run.test_ids()) >= 4, "at least 4 autograded exercises"
    assert all(run.solution_of[t] == t.removesuffix("-tests") for t in run.test_ids())


@pytest.mark.parametrize("hw, name", NOTEBOOKS)
def test_nbgrader_metadata(hw, name):
    """Each kind of cell carries nbgrader's flags (schema 3), and there is nothing else."""
    nb = source_notebook(hw, name)
    ids = [nbgrader_meta(c)["grade_id"] for c in nb.cells if nbgrader_meta(c)]
    assert len(ids) == len(set(ids)), "grade_ids must be unique"
    written = 0
    for cell in nb.cells:
        meta, source = nbgrader_meta(cell), cell.source
        if not meta:
            assert "BEGIN SOLUTION" not in source and HIDDEN not in source, source[:80]
            continue
        assert {"grade", "grade_id", "locked", "schema_version", "solution", "task"} <= set(meta), meta
        assert meta["schema_version"] == 3 and meta["task"] is False, meta
        assert meta["grade_id"].startswith(f"{name}-"), meta
        flags = (cell.cell_type, meta["grade"], meta["solution"], meta["locked"])
        if flags == ("code", False, True, False):       # an autograded answer
            assert "points" not in meta, meta
            assert source.index("### BEGIN SOLUTION") < source.index("### END SOLUTION"), meta
        elif flags == ("code", True, False, True):      # its test cell
            assert isinstance(meta["points"], int) and meta["points"] > 0, meta
            assert source.index(HIDDEN) < source.index("### END HIDDEN TESTS"), meta
        elif flags == ("markdown", True, True, False):  # a written answer, graded by hand
            assert isinstance(meta["points"], int) and meta["points"] > 0, meta
            written += 1
        else:                                           # the setup cell, and nothing else
            assert flags == ("code", False, False, True) and meta["grade_id"] == f"{name}-setup", meta
    assert written >= 1, "at least one written answer"


@pytest.mark.parametrize("hw, name", NOTEBOOKS)
def test_setup_cell_is_the_course_setup_cell(hw, name):
    first = next(c for c in source_notebook(hw, name).cells if c.cell_type == "code")
    reference = next(c for c in source_notebook("hw2", "04_simclr").cells if c.cell_type == "code")
    assert first.source == reference.source
    assert nbgrader_meta(first)["grade_id"] == f"{name}-setup"


@pytest.mark.parametrize("hw, name", NOTEBOOKS)
def test_committed_without_outputs(hw, name):
    for cell in source_notebook(hw, name).cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:80]


@pytest.mark.parametrize("hw, name, test_id", EACH_TEST)
def test_reference_passes(hw, name, test_id):
    _run(hw, name).run_test(test_id)


@pytest.mark.parametrize("hw, name, test_id", EACH_TEST)
def test_stub_fails(hw, name, test_id):
    run = _run(hw, name)
    with pytest.raises(NotImplementedError):
        run.run_test(test_id, run.stub_of(test_id))


@pytest.mark.parametrize("hw, name, test_id", EACH_TEST)
def test_graded_on_its_own(hw, name, test_id):
    """The test passes with every other answer left as its stub."""
    run = _run(hw, name)
    others = [run.stub_of(t) for t in run.test_ids() if t != test_id]
    run.run_test(test_id, "\n\n".join(others))


@pytest.mark.parametrize("hw, name, test_id, what, path", EACH_WRONG_ANSWER, ids=_id)
def test_wrong_answer_fails(hw, name, test_id, what, path):
    run = _run(hw, name)
    assert test_id in run.test_ids(), f"{path.name} names no graded exercise"
    with pytest.raises(AssertionError):
        run.run_test(test_id, path.read_text())


@pytest.mark.parametrize("hw, name, test_id, what, path", EACH_WRONG_ANSWER, ids=_id)
def test_hidden_tests_alone_fail_wrong_answer(hw, name, test_id, what, path):
    """The grade does not rest on the visible asserts: the hidden block by itself fails the answer."""
    ns, source = _run(hw, name).before_test[test_id]
    ns = dict(ns)
    exec(compile(path.read_text(), str(path), "exec"), ns)
    with pytest.raises(AssertionError):
        exec(compile(source[source.index(HIDDEN):], f"<{test_id} hidden>", "exec"), ns)


@pytest.mark.parametrize("hw, name", NOTEBOOKS)
def test_every_exercise_has_a_wrong_answer(hw, name):
    assert {test_id for test_id, _, _ in wrong_answers(name)} == set(graded_tests(hw, name))


@pytest.mark.parametrize("hw, name", NOTEBOOKS)
def test_points_table_adds_up(hw, name):
    """A notebook that states its points per exercise in a table must agree with the cells."""
    row = r"^\| (?:Exercise|Question)[^|]*\|[^|]*\| ([\d +]+) \|$"
    table = re.findall(row, source_notebook(hw, name).cells[0].source, re.MULTILINE)
    if not table:
        pytest.skip(f"{name} states no per-exercise points table")
    assert sum(int(k) for row in table for k in row.split("+")) == points(hw, name)["stated"]
