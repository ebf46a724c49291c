"""``grade``: autograde many submissions in parallel, each student isolated, resumable.

For every student of an assignment (skipped when already graded, unless ``force``):

1. a private course copy is made in a workspace only the grader can read: the
   course configuration, the release (for repairs), the source's data files, a copy
   of the gradebook and the student's files, checked first: a file that is not a
   notebook (e.g. not valid JSON) is left out and scores 0, a renamed notebook is
   recognised by its content;
2. ``python -m autograder.worker`` runs nbgrader's autograde there, in a process
   session of its own with a wall-clock limit; its kernels run in the sandbox
   (:mod:`autograder.sandbox`: namespaces, own uid, CPU/memory limits), whose root
   holds only what a kernel needs (no course, workspace or repository) and which
   dies with the worker;
3. back in this (the only writing) process, the student's grades are copied into the
   course gradebook and the autograded notebooks into ``autograded/``.

Each step has its module: :mod:`autograder.workspace` (1), :mod:`autograder.supervise` (2),
:mod:`autograder.merge` (3) and :mod:`autograder.summary` (the outcome and its line).

So one student's notebook can neither stop the batch nor touch another student's
grade. Each student gets one log, ``<course>/logs/<assignment>/<student>.log``, and
one line in the summary.

Example
-------
>>> for outcome in grade(Course(), ["hw1"], workers=2):   # doctest: +SKIP
...     print(outcome.line())
hw1 alice: 5/7 (2 to grade by hand)
"""
from __future__ import annotations

import concurrent.futures
import dataclasses
import os
import shutil
import tempfile
import time
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from .course import Course
from .merge import merge, publish
from .notebooks import released_notebooks
from .summary import Outcome, notes_from_notebooks, summarize
from .supervise import Running, run_worker
from .workspace import log, prepare


@dataclasses.dataclass(frozen=True)
class Limits:
    """What one student may use. ``None`` keeps the value of ``nbgrader_config.py``, where
    it sets one, else the default (``Execute.timeout`` there; the kernel's in ``sandbox.LIMITS``)."""

    cell_timeout: int | None = None     # seconds per cell, then interrupted
    cpu_seconds: int | None = None      # CPU seconds per kernel
    memory_mb: int | None = None        # data segment per kernel
    student_timeout: int = 1800         # wall-clock seconds for one student, all notebooks

    def overrides(self, workers: int) -> dict:
        threads = str(max(1, (os.cpu_count() or 1) // workers))
        env = {"OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
        values = {"Execute.timeout": self.cell_timeout, "SandboxKernelManager.cpu_seconds": self.cpu_seconds,
                  "SandboxKernelManager.memory_mb": self.memory_mb}
        return {"SandboxKernelManager.extra_env": env, **{k: v for k, v in values.items() if v is not None}}


def is_graded(course: Course, assignment: str, student: str, gb: Gradebook | None = None) -> bool:
    """Whether the student has an ``autograded/`` folder and a submission in the gradebook
    (``gb``, an open course gradebook, saves opening it again)."""
    if not course.path("autograded", assignment, student).is_dir():
        return False
    if gb is None:
        with course.gradebook() as gb:
            return is_graded(course, assignment, student, gb)
    try:
        gb.find_submission(assignment, student)
    except MissingEntry:
        return False
    return True


def grade(course: Course, assignments: list[str] | None = None, students: list[str] | None = None, *,
          workers: int | None = None, force: bool = False, limits: Limits = Limits(),
          workspace: Path | None = None, echo=print) -> list[Outcome]:
    """Autograde every submitted student (or only ``students``) of each assignment (all by default).

    All (assignment, student) pairs share one pool of ``workers`` (default: one per
    core); results are merged as they finish and ``echo``-ed one line each. Returns
    the outcomes in that order. See the module doc for what happens per student.
    """
    workers = (os.cpu_count() or 1) if workers is None else workers
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    names = course.check_assignments(assignments)
    jobs, released = [], {}
    with course.gradebook() as gb:
        for assignment in names:
            try:
                gb.find_assignment(assignment)
            except MissingEntry:
                raise ValueError(f"{assignment} is not in the gradebook: run `python -m autograder release` "
                                 "first") from None
            released[assignment] = released_notebooks(course, assignment)
            submitted = course.students(assignment)
            jobs += [(assignment, s) for s in submitted if students is None or s in students]
        graded = set() if force else {job for job in jobs if is_graded(course, *job, gb)}
    if students is not None and (unknown := set(students) - {s for _, s in jobs}):
        raise ValueError(f"students must have submitted {' or '.join(names)}: nothing from {sorted(unknown)}")
    outcomes = []
    for assignment, student in [job for job in jobs if job in graded]:
        outcomes.append(Outcome(assignment, student, skipped=True))
        echo(outcomes[-1].line())
    pending = [job for job in jobs if job not in graded]
    root = Path(tempfile.mkdtemp(prefix="autograder-", dir=workspace))
    try:
        template = root / "template.db"
        shutil.copy2(course.root / "gradebook.db", template)
        batch = _Batch(course, released, root, template, limits, limits.overrides(workers))
        with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(batch.run, assignment, student) for assignment, student in pending]
            try:
                for future in concurrent.futures.as_completed(futures):
                    outcome = batch.finish(*future.result())
                    outcomes.append(outcome)
                    echo(outcome.line())
            except BaseException:
                for future in futures:
                    future.cancel()
                batch.running.kill_all()
                raise
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return outcomes


@dataclasses.dataclass
class _Batch:
    """One grading run: the work done per student in a pool thread (:meth:`run`) and, in
    the calling thread only, the writes to the course (:meth:`finish`)."""

    course: Course
    released: dict                 # assignment -> {notebook name: released notebook}
    root: Path                     # the private workspace
    template: Path                 # the course gradebook as the batch started
    limits: Limits
    overrides: dict
    running: Running = dataclasses.field(default_factory=Running)

    def log_file(self, assignment: str, student: str) -> Path:
        folder = self.course.root / "logs" / assignment
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{student}.log"

    def run(self, assignment: str, student: str) -> tuple[Outcome, Path | None]:
        """Grade one student in a private course copy; return the outcome and the copy (None: all zeros)."""
        start, log_file = time.monotonic(), self.log_file(assignment, student)
        log_file.write_text(f"{time.strftime('%Y-%m-%d %H:%M:%S')} grading {assignment} for {student}\n")
        private = self.root / assignment / student
        outcome = Outcome(assignment, student)
        outcome.notes = prepare(self.course, assignment, student, private, self.template,
                                self.released[assignment], log_file)
        if not any(private.joinpath("submitted", student, assignment).glob("*.ipynb")):
            private = None
        elif failure := run_worker(private, assignment, student, self.overrides, self.limits.student_timeout,
                                   log_file, self.running):
            outcome.notes.append(failure + ": graded 0")
            private = None
        else:
            outcome.notes += notes_from_notebooks(private / "autograded" / student / assignment)
        outcome.seconds = time.monotonic() - start
        return outcome, private

    def finish(self, outcome: Outcome, private: Path | None) -> Outcome:
        assignment, student = outcome.assignment, outcome.student
        with self.course.gradebook() as gb:
            merge(gb, private, assignment, student)
            publish(self.course, private, assignment, student)
            summarize(gb, outcome)
        log(self.log_file(assignment, student), outcome.line() + f" [{outcome.seconds:.1f} s]")
        shutil.rmtree(self.root / assignment / student, ignore_errors=True)
        return outcome
