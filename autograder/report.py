"""``report``: how the class did on each exercise, and why tests failed.

Pass rates come from the gradebook (a test passes when it earned all its points);
failure messages from the autograded notebooks (``ename: evalue`` of each failing
test cell, the same text students see in their feedback). Both print as tables, and
the pass rates are also drawn as a bar chart.

Example
-------
>>> rates, failures = exercise_stats(Course(), "hw1")      # doctest: +SKIP
>>> print(format_report(rates, failures))                   # doctest: +SKIP
"""
from __future__ import annotations

import collections
from pathlib import Path

import nbformat

from .course import Course
from .notebooks import first_error, grade_id


def exercise_stats(course: Course, assignment: str) -> tuple[dict, dict]:
    """Per autograded test: ``{grade id: (students passing, students graded)}`` and
    ``{grade id: Counter of failure messages}``."""
    rates: dict[str, list[int]] = {}
    with course.gradebook() as gb:
        for sub in gb.assignment_submissions(assignment):
            for nb in sub.notebooks:
                for g in nb.grades:
                    if g.cell_type != "code" or g.auto_score is None:   # written answers: graded by hand
                        continue
                    passed, total = rates.setdefault(g.name, [0, 0])
                    rates[g.name] = [passed + (g.auto_score >= g.max_score), total + 1]
    failures: dict[str, collections.Counter] = {gid: collections.Counter() for gid in rates}
    for path in sorted(course.root.glob(f"autograded/*/{assignment}/*.ipynb")):
        for cell in nbformat.read(str(path), as_version=4).cells:
            if grade_id(cell) in failures and (message := first_error(cell)) is not None:
                failures[grade_id(cell)][message] += 1
    return {k: tuple(v) for k, v in rates.items()}, failures


def format_report(rates, failures, top: int = 3) -> str:
    lines = [f"{'test':<45} {'pass rate':>12}  most common failures"]
    for gid, (passed, total) in rates.items():
        common = "; ".join(f"{msg[:70]} (x{n})" for msg, n in failures[gid].most_common(top)) or "-"
        lines.append(f"{gid:<45} {passed:>4}/{total:<3} {passed / total:>4.0%}  {common}")
    return "\n".join(lines)


def plot_pass_rates(rates, target: Path, title: str = "") -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(rates)
    values = [100 * p / t for p, t in rates.values()]
    fig, ax = plt.subplots(figsize=(7, 0.5 * len(names) + 1.2))
    ax.barh(names, values, color="tab:blue")
    ax.set_xlim(0, 100)
    ax.set_xlabel("students passing (%)")
    ax.invert_yaxis()
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(target, dpi=120)
    plt.close(fig)
    return Path(target)
