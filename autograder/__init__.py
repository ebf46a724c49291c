"""The course's TA tooling on top of nbgrader; this folder is also the nbgrader course root.

``python -m autograder <verb>`` (see ``autograder/README.md``): release, collect,
repair, grade, feedback, export, report, formgrader, demo.
"""
import os
import sys

# nbgrader shells out to `alembic` and the grade verb to `nbgrader`: both live beside
# this interpreter, which need not be on PATH (.venv/bin/python run without activating).
_bin = os.path.dirname(sys.executable)
if _bin not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _bin + os.pathsep + os.environ.get("PATH", "")
