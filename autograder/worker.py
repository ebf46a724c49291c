"""One student's autograde, in a process of its own (started by :mod:`autograder.grade`).

``python -m autograder.worker COURSE ASSIGNMENT STUDENT [--set Section.trait=JSON ...]``
runs nbgrader's autograde through its Python API on a private course copy, prints
nbgrader's log and exits 0 on success. Unlike the ``nbgrader`` command, it fails
when the course configuration cannot be loaded (nbgrader would go on without it,
i.e. without the sandbox).
"""
from __future__ import annotations

import argparse
import json
import sys
from .course import Course


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.worker", description=__doc__.split("\n\n")[0])
    parser.add_argument("course")
    parser.add_argument("assignment")
    parser.add_argument("student")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.TRAIT=JSON",
                        help="configuration override, e.g. Execute.timeout=10")
    args = parser.parse_args(argv)
    overrides = {key: json.loads(value) for key, value in (item.split("=", 1) for item in args.set)}
    api = Course(args.course).api(**overrides)
    result = api.autograde(args.assignment, args.student, force=True, create=True)
    print(result.get("log", ""))
    if not result["success"]:
        print(result.get("error", ""), file=sys.stderr)
    return 0 if result["success"] else 1


if __name__ == "__main__":
    sys.exit(main())
