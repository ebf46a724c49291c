"""The autograder on real submissions: the demo's samples, then every broken or hostile case.

Two grading batches for the whole module, each through the real pipeline (a worker
process per student, nbgrader's autograde, the sandboxed kernel with its limits, the
hidden tests judged out of the kernel) on 2 workers, in a private copy of the course
that lies outside /tmp, as a TA's does:

1. ``demo()`` with the reference solution and the blank release of every notebook
   (collect -> grade -> feedback -> export);
2. every case of ``autograder_cases.py`` and ``hostile_cases.py``, each handing in one
   notebook only (the fastest one measured in batch 1), all in one parallel batch, with a
   secret planted in the grader's environment.

Grading a full assignment runs each of its notebooks (20-40 s each on 2 cores), so
the reference and the blank are graded once and the cases stay one notebook each.
"""
from __future__ import annotations

import ast
import base64
import csv
import http.client
import json
import math
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import nbformat
import pytest

import autograder_cases as cases
import hostile_cases as hostile
from autograder.__main__ import main
from autograder.demo import demo
from autograder.feedback import assignment_hidden_lines, feedback, quoted
from autograder.formgrader import command
from autograder.grade import Limits, grade
from autograder.hidden import QUOTED, hidden_lines, leaked
from autograder.report import exercise_stats, format_report

WORKERS = 2
REFERENCE, BLANK = "sample-reference", "sample-blank"


def scores(course, assignment: str, student: str) -> dict[str, float | None]:
    """grade id -> auto score of every graded cell of a submission (written answers: None)."""
    with course.gradebook() as gb:
        sub = gb.find_submission(assignment, student)
        return {g.name: g.auto_score for nb in sub.notebooks for g in nb.grades}


def autograded_scores(course, assignment: str, student: str) -> dict[str, float]:
    autograded = cases.full_points(course, assignment)
    return {gid: score for gid, score in scores(course, assignment, student).items() if gid in autograded}


@pytest.fixture(scope="module")
def demo_run(course, tmp_path_factory):
    """Batch 1: the grade table, the echoed lines, and a course holding the demo's grades alone
    (its gradebook and autograded notebooks as the demo left them: later tests grade more
    students in ``course``)."""
    lines = []
    # a cell timeout far above any notebook's budget: a loaded machine must not fail the reference
    table = demo(course, workers=WORKERS, students=[REFERENCE, BLANK], limits=Limits(cell_timeout=600),
                 echo=lines.append)
    graded = course.derived(tmp_path_factory.mktemp("demo") / "course")
    shutil.copy2(course.root / "gradebook.db", graded.root / "gradebook.db")
    for student in (REFERENCE, BLANK):
        shutil.copytree(course.root / "autograded" / student, graded.root / "autograded" / student)
    return table, lines, graded


@pytest.fixture(scope="module")
def case_run(course, demo_run):
    """Batch 2: every case. The cell timeout, which the loop cases wait out, is twice what the
    light part of the target took in batch 1 (at least 20 s): no legit cell of it comes close."""
    built = cases.build_cases(course, REFERENCE, victims={a: REFERENCE for a in course.assignments()},
                              cases=ALL_CASES, nt_xent_cases=cases.NT_XENT_CASES + hostile.NT_XENT_CASES)
    seconds = cases.light_seconds(course, built[0].assignment, built[0].notebook, REFERENCE)
    limits = Limits(cell_timeout=max(20, math.ceil(2 * seconds)))
    before = {(a, s): scores(course, a, s) for a in course.assignments() for s in (REFERENCE, BLANK)}
    os.environ[hostile.SECRET_NAME] = hostile.SECRET   # the grader's environment: no kernel may see it
    try:
        outcomes = grade(course, students=[c.student for c in built], workers=WORKERS, limits=limits,
                         echo=lambda line: None)
    finally:
        del os.environ[hostile.SECRET_NAME]
    return {c.student: c for c in built}, {o.student: o for o in outcomes}, before


# ------------------------------------------------------------------------ batch 1: the demo
def test_reference_earns_every_autograded_point(course, demo_run):
    for a in course.assignments():
        assert autograded_scores(course, a, REFERENCE) == cases.full_points(course, a), a


def test_blank_earns_zero_and_the_batch_goes_on(course, demo_run):
    table, lines, _ = demo_run
    for a in course.assignments():
        got = scores(course, a, BLANK)
        assert set(got) >= set(cases.full_points(course, a))
        assert all(score in (0, None) for score in got.values()), (a, got)
        assert sum(f"{a} {BLANK}: 0/" in line for line in lines) == 1, lines
    assert re.search(rf"^{BLANK}\s+0/\d+\s+0/\d+$", table, re.MULTILINE), table


def test_demo_prints_the_grade_table_and_exports_csv(course, demo_run):
    table, _, _ = demo_run
    header, *rows = table.splitlines()
    assert header.split()[0] == "student" and all(f"{a} (/" in header for a in course.assignments())
    assert [row.split()[0] for row in rows] == [BLANK, REFERENCE]
    with open(course.root / "grades.csv") as f:
        exported = list(csv.DictReader(f))
    assert {(r["assignment"], r["student_id"]) for r in exported} == \
        {(a, s) for a in course.assignments() for s in (REFERENCE, BLANK)}
    for row in exported:
        if row["student_id"] == BLANK:
            assert float(row["score"]) == 0
        else:
            assert float(row["raw_score"]) == sum(cases.full_points(course, row["assignment"]).values())


def test_feedback_shows_results_but_no_hidden_test(course, demo_run):
    for a in course.assignments():
        assert assignment_hidden_lines(course, a), f"{a} has no hidden tests to check against"
        for student in (REFERENCE, BLANK):
            files = sorted(course.path("feedback", a, student).glob("*.html"))
            assert [f.stem for f in files] == course.notebooks(a)
            for path in files:
                text = path.read_text()
                assert "Autograder results" in text and not quoted(course, a, student, path), path
                if student == REFERENCE:
                    assert ">pass<" in text and ">fail<" not in text, path
                else:
                    assert ">fail<" in text, path


def test_report_counts_pass_rates_and_failures(course, demo_run, tmp_path, capsys):
    """On the demo's grades alone (the reference and the blank), whatever else was graded since."""
    _, _, graded = demo_run
    for a in course.assignments():
        rates, failures = exercise_stats(graded, a)
        assert set(rates) == set(cases.full_points(course, a))
        assert all(total == 2 and passed == 1 for passed, total in rates.values())
        assert all(sum(counter.values()) == 1 for counter in failures.values())
        assert "NotImplementedError" in format_report(rates, failures)
    main(["--course", str(graded.root), "report", a, "--plot", str(tmp_path / "rates.png")])
    assert "pass rate" in capsys.readouterr().out and (tmp_path / "rates.png").stat().st_size > 0


def test_plain_nbgrader_autograde_uses_the_course_pipeline(course, demo_run):
    """A TA's own ``nbgrader autograde`` inside the course: grading profile, sandbox, repairs."""
    a, nb = cases.targets(course)[0]
    cases.samples.write_submission(course, a, "plain-nbgrader", {nb: cases.light(course, a, nb)})
    run = subprocess.run(["nbgrader", "autograde", a, "--student", "plain-nbgrader"], cwd=course.root,
                         capture_output=True, text=True, env={**os.environ, "SSL_COURSE_PROFILE": "cpu"},
                         timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    graded = nbformat.read(course.path("autograded", a, "plain-nbgrader") / f"{nb}.ipynb", as_version=4)
    assert "seconds" in graded.metadata["autograder"]          # ran through JudgedExecute
    outputs = "".join(o.get("text", "") for c in graded.cells if c.cell_type == "code" for o in c.outputs)
    assert "profile: grading" in outputs
    mine = {gid: cases.full_points(course, a, [nb])[gid] for gid in cases.scored(course, a, nb)}
    assert {k: v for k, v in autograded_scores(course, a, "plain-nbgrader").items() if k in mine} == mine


# ---------------------------------------------------------------------- batch 2: the cases
ALL_CASES = [*cases.CASES, *hostile.CASES, *hostile.NT_XENT_CASES]
CASE_NAMES = [c.__name__ for c in ALL_CASES]


@pytest.mark.parametrize("name", CASE_NAMES)
def test_case_earns_exactly_its_points(course, case_run, name):
    built, outcomes, _ = case_run
    case = built["case-" + name.replace("_", "-")]
    outcome = outcomes[case.student]
    got = autograded_scores(course, case.assignment, case.student)
    assert got == case.expected(course), outcome.line()
    log = (course.root / "logs" / case.assignment / f"{case.student}.log").read_text()
    assert log.rstrip().splitlines()[-1].startswith(outcome.line())   # the TA's one line, last in the log
    assert re.search(case.summary, outcome.line()), outcome.line()


def test_nobody_elses_grade_or_files_change(course, case_run):
    _, _, before = case_run
    for (a, student), grades in before.items():
        assert scores(course, a, student) == grades
        for step in ("submitted", "autograded"):
            assert not list(course.path(step, a, student).rglob("pwned.txt"))
    assert cases.INJECTED not in (cases.REPO / "course_utils" / "losses.py").read_text()


def test_grading_again_gives_the_same_scores(course, case_run):
    built, outcomes, _ = case_run
    again = [f"case-{n}" for n in ("os-exit", "tamper-comparisons")]
    first = {s: autograded_scores(course, built[s].assignment, s) for s in again}
    skipped = grade(course, students=again, workers=WORKERS, echo=lambda line: None)
    assert all(o.skipped for o in skipped), "graded students are skipped without --force"
    grade(course, students=again, workers=WORKERS, force=True, echo=lambda line: None)
    assert {s: autograded_scores(course, built[s].assignment, s) for s in again} == first


def test_case_feedback_has_no_hidden_test(course, case_run):
    built, _, _ = case_run
    for a in {c.assignment for c in built.values()}:
        students = [c.student for c in built.values() if c.assignment == a]
        result = feedback(course, a, students)   # raises if a file quotes a hidden test
        if "case-invalid-json" in students:
            assert result.skipped == [
                f"case-invalid-json: no autograded notebook (see logs/{a}/case-invalid-json.log)"]
        assert len(result.files) == len(students) - len(result.skipped)
        assert not any(quoted(course, a, path.parent.parent.name, path) for path in result.files)
    for student in ("case-print-hidden", "case-encodes-what-it-sees"):   # nothing hidden even to remove
        case = built[student]
        lines = hidden_lines(c.source for c in nbformat.read(
            course.path("source", case.assignment) / f"{case.notebook}.ipynb", as_version=4).cells)
        # the lines only a hidden test has (not `try:`, which ipykernel's own source, printed from
        # linecache by print-hidden, has too)
        lines = {line for line in lines if len(line) >= QUOTED}
        text = _printed(course, case)
        assert leaked(text, lines) == [] and leaked(_base64_decoded(text), lines) == [], student


def _printed(course, case) -> str:
    """Everything the case's autograded notebook shows in its outputs, as text."""
    folder = course.path("autograded", case.assignment, case.student)
    graded = nbformat.read(folder / f"{case.notebook}.ipynb", as_version=4)
    return "".join(o.get("text", "") + "".join(str(v) for v in o.get("data", {}).values())
                   for c in graded.cells if c.cell_type == "code" for o in c.outputs)


def _base64_decoded(text: str) -> str:
    chunks = re.findall(r"[A-Za-z0-9+/=]{40,}", text)
    return "\n".join(base64.b64decode(c[: len(c) // 4 * 4]).decode(errors="replace") for c in chunks)


def test_no_kernel_sees_the_grader_the_network_or_the_downloads(course, case_run):
    """The snooping case printed what it found: the grader's environment (a planted secret), other
    kernels' traffic, the TA's downloads folder outside /tmp. It found nothing, and its feedback
    has nothing either."""
    built, _, _ = case_run
    case = built["case-snoops"]
    printed = _printed(course, case)
    assert hostile.SECRET not in printed and hostile.SECRET_NAME not in printed
    # its own network namespace may hold ipykernel's own relay socket, nothing of another kernel
    assert re.search(r"listening: \[[\d, ]*\] received: 0", printed), printed[-500:]
    assert "downloads: []" in printed
    page = (course.path("feedback", case.assignment, case.student) / f"{case.notebook}.html")
    if page.exists():
        assert hostile.SECRET not in page.read_text()


def test_feedback_neutralises_the_students_html(course, case_run):
    """Scripts, event handlers, javascript: links and frames from a student's outputs and markdown
    do not reach the feedback page as markup (their text may stay, escaped)."""
    built, _, _ = case_run
    case = built["case-html-payloads"]
    feedback(course, case.assignment, [case.student])
    page = (course.path("feedback", case.assignment, case.student) / f"{case.notebook}.html").read_text()
    marker = re.escape(hostile.SCRIPT)
    assert not re.search(rf"<script[^>]*>[^<]*{marker}", page)
    assert not re.search(r"<[^>]+\bonerror\s*=", page, re.IGNORECASE)
    assert not re.search(r"<[^>]+javascript:", page, re.IGNORECASE)
    assert not re.search(r"<iframe", page, re.IGNORECASE)


def test_outputs_are_capped_in_bytes(course, case_run):
    built, _, _ = case_run
    case = built["case-huge-outputs"]
    path = course.path("autograded", case.assignment, case.student) / f"{case.notebook}.ipynb"
    assert path.stat().st_size < 20 * 2**20
    assert "[autograder: output cut here" in _printed(course, case)
    result = feedback(course, case.assignment, [case.student])
    assert all(p.stat().st_size < 20 * 2**20 for p in result.files)


def test_a_submission_finds_no_notebook_or_gradebook_of_the_course(course, case_run):
    """The read-hidden case lists every file it can reach that mentions the hidden-test marker or
    is a gradebook. None may be a notebook or a gradebook of the course. The kit's own test files
    and nbgrader's package mention the marker without holding the course's tests; they stay
    readable when the checkout lies under /tmp and is bound into the kernel's private /tmp."""
    built, _, _ = case_run
    case = built["case-read-hidden"]
    folder = course.path("autograded", case.assignment, case.student)
    graded = nbformat.read(folder / f"{case.notebook}.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for c in graded.cells if c.cell_type == "code" for o in c.outputs)
    (line,) = [line for line in printed.splitlines() if line.startswith("found: ")]
    found = ast.literal_eval(line.removeprefix("found: "))
    leaks = [f for f in found if "site-packages" not in f and f.endswith((".ipynb", "gradebook.db"))]
    assert leaks == [], found


# ------------------------------------------------------------------------------ formgrader
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_formgrader_lists_assignments_and_demo_submissions(course, demo_run):
    port, token = _free_port(), "autograder-test"
    server = subprocess.Popen(command(course, port=port, open_browser=False, token=token), cwd=course.root,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}/formgrader/api"

    def get(path):
        request = urllib.request.Request(base + path, headers={"Authorization": f"token {token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)

    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                assignments = get("/assignments")
                break
            except (OSError, http.client.HTTPException):
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(1)
        assert {a["name"] for a in assignments} >= set(course.assignments())
        for a in course.assignments():
            listed = {s["student"] for s in get(f"/submissions/{a}")}
            assert {REFERENCE, BLANK} <= listed
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)


def test_module_runs_as_a_script():
    run = subprocess.run([sys.executable, "-m", "autograder", "--help"], capture_output=True, text=True)
    assert run.returncode == 0 and "release" in run.stdout
