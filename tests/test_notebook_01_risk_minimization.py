"""01_risk_minimization: runs in the `grading` profile; its hidden tests pass on the reference
solutions and fail on the released stubs and on the classic wrong answers kept in
``tests/wrong_answers/01_risk_minimization/`` (an empirical risk summed or divided by N - 1, a naive
softmax that overflows, the accuracy returned as the 0-1 risk, a Gaussian risk without ||w||, a step
that returns a detached loss or calls backward itself, worst-group accuracy averaged over groups, ...).

Beyond the checks every notebook has: the hidden block alone fails each wrong answer (not only the
visible asserts), each exercise is graded on its own (the autograder's partly-wrong sample relies
on it), and the nbgrader metadata, the setup cell and the stripped outputs are as the course wants.
"""
import re

import nbformat
import pytest
from nbcells import SOURCE, NotebookRun, graded_tests, points, wrong_answers

HW, NAME = "hw1", "01_risk_minimization"
NB = nbformat.read(SOURCE / HW / f"{NAME}.ipynb", as_version=4)
HIDDEN = "### BEGIN HIDDEN TESTS"


def _meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


@pytest.fixture(scope="module")
def run():
    return NotebookRun(HW, NAME)


def test_stated_points_are_the_cells_points():
    p = points(HW, NAME)
    assert p["stated"] == p["autograded"] + p["by_hand"]
    assert p["stated_split"] == (p["autograded"], p["by_hand"])
    row = r"^\| (?:Exercise|Question)[^|]*\|[^|]*\| ([\d +]+) \|$"
    table = re.findall(row, NB.cells[0].source, re.MULTILINE)
    assert sum(int(k) for row in table for k in row.split("+")) == p["stated"], "the points table disagrees"


def test_every_test_cell_runs_after_its_solution(run):
    assert run.test_ids() == graded_tests(HW, NAME)
    assert len(run.test_ids()) >= 4
    assert all(run.solution_of[t] == t.removesuffix("-tests") for t in run.test_ids())


def test_nbgrader_metadata():
    """Each kind of cell carries nbgrader's flags (schema 3) the way 04_simclr's do."""
    ids = [_meta(c)["grade_id"] for c in NB.cells if _meta(c)]
    assert len(ids) == len(set(ids)), "grade_ids must be unique"
    written = 0
    for cell in NB.cells:
        meta, source = _meta(cell), cell.source
        if not meta:
            assert "BEGIN SOLUTION" not in source and HIDDEN not in source, source[:80]
            continue
        assert {"grade", "grade_id", "locked", "schema_version", "solution", "task"} <= set(meta), meta
        assert meta["schema_version"] == 3 and meta["task"] is False, meta
        assert meta["grade_id"].startswith(f"{NAME}-"), meta
        flags = (cell.cell_type, meta["grade"], meta["solution"], meta["locked"])
        if flags == ("code", False, True, False):       # an autograded answer: one function
            assert "points" not in meta and re.search(r"^def \w+\(", source, re.MULTILINE), meta
            assert source.index("### BEGIN SOLUTION") < source.index("### END SOLUTION"), meta
        elif flags == ("code", True, False, True):      # its test cell
            assert isinstance(meta["points"], int) and meta["points"] > 0, meta
            end = source.index("### END HIDDEN TESTS")
            assert source.index("visible tests passed") < source.index(HIDDEN) < end, meta
        elif flags == ("markdown", True, True, False):  # a written answer, graded by hand
            assert isinstance(meta["points"], int) and meta["points"] > 0, meta
            assert source == "YOUR ANSWER HERE", meta
            written += 1
        else:                                           # the setup cell, and nothing else
            assert flags == ("code", False, False, True) and meta["grade_id"] == f"{NAME}-setup", meta
    assert 1 <= written <= 2, "one or two written answers"


def test_setup_cell_is_the_course_setup_cell():
    simclr = nbformat.read(SOURCE / "hw2" / "04_simclr.ipynb", as_version=4)
    first = next(c for c in NB.cells if c.cell_type == "code")
    assert first.source == next(c for c in simclr.cells if c.cell_type == "code").source
    assert _meta(first)["grade_id"] == f"{NAME}-setup"


def test_committed_without_outputs():
    for cell in NB.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:80]


@pytest.mark.parametrize("test_id", graded_tests(HW, NAME))
def test_reference_passes(run, test_id):
    run.run_test(test_id)


@pytest.mark.parametrize("test_id", graded_tests(HW, NAME))
def test_stub_fails(run, test_id):
    with pytest.raises(NotImplementedError):
        run.run_test(test_id, run.stub_of(test_id))


@pytest.mark.parametrize("test_id", graded_tests(HW, NAME))
def test_graded_on_its_own(run, test_id):
    """The test passes with every other answer left as its stub."""
    others = [run.stub_of(t) for t in run.test_ids() if t != test_id]
    run.run_test(test_id, "\n\n".join(others))


@pytest.mark.parametrize("test_id, what, path", wrong_answers(NAME), ids=lambda v: getattr(v, "stem", None))
def test_wrong_answer_fails(run, test_id, what, path):
    assert test_id in run.test_ids(), f"{path.name} names no graded exercise"
    with pytest.raises(AssertionError):
        run.run_test(test_id, path.read_text())


@pytest.mark.parametrize("test_id, what, path", wrong_answers(NAME), ids=lambda v: getattr(v, "stem", None))
def test_hidden_tests_alone_fail_wrong_answer(run, test_id, what, path):
    """The grade does not rest on the visible asserts: the hidden block by itself fails the answer."""
    ns, source = run.before_test[test_id]
    ns = dict(ns)
    exec(compile(path.read_text(), str(path), "exec"), ns)
    with pytest.raises(AssertionError):
        exec(compile(source[source.index(HIDDEN):], f"<{test_id} hidden>", "exec"), ns)


def test_every_exercise_has_one_to_three_wrong_answers():
    kept = [test_id for test_id, _, _ in wrong_answers(NAME)]
    assert set(kept) == set(graded_tests(HW, NAME))
    assert all(1 <= kept.count(t) <= 3 for t in set(kept))
