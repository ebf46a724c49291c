"""05_linear_probing: runs in the `grading` profile; its hidden tests pass on the reference
solutions and fail on the released stubs and on the classic wrong answers kept in
``tests/wrong_answers/05_linear_probing/`` (a probe that backpropagates into the encoder,
features taken in train mode, a kNN vote that counts instead of weighting, ...)."""
import pytest
from nbcells import NotebookRun, graded_tests, points, wrong_answers

HW, NAME = "hw2", "05_linear_probing"


@pytest.fixture(scope="module")
def run():
    return NotebookRun(HW, NAME)


def test_stated_points_are_the_cells_points():
    p = points(HW, NAME)
    assert p["stated"] == p["autograded"] + p["by_hand"]
    assert p["stated_split"] == (p["autograded"], p["by_hand"])


def test_every_test_cell_runs_after_its_solution(run):
    assert run.test_ids() == graded_tests(HW, NAME)
    assert len(run.test_ids()) >= 4
    assert all(run.solution_of[t] == t.removesuffix("-tests") for t in run.test_ids())


@pytest.mark.parametrize("test_id", graded_tests(HW, NAME))
def test_reference_passes(run, test_id):
    run.run_test(test_id)


@pytest.mark.parametrize("test_id", graded_tests(HW, NAME))
def test_stub_fails(run, test_id):
    with pytest.raises(NotImplementedError):
        run.run_test(test_id, run.stub_of(test_id))


@pytest.mark.parametrize("test_id, what, path", wrong_answers(NAME), ids=lambda v: getattr(v, "stem", None))
def test_wrong_answer_fails(run, test_id, what, path):
    assert test_id in run.test_ids(), f"{path.name} names no graded exercise"
    with pytest.raises(AssertionError):
        run.run_test(test_id, path.read_text())


def test_every_exercise_has_a_wrong_answer():
    covered = {test_id for test_id, _, _ in wrong_answers(NAME)}
    assert covered == set(graded_tests(HW, NAME))
