"""Run the benchmarks and print one table: figure, ours, alternative, ratio, target.

What runs (each script in its own process, its output shown as it comes):

- by default (``make bench``): the CPU benchmarks in their quick form, about 10 minutes
  on 2 busy cores: ``bench_augment.py --quick``, ``bench_train.py --quick`` and
  ``bench_gpu_epoch.py`` (which measures only with CUDA and otherwise says so);
- with ``--all``: also every other ``benchmarks/bench_*.py`` and ``label_efficiency.py``
  if present, each with its own defaults (these take 10 minutes or more each);
- with names (``run_all.py bench_train.py``): just those, with the arguments above.

The ratio is how many times better ours is: faster, or smaller for memory and seconds.
The hook: a script adds rows to the table by printing :func:`_common.summary` lines; a
script that prints none is listed with its wall time and exit status. ``--budget``
seconds bound the whole run: a script still running when it is spent is stopped and
marked so. Figures, never pass/fail: the exit status is 0 unless a script failed.

    python benchmarks/run_all.py                 # what make bench runs
    python benchmarks/run_all.py --all --budget 3600
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import fmt, load_line, machine_line, parse_summaries, print_table  # noqa: E402

HERE = Path(__file__).resolve().parent
# the default run and its arguments: quick CPU figures
DEFAULT = {"bench_augment.py": ["--quick"], "bench_train.py": ["--quick"], "bench_gpu_epoch.py": []}


def scripts(names: list[str], everything: bool) -> dict[str, list[str]]:
    """The scripts to run, in order, with their arguments."""
    if names:
        missing = [n for n in names if not (HERE / n).is_file()]
        if missing:
            raise ValueError(f"names must be scripts in {HERE}, got {missing}")
        return {n: DEFAULT.get(n, []) for n in names}
    chosen = dict(DEFAULT)
    if everything:
        extra = sorted(p.name for p in HERE.glob("bench_*.py")) + ["label_efficiency.py"]
        chosen.update({n: [] for n in extra if n not in chosen and (HERE / n).is_file()})
    return chosen


def run(script: str, args: list[str], timeout: float) -> tuple[str, int | str, float]:
    """Run one script, echoing its output; (output, exit status or 'timed out', seconds)."""
    print(f"\n=== {script} {' '.join(args)}", flush=True)
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, str(HERE / script), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, bufsize=1)
    timer = threading.Timer(timeout, proc.kill)  # the budget, even while it prints nothing
    timer.start()
    lines = []
    for line in proc.stdout:
        print(line, end="", flush=True)
        lines.append(line)
    status = proc.wait()
    timed_out = not timer.is_alive() and status != 0
    timer.cancel()
    return "".join(lines), "timed out" if timed_out else status, time.perf_counter() - start


def table_rows(script: str, output: str, status, seconds: float) -> list[list[str]]:
    """The table rows of one script: its summary lines, or one line saying how it ended."""
    rows = [[r["figure"], r["unit"], fmt(r["ours"]), fmt(r["alternative"]),
             "-" if r["ratio"] is None else f"{r['ratio']:.1f}x", r["target"]]
            for r in parse_summaries(output)]
    if status != 0 or not rows:
        how = "no summary rows" if status == 0 else f"exit status {status}"
        rows.append(_note(f"{script}: {how} ({seconds:.0f} s), see its output above"))
    return rows


def _note(text: str) -> list[str]:
    return [text, "-", "-", "-", "-", "-"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="scripts to run (default: the quick CPU set)")
    parser.add_argument("--all", action="store_true",
                        help="also every other bench_*.py and label_efficiency.py")
    parser.add_argument("--budget", type=float, default=600.0, help="seconds for the whole run (default 600)")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    header = machine_line()
    print(header, flush=True)
    rows, failed = [], False
    for script, script_args in scripts(args.names, args.all).items():
        left = args.budget - (time.perf_counter() - start)
        if left <= 0:
            rows.append(_note(f"{script}: not run, the {args.budget:.0f} s budget is spent"))
            continue
        output, status, seconds = run(script, script_args, left)
        failed |= status != 0
        rows.extend(table_rows(script, output, status, seconds))
    print(f"\n=== summary ({time.perf_counter() - start:.0f} s)\n{header}\nat the end: {load_line()}\n")
    print_table(["figure", "unit", "ours", "alternative", "ratio", "target"], rows)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
