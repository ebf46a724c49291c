"""``formgrader``: nbgrader's formgrader (in JupyterLab) on this course.

The server runs in the course root, so the formgrader reads ``nbgrader_config.py``
and the gradebook there; it opens on ``/formgrader``.

Example
-------
>>> subprocess.run(command(Course(), port=8899, open_browser=False))   # doctest: +SKIP
"""
from __future__ import annotations

import os
import sys

from .course import Course


def command(course: Course, ip: str = "127.0.0.1", port: int = 8888, open_browser: bool = True,
            token: str | None = None) -> list[str]:
    """The ``jupyter lab`` command line that serves the formgrader of ``course``."""
    cmd = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={course.root}", f"--ServerApp.ip={ip}",
           f"--ServerApp.port={port}", "--ServerApp.port_retries=0", "--ServerApp.default_url=/formgrader",
           f"--ServerApp.open_browser={open_browser}"]
    if token is not None:
        cmd.append(f"--IdentityProvider.token={token}")
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    return cmd
