"""Autograding throughput: seconds per submission and submissions per hour, at 1 and 2 workers.

For each assignment, ``--per-worker`` copies of the reference submission per worker
are graded in a fresh copy of the course through the real pipeline
(:func:`autograder.grade.grade`: a worker process per student, nbgrader's autograde,
sandboxed kernels in the ``grading`` profile, hidden tests judged out of the kernel).
Besides each notebook's mean run time it prints what the judge cost: its round trips to
the kernel per run and the seconds they took. With ``w``
workers each kernel gets ``cores / w`` threads. Prints the wall time per batch,
seconds per submission, submissions per hour, the speed-up of 2 workers over 1, and
the mean run time of each notebook; figures, never pass/fail.

    python benchmarks/bench_autograde.py                      # hw1 and hw2, about 10 min on 2 cores
    python benchmarks/bench_autograde.py --assignments hw2 --per-worker 1
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import load_line, machine_line, print_table  # noqa: E402

from autograder import samples  # noqa: E402
from autograder.course import Course  # noqa: E402
from autograder.grade import grade  # noqa: E402
from autograder.notebooks import recorded  # noqa: E402
from autograder.release import release  # noqa: E402


def bench(course: Course, assignment: str, reference: dict, workers: int,
          per_worker: int) -> tuple[float, int, dict]:
    """Grade ``workers * per_worker`` copies of the ``reference`` submission (notebook name ->
    notebook); (wall seconds, count, notebook -> (seconds, judge calls, judge seconds))."""
    students = [f"bench-{workers}w-{i}" for i in range(workers * per_worker)]
    for student in students:
        samples.write_submission(course, assignment, student, reference)
    start = time.perf_counter()
    outcomes = grade(course, [assignment], students, workers=workers, force=True, echo=lambda line: None)
    wall = time.perf_counter() - start
    bad = [o.line() for o in outcomes if o.score != o.max_score - o.manual]
    if bad:
        print("warning: the reference lost points:", *bad, sep="\n  ", file=sys.stderr)
    runs: dict[str, list[tuple]] = {}
    for student in students:
        for path in course.path("autograded", assignment, student).glob("*.ipynb"):
            nb = nbformat.read(path, as_version=4)
            judged = recorded(nb, "judge") or {"calls": 0, "seconds": 0.0}
            run = (recorded(nb, "seconds"), judged["calls"], judged["seconds"])
            runs.setdefault(path.stem, []).append(run)
    return wall, len(students), {n: tuple(map(statistics.mean, zip(*v))) for n, v in sorted(runs.items())}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--assignments", nargs="*", help="default: every assignment")
    parser.add_argument("--workers", type=int, nargs="*", default=[1, 2])
    parser.add_argument("--per-worker", type=int, default=2, help="submissions per worker (default 2)")
    args = parser.parse_args(argv)

    print(machine_line())
    rows, notebook_rows = [], []
    with tempfile.TemporaryDirectory() as tmp:
        course = Course().copy(Path(tmp) / "course")
        release(course, target=None)
        for assignment in course.check_assignments(args.assignments):
            per_submission = {}
            reference = {n: samples.reference(course, assignment, n) for n in course.notebooks(assignment)}
            for workers in args.workers:
                wall, count, notebooks = bench(course, assignment, reference, workers, args.per_worker)
                per_submission[workers] = wall / count
                speedup = per_submission[args.workers[0]] / per_submission[workers]
                rows.append([assignment, workers, count, f"{wall:.0f}", f"{wall / count:.1f}",
                             f"{3600 * count / wall:.0f}", f"{speedup:.2f}x"])
                notebook_rows += [[assignment, workers, n, f"{s:.1f}", f"{calls:.0f}", f"{judged:.1f}"]
                                  for n, (s, calls, judged) in notebooks.items()]
                print(f"{assignment}, {workers} workers: {wall:.0f} s for {count} submissions", flush=True)
    print()
    print_table(["assignment", "workers", "submissions", "wall s", "s / submission", "submissions / hour",
                 f"vs {args.workers[0]} worker"], rows)
    print()
    print_table(["assignment", "workers", "notebook", "mean s per run (kernel start included)",
                 "judge calls", "judge s"], notebook_rows)
    print(f"\nafter the run: {load_line()}")


if __name__ == "__main__":
    main()
