"""Supervision: one student's autograde in a worker process of its own, with a wall-clock limit.

:func:`run_worker` starts ``python -m autograder.worker`` in a process session of its
own and waits at most the student's time; past it, the whole session is killed. The
worker's kernels die with it (the sandbox's launchers and kernels have
``PR_SET_PDEATHSIG`` set). :class:`Running` remembers the live workers, so an
interrupted batch leaves none behind.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from .course import PACKAGE_ROOT


class Running:
    """Worker processes alive now, so an interrupted batch leaves none behind."""

    def __init__(self):
        self.lock, self.procs = threading.Lock(), set()

    def kill_all(self) -> None:
        with self.lock:
            for proc in self.procs:
                kill_group(proc.pid)


def kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run_worker(private: Path, assignment: str, student: str, overrides: dict, timeout: int,
               log: Path, running: Running) -> str | None:
    """Autograde in a worker process; return None on success, else why it failed. Its kernels
    die with it (the sandbox's launchers and kernels have PR_SET_PDEATHSIG set)."""
    cmd = [sys.executable, "-m", "autograder.worker", str(private), assignment, student,
           *(f"--set={key}={json.dumps(value)}" for key, value in overrides.items())]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(PACKAGE_ROOT.parent),
                                                                      os.environ.get("PYTHONPATH")]))}
    with open(log, "a") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=private,
                                start_new_session=True)
        with running.lock:
            running.procs.add(proc)
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_group(proc.pid)
            proc.wait()
            return f"stopped after {timeout} s (wall-clock limit per student)"
        finally:
            with running.lock:
                running.procs.discard(proc)
    return None if code == 0 else f"nbgrader autograde failed (exit code {code}; see the log)"


