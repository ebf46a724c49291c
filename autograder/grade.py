"""``grade``: autograde many submissions in parallel, each student isolated, resumable.

For every student of an assignment (skipped when already graded, unless ``force``):

1. a private course copy is made in a workspace only the grader can read: the
   course configuration, the release (for repairs), the source's data files, a copy
   of the gradebook and the student's files, checked first: a file that is not a
   notebook (e.g. not valid JSON) is left out and scores 0, a renamed notebook is
   recognised by its content;
2. ``python -m autograder.worker`` runs nbgrader's autograde there, in a process
   session of its own with a wall-clock limit; its kernels run in the sandbox
   (:mod:`autograder.sandbox`: namespaces, own uid, CPU/memory limits), which hides
   the course, the workspace and the repository's ``.git``;
3. back in this (the only writing) process, the student's grades are copied into the
   course gradebook and the autograded notebooks into ``autograded/``.

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
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.utils import compute_checksum, is_grade, is_solution

from .notebooks import first_error, grade_id, identify, read_notebook, recorded, released_notebooks
from .course import PACKAGE_ROOT, Course


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


@dataclasses.dataclass
class Outcome:
    """One student's result for one assignment."""

    assignment: str
    student: str
    score: float = 0.0
    max_score: float = 0.0
    manual: float = 0.0               # points still to grade by hand
    notes: list[str] = dataclasses.field(default_factory=list)
    seconds: float = 0.0
    skipped: bool = False

    def line(self) -> str:
        head = f"{self.assignment} {self.student}: "
        if self.skipped:
            return head + "already graded (use --force to grade again)"
        head += f"{self.score:g}/{self.max_score:g}"
        if self.manual:
            head += f" ({self.manual:g} to grade by hand)"
        return head + (" - " + "; ".join(self.notes) if self.notes else "")


def _log(path: Path, text: str) -> None:
    with open(path, "a") as f:
        f.write(text.rstrip("\n") + "\n")


class _Running:
    """Worker processes alive now, so an interrupted batch leaves none behind."""

    def __init__(self):
        self.lock, self.procs = threading.Lock(), set()

    def kill_all(self) -> None:
        with self.lock:
            for proc in self.procs:
                _kill_group(proc.pid)


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _kill_kernels(pid_dir: Path) -> None:
    """Kernel launchers run in sessions of their own: kill each one's group if still alive."""
    for entry in pid_dir.glob("*"):
        try:
            cmdline = Path(f"/proc/{entry.name}/cmdline").read_bytes()
        except OSError:
            continue
        if b"sandbox.py" in cmdline:
            _kill_group(int(entry.name))


def _prepare(course: Course, assignment: str, student: str, private: Path, template_db: Path,
             released: dict, log: Path) -> list[str]:
    """Build the private course copy; return notes on the student's files (renamed, unreadable)."""
    copy = course.derived(private)
    shutil.copytree(course.path("release", assignment), copy.path("release", assignment))
    shutil.copytree(course.path("source", assignment), copy.path("source", assignment),
                    ignore=shutil.ignore_patterns("*.ipynb"))
    shutil.copy2(template_db, private / "gradebook.db")
    (private / ".pids").mkdir()
    src, dest = course.path("submitted", assignment, student), copy.path("submitted", assignment, student)
    dest.mkdir(parents=True)
    notes, seen, unreadable = [], {}, set()
    for path in sorted(p for p in src.rglob("*") if p.is_file()):
        rel = path.relative_to(src)
        if path.suffix != ".ipynb":
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dest / rel)
            continue
        nb, why = read_notebook(path)
        if nb is None:
            notes.append(f"{rel} is {why}: graded 0")
            unreadable.add(path.stem)
            continue
        name = path.stem if path.stem in released else identify(nb, released)
        if name is None:
            notes.append(f"{rel} matches no notebook of {assignment}: ignored")
            continue
        if name in seen:
            notes.append(f"{rel} and {seen[name]} are both {name}.ipynb: graded {seen[name]}")
            continue
        if name != path.stem:
            notes.append(f"{rel} graded as {name}.ipynb (renamed)")
        seen[name] = rel
        shutil.copy2(path, dest / f"{name}.ipynb")
    notes += [f"{name}.ipynb missing: graded 0" for name in sorted(set(released) - set(seen) - unreadable)]
    for note in notes:
        _log(log, f"files: {note}")
    return notes


def _run_worker(private: Path, assignment: str, student: str, overrides: dict, limits: Limits,
                workspace: Path, log: Path, running: _Running) -> str | None:
    """Autograde in a worker process; return None on success, else why it failed."""
    cmd = [sys.executable, "-m", "autograder.worker", str(private), assignment, student,
           *(f"--set={key}={json.dumps(value)}" for key, value in overrides.items())]
    env = {**os.environ, "AUTOGRADER_HIDE": str(workspace), "AUTOGRADER_PID_DIR": str(private / ".pids"),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(PACKAGE_ROOT.parent),
                                                     os.environ.get("PYTHONPATH")]))}
    with open(log, "a") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=private,
                                start_new_session=True)
        with running.lock:
            running.procs.add(proc)
        try:
            code = proc.wait(timeout=limits.student_timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc.pid)
            proc.wait()
            return f"stopped after {limits.student_timeout} s (wall-clock limit per student)"
        finally:
            with running.lock:
                running.procs.discard(proc)
            _kill_kernels(private / ".pids")
    return None if code == 0 else f"nbgrader autograde failed (exit code {code}; see the log)"


def _first_error(cell) -> str | None:
    """The first line of the cell's first error, at most 70 characters (None: no error)."""
    message = first_error(cell)
    if message is None:
        return None
    line = next(iter(message.splitlines()), "")
    return line if len(line) <= 70 else line[:67] + "..."


def _notes_from_notebooks(folder: Path) -> list[str]:
    """One student's notebooks in a few words each: what was repaired or undone, which answers
    are unanswered, the first error outside the tests, and which tests failed (and why)."""
    notes = []
    for path in sorted(folder.glob("*.ipynb")):
        nb = nbformat.read(str(path), as_version=4)
        short = (lambda gid, name=path.stem: gid.removeprefix(f"{name}-"))
        repairs = recorded(nb, "repairs")
        parts = [f"repaired: {repairs[0]}" + (f" (+{len(repairs) - 1} more)" if len(repairs) > 1 else "")] \
            if repairs else []
        parts += recorded(nb, "events")
        unanswered, failed, errors = [], [], []
        for index, cell in enumerate(nb.cells):
            if is_solution(cell) and cell.metadata.nbgrader.get("checksum") == compute_checksum(cell):
                unanswered.append(short(grade_id(cell)))
            elif cell.cell_type == "code" and (message := _first_error(cell)):
                if is_grade(cell):
                    if not message.startswith("NotImplementedError"):   # those are the unanswered ones
                        failed.append(f"{short(grade_id(cell))} ({message})")
                else:
                    errors.append(f"{short(grade_id(cell) or f'cell {index}')}: {message}")
        if unanswered:
            parts.append("unanswered " + ", ".join(unanswered))
        if errors:
            more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
            parts.append(f"first error in {errors[0]}{more}")
        if failed:
            parts.append("failed " + ", ".join(failed))
        if parts:
            notes.append(f"{path.stem}: " + "; ".join(parts))
    return notes


def _merge(dst: Gradebook, private: Path | None, assignment: str, student: str) -> None:
    """Copy the student's grades (or zeros when ``private`` is None) into the course gradebook ``dst``."""
    dst.update_or_create_student(student)
    if private is None:
        sub = dst.update_or_create_submission(assignment, student)
        for nb in sub.notebooks:
            for g in nb.grades:
                g.auto_score, g.needs_manual_grade = 0, False
        dst.db.commit()
        return
    with Gradebook(f"sqlite:///{private / 'gradebook.db'}", dst.course_id) as src:
        src_sub = src.find_submission(assignment, student)
        dst.update_or_create_submission(assignment, student, timestamp=src_sub.timestamp)
        for nb in src_sub.notebooks:
            dnb = dst.find_submission_notebook(nb.name, assignment, student)
            dnb.late_submission_penalty = nb.late_submission_penalty
            for g in nb.grades:
                d = dst.find_grade(g.name, nb.name, assignment, student)
                d.auto_score = g.auto_score
                d.needs_manual_grade = d.manual_score is not None or d.auto_score is None
            for cm in nb.comments:
                dst.find_comment(cm.name, nb.name, assignment, student).auto_comment = cm.auto_comment
        dst.db.commit()


def _publish(course: Course, private: Path | None, assignment: str, student: str) -> None:
    """Replace ``autograded/<student>/<assignment>`` (its existence marks the student as graded)."""
    final = course.path("autograded", assignment, student)
    staged = final.with_name(f".{assignment}.staged")
    shutil.rmtree(staged, ignore_errors=True)
    source = private / "autograded" / student / assignment if private else None
    if source is not None and source.is_dir():
        shutil.copytree(source, staged)
    else:
        staged.mkdir(parents=True)
    shutil.rmtree(final, ignore_errors=True)
    staged.rename(final)


def _summarize(gb: Gradebook, outcome: Outcome) -> None:
    sub = gb.find_submission(outcome.assignment, outcome.student)
    outcome.score, outcome.max_score = sub.score, sub.max_score
    outcome.manual = sum(g.max_score for nb in sub.notebooks for g in nb.grades if g.needs_manual_grade)


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
    running: _Running = dataclasses.field(default_factory=_Running)

    def log(self, assignment: str, student: str) -> Path:
        folder = self.course.root / "logs" / assignment
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{student}.log"

    def run(self, assignment: str, student: str) -> tuple[Outcome, Path | None]:
        """Grade one student in a private course copy; return the outcome and the copy (None: all zeros)."""
        start, log = time.monotonic(), self.log(assignment, student)
        log.write_text(f"{time.strftime('%Y-%m-%d %H:%M:%S')} grading {assignment} for {student}\n")
        private = self.root / assignment / student
        outcome = Outcome(assignment, student)
        outcome.notes = _prepare(self.course, assignment, student, private, self.template,
                                 self.released[assignment], log)
        if not any(private.joinpath("submitted", student, assignment).glob("*.ipynb")):
            private = None
        elif failure := _run_worker(private, assignment, student, self.overrides, self.limits, self.root, log,
                                    self.running):
            outcome.notes.append(failure + ": graded 0")
            private = None
        else:
            outcome.notes += _notes_from_notebooks(private / "autograded" / student / assignment)
        outcome.seconds = time.monotonic() - start
        return outcome, private

    def finish(self, outcome: Outcome, private: Path | None) -> Outcome:
        assignment, student = outcome.assignment, outcome.student
        with self.course.gradebook() as gb:
            _merge(gb, private, assignment, student)
            _publish(self.course, private, assignment, student)
            _summarize(gb, outcome)
        _log(self.log(assignment, student), outcome.line() + f" [{outcome.seconds:.1f} s]")
        shutil.rmtree(self.root / assignment / student, ignore_errors=True)
        return outcome
