"""``python -m autograder <verb>``: the TA's commands, on top of nbgrader (see README.md)."""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from .course import Course


def _release(course, args):
    from .release import release
    target = None if args.no_sync else Path(args.notebooks) if args.notebooks else ...
    changes = release(course, args.assignments or None, target=target)
    print("\n".join(changes) or "notebooks/ already matches the release")


def _collect(course, args):
    from .collect import collect
    report = collect(course, Path(args.source), args.assignment, dry_run=args.dry_run)
    print("\n".join(report.placed))
    print(f"{len(report.placed)} files placed; {len(report.problems)} not placed"
          + "".join(f"\n  {line}" for line in report.problems))


def _repair(course, args):
    from .repair import repair_submissions
    for key, changes in repair_submissions(course, args.assignment, args.student, write=args.write).items():
        print(f"{key}: " + ("intact" if not changes else f"{len(changes)} changes"
                            + "".join(f"\n  {line}" for line in changes)))


def _grade(course, args):
    from .grade import Limits, grade
    limits = Limits(cell_timeout=args.cell_timeout, cpu_seconds=args.cpu_seconds, memory_mb=args.memory_mb,
                    student_timeout=args.student_timeout)
    grade(course, args.assignments or None, args.student, workers=args.workers, force=args.force,
          limits=limits)


def _feedback(course, args):
    from .feedback import bundle, feedback
    for assignment in course.check_assignments(args.assignments or None):
        result = feedback(course, assignment, args.student)
        print(f"{assignment}: {len(result.files)} feedback files under {course.root / 'feedback'}"
              + "".join(f"\n  {line}" for line in result.skipped))
        if args.zip:
            zipped = bundle(course, assignment, Path(args.zip.format(assignment)))
            print(f"{assignment}: bundled into {zipped}")


def _export(course, args):
    from .export import export_csv, grade_table
    output = Path(args.output) if args.output else course.root / "grades.csv"
    print(f"wrote {export_csv(course, output, args.assignments or None)}\n")
    print(grade_table(course, args.assignments or None))


def _report(course, args):
    from .report import exercise_stats, format_report, plot_pass_rates
    rates, failures = exercise_stats(course, args.assignment)
    if not rates:
        sys.exit(f"no graded submission of {args.assignment} yet: run `python -m autograder grade` first")
    print(format_report(rates, failures, top=args.top))
    plot = Path(args.plot or course.root / "reports" / f"{args.assignment}_pass_rates.png")
    plot.parent.mkdir(parents=True, exist_ok=True)
    print(f"\nplot: {plot_pass_rates(rates, plot, f'{args.assignment}: tests passed')}")


def _formgrader(course, args):
    from .formgrader import command
    cmd = command(course, ip=args.ip, port=args.port, open_browser=not args.no_browser, token=args.token)
    sys.exit(subprocess.call(cmd, cwd=course.root))


def _demo(course, args):
    from .demo import demo
    demo(course, workers=args.workers)


def build_parser() -> argparse.ArgumentParser:
    from .grade import Limits
    from .sandbox import LIMITS

    parser = argparse.ArgumentParser(
        prog="python -m autograder", description="Autograde the SSL course with nbgrader: release, collect, "
        "repair, grade, feedback, export, report. Each verb has --help.")
    parser.add_argument("--course", default=None,
                        help="nbgrader course root (default: the autograder/ folder)")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    def verb(name, func, help):
        p = verbs.add_parser(name, help=help, description=help)
        p.set_defaults(func=func)
        return p

    p = verb("release", _release,
             "nbgrader generate_assignment, then copy the student versions into notebooks/")
    p.add_argument("assignments", nargs="*", help="default: every assignment in source/")
    p.add_argument("--notebooks", help="where the student versions go (default: the repository's "
                   "notebooks/ for this course, none for another --course)")
    p.add_argument("--no-sync", action="store_true", help="only generate the release")

    p = verb("collect", _collect, "import a folder or zip of submissions (<student>_<name>.ipynb or "
             "<student>/<assignment>/<notebook>.ipynb) into submitted/, reporting what it could not place")
    p.add_argument("source", help="folder or .zip, as downloaded from an LMS or Colab")
    p.add_argument("assignment")
    p.add_argument("--dry-run", action="store_true", help="report only, copy nothing")

    p = verb("repair", _repair, "restore nbgrader metadata and cell types of submissions against the "
             "release (grade id, then content); report every change (grading does this by itself)")
    p.add_argument("assignment")
    p.add_argument("--student", action="append", help="only this student (repeatable)")
    p.add_argument("--write", action="store_true",
                   help="replace the submitted notebooks (originals kept in repair_originals/)")

    p = verb("grade", _grade, "autograde submissions in parallel, each student in its own sandboxed "
             "process; skips graded students unless --force; one log per student in logs/")
    p.add_argument("assignments", nargs="*", help="default: every assignment")
    p.add_argument("--student", action="append", help="only this student (repeatable)")
    p.add_argument("--workers", type=int, help="parallel students (default: one per core)")
    p.add_argument("--force", action="store_true", help="grade again students already graded")
    p.add_argument("--cell-timeout", type=int, help="seconds per cell (default: nbgrader_config.py, 60)")
    (cpu_seconds, _), (memory_mb, _) = LIMITS["cpu_seconds"], LIMITS["memory_mb"]
    p.add_argument("--cpu-seconds", type=int,
                   help=f"CPU seconds per kernel (default: nbgrader_config.py, else {cpu_seconds})")
    p.add_argument("--memory-mb", type=int,
                   help=f"memory per kernel in MiB (default: nbgrader_config.py, else {memory_mb})")
    p.add_argument("--student-timeout", type=int, default=Limits.student_timeout,
                   help="wall-clock seconds per student")

    p = verb("feedback", _feedback, "HTML feedback per student: each test's pass/fail and message, "
             "never hidden test code")
    p.add_argument("assignments", nargs="*")
    p.add_argument("--student", action="append", help="only this student (repeatable)")
    p.add_argument("--zip", help="also bundle the files for an LMS, e.g. feedback_{}.zip ({} = assignment)")

    p = verb("export", _export, "grades to CSV (nbgrader's columns) and print the grade table")
    p.add_argument("assignments", nargs="*")
    p.add_argument("--output", help="CSV path (default: <course>/grades.csv)")

    p = verb("report", _report, "per-exercise pass rates and the most common failure messages")
    p.add_argument("assignment")
    p.add_argument("--plot", help="bar chart path (default: <course>/reports/<assignment>_pass_rates.png)")
    p.add_argument("--top", type=int, default=3, help="failure messages per test")

    p = verb("formgrader", _formgrader, "open nbgrader's formgrader (JupyterLab) on this course")
    p.add_argument("--ip", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8888)
    p.add_argument("--token", help="server token (default: a random one, printed by Jupyter)")
    p.add_argument("--no-browser", action="store_true")

    p = verb("demo", _demo, "release, sample submissions, grade, feedback, export: prints the grade table")
    p.add_argument("--workers", type=int, help="parallel students (default: one per core)")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    course = Course(args.course) if args.course else Course()
    try:
        args.func(course, args)
    except (ValueError, RuntimeError) as exc:
        sys.exit(f"autograder {args.verb}: {exc}")


if __name__ == "__main__":
    main()
