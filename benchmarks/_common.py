"""Helpers shared by the benchmark scripts: timing, peak memory, child runs, summaries, tables.

Benchmarks print figures and ratios, never pass/fail. Each script measures every method
in a fresh child process (so that its peak memory is its own) over a few interleaved
rounds and keeps the best round, which damps the noise of a shared machine (the
command line and runs of such a script: :class:`Driver`); it ends with :func:`summary`
lines that ``benchmarks/run_all.py`` collects into one table.

Example::

    seconds = time_call(lambda: model(x), warmup=2, repeat=5)
    print(machine_line())
    print_table(["method", "items/s"], [["ours", f"{1 / seconds:,.0f}"]])
    summary("throughput", ours=2.0, alternative=1.0, unit="items/s", target=">= 2x")
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from typing import Callable, Sequence

SUMMARY_TAG = "@summary "


def time_call(fn: Callable[[], object], *, warmup: int = 1, repeat: int = 5,
              sync: Callable[[], object] | None = None) -> float:
    """Median wall-clock seconds of one ``fn()`` call over ``repeat`` calls.

    ``warmup`` untimed calls come first; ``sync`` (e.g. ``torch.cuda.synchronize``) runs
    after each call, inside the timing, so asynchronous work is counted.
    """
    if repeat < 1 or warmup < 0:
        raise ValueError(f"repeat must be >= 1 and warmup >= 0, got {repeat} and {warmup}")
    for _ in range(warmup):
        fn()
        if sync is not None:
            sync()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        if sync is not None:
            sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


class PeakRSS:
    """Peak resident memory of this process and all its children (e.g. DataLoader
    workers), summed, sampled every ``interval`` seconds by a thread with ``psutil``.

    Use as a context manager; ``.peak_mib`` holds the peak in MiB (at least this
    process's own peak from ``getrusage``, which catches spikes between samples)::

        with PeakRSS() as rss:
            run()
        print(rss.peak_mib)
    """

    def __init__(self, interval: float = 0.05):
        import psutil

        self._process, self._interval = psutil.Process(), interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self.peak_mib = 0.0

    def _tree_mib(self) -> float:
        import psutil

        total = 0
        for p in [self._process, *self._process.children(recursive=True)]:
            try:
                total += p.memory_info().rss
            except psutil.Error:  # a child that just exited
                pass
        return total / 2**20

    def _sample(self) -> None:
        while not self._stop.wait(self._interval):
            self.peak_mib = max(self.peak_mib, self._tree_mib())

    def __enter__(self) -> "PeakRSS":
        self.peak_mib = self._tree_mib()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_mib = max(self.peak_mib, self._tree_mib(), _own_peak_mib())


def _own_peak_mib() -> float:
    try:
        import resource
    except ImportError:  # Windows: the sampled figure stands
        return 0.0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes on macOS, KiB on Linux


@contextlib.contextmanager
def torch_threads(n: int):
    """Run the block with ``n`` torch threads, then restore the previous count."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def run_child(script: str, args: Sequence[str], *, timeout: float | None = None) -> dict:
    """Run ``python script *args`` in a fresh process; return the JSON object it prints
    on its last line (its stderr passes through)."""
    cmd = [sys.executable, script, *args]
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True, timeout=timeout).stdout
    return json.loads(out.strip().splitlines()[-1])


def best_of(rounds: int, methods: Sequence[str], measure: Callable[[str], dict],
            key: str) -> dict[str, dict]:
    """Measure every method once per round, interleaved; keep each method's result with
    the largest ``result[key]``. Progress goes to stderr."""
    best: dict[str, dict] = {}
    for r in range(rounds):
        for method in methods:
            result = measure(method)
            print(f"  round {r + 1}/{rounds}, {method}: {key} {result[key]:,.4g}", file=sys.stderr,
                  flush=True)
            if method not in best or result[key] > best[method][key]:
                best[method] = result
    return best


class Driver:
    """The command line and the runs of a script that measures each of ``methods`` in its
    own process.

    Its ``parser`` has ``--quick`` and ``--smoke`` (with the script's help texts),
    ``--rounds`` (interleaved rounds: default 3, quick 2, smoke 1) and the hidden
    ``--method`` that a child process gets; the script adds its own flags::

        driver = Driver(__file__, __doc__, METHODS, quick="...", smoke="...")
        driver.parser.add_argument("--steps", type=int, default=10)
        args = driver.parse(argv)
        if args.method:  # this is the child process
            return driver.child(threads, lambda: measure(args.method, args.steps))
        best = driver.best(args, list(METHODS), "items_per_s",
                           lambda m: measure(m, args.steps), lambda m: ["--steps", str(args.steps)])
    """

    def __init__(self, script: str, doc: str, methods: Sequence[str], *, quick: str, smoke: str):
        self.script = os.path.abspath(script)
        self.parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
        self.parser.add_argument("--quick", action="store_true", help=quick)
        self.parser.add_argument("--smoke", action="store_true", help=smoke)
        self.parser.add_argument("--rounds", type=int, default=None,
                                 help="interleaved rounds (default 3, quick 2)")
        self.parser.add_argument("--method", choices=methods, help=argparse.SUPPRESS)  # child process

    def parse(self, argv: Sequence[str] | None) -> argparse.Namespace:
        """The parsed flags, ``rounds`` resolved (1 under ``--smoke``)."""
        args = self.parser.parse_args(argv)
        args.rounds = 1 if args.smoke else args.rounds or (2 if args.quick else 3)
        return args

    @staticmethod
    def child(threads: int, measure: Callable[[], dict]) -> dict:
        """The child process's part: ``measure()`` on ``threads`` torch threads, printed as
        JSON on the last line (what :func:`run_child` reads); returns ``{}``."""
        import torch

        torch.set_num_threads(threads)
        print(json.dumps(measure()))
        return {}

    def best(self, args: argparse.Namespace, methods: Sequence[str], key: str,
             measure: Callable[[str], dict], child_args: Callable[[str], list[str]]) -> dict[str, dict]:
        """:func:`best_of` ``args.rounds`` rounds of ``methods``: each measured in a fresh
        ``python script --method M *child_args(M)``, or under ``--smoke`` by ``measure(M)``
        in this process on one torch thread."""
        def one(method: str) -> dict:
            if args.smoke:
                with torch_threads(1):
                    return measure(method)
            return run_child(self.script, ["--method", method, *child_args(method)])

        return best_of(args.rounds, methods, one, key)

    @staticmethod
    def rounds_note(args: argparse.Namespace) -> str:
        """'best of N interleaved round(s), each method in its own process', for a header line."""
        return (f"best of {args.rounds} interleaved round(s), each method in its own process"
                f"{' (smoke: in this process)' if args.smoke else ''}")


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_line() -> str:
    """The 1, 5 and 15 minute load averages, or '' where the OS has none."""
    if not hasattr(os, "getloadavg"):
        return ""
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def machine_line() -> str:
    """One line describing the machine and the software: CPU, threads, torch, GPU, load."""
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no CUDA"
    return (f"{_cpu_name()} ({os.cpu_count()} logical CPUs); {platform.system()} "
            f"{platform.release()}; Python {platform.python_version()}; torch {torch.__version__} "
            f"({torch.get_num_threads()} threads); {gpu}; {load_line()}; "
            f"{time.strftime('%Y-%m-%d %H:%M %Z')}")


def summary(figure: str, *, ours: float | None, alternative: float | None, unit: str,
            target: str, ratio: float | None = None, higher_is_better: bool = True) -> None:
    """Print one summary row for ``run_all.py`` (a tagged JSON line).

    ``ratio`` defaults to ours / alternative (alternative / ours if not
    ``higher_is_better``, e.g. for seconds); figures that do not apply are None.
    """
    if ratio is None and ours and alternative:
        ratio = ours / alternative if higher_is_better else alternative / ours
    row = {"figure": figure, "ours": ours, "alternative": alternative, "unit": unit,
           "ratio": ratio, "target": target}
    print(SUMMARY_TAG + json.dumps(row), flush=True)


def parse_summaries(text: str) -> list[dict]:
    """The rows printed by :func:`summary` in ``text``."""
    return [json.loads(line[len(SUMMARY_TAG):]) for line in text.splitlines()
            if line.startswith(SUMMARY_TAG)]


def fmt(value: float | None, digits: int = 3) -> str:
    """A number with ``digits`` significant digits and thousands separators; '-' for None."""
    if value is None:
        return "-"
    if abs(value) >= 10 ** (digits - 1):
        return f"{value:,.0f}"
    return f"{value:.{digits}g}"


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table; numbers right-aligned, everything else left-aligned."""
    cells = [[str(c) for c in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    numeric = [all(_is_number(row[i]) for row in cells[1:]) for i in range(len(headers))]

    def line(row):
        return "| " + " | ".join(c.rjust(w) if num else c.ljust(w)
                                 for c, w, num in zip(row, widths, numeric)) + " |"

    rule = "| " + " | ".join("-" * (w - 1) + (":" if num else "-")
                             for w, num in zip(widths, numeric)) + " |"
    return "\n".join([line(cells[0]), rule, *(line(row) for row in cells[1:])])


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", "").rstrip("x%"))
    except ValueError:
        return text == "-"
    return True


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Print :func:`markdown_table`."""
    print(markdown_table(headers, rows), flush=True)
