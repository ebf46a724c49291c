"""nbgrader configuration of the SSL course; this folder is the course root.

A TA's plain ``nbgrader generate_assignment hw1`` / ``nbgrader autograde hw1`` /
``nbgrader generate_feedback hw1`` run here gets the same pipeline as
``python -m autograder``: submissions repaired against the release, every kernel in
the sandbox with limits, hidden tests judged outside the student's kernel, the ``grading``
profile, and feedback without hidden tests. ``python -m autograder grade`` adds parallel workers,
a private course copy per student and resumable runs.
"""
import os
import sys

_REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # holds `autograder`
if _REPOSITORY not in sys.path:  # nbgrader runs this file again for every config load
    sys.path.insert(0, _REPOSITORY)

from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor  # noqa: E402
from nbgrader.preprocessors import (  # noqa: E402
    AssignLatePenalties, CheckCellMetadata, ClearOutput, DeduplicateIds, GetGrades, IgnorePattern,
    LimitOutput, OverwriteCells, OverwriteKernelspec, SaveAutoGrades)

from autograder.execute import JudgedExecute  # noqa: E402
from autograder.feedback import HideTests  # noqa: E402
from autograder.repair import RepairCells  # noqa: E402
from autograder.sanitize import SanitizeFeedback  # noqa: E402

c = get_config()  # noqa: F821 (provided by traitlets)

c.CourseDirectory.course_id = "ssl-course"

# Kernel: the course's python3 kernel, each cell at most 60 s (a notebook in the
# grading profile runs in 60 s on 2 cores), then interrupted. After a kernel death or
# hang the notebook re-runs without that cell, at most JudgedExecute.max_restarts times.
c.Execute.kernel_name = "python3"
c.Execute.timeout = 60

# The grading profile. Sandbox limits per kernel: SandboxKernelManager.cpu_seconds,
# memory_mb, file_mb, tmp_mb and processes, their defaults in autograder/sandbox.py
# (LIMITS) and the README's "Limits"; set one here to change it for the course.
c.SandboxKernelManager.kernel_env = {"SSL_COURSE_PROFILE": "grading", "MPLBACKEND": "Agg"}

c.Autograde.sanitize_preprocessors = [
    ClearOutput, RepairCells, DeduplicateIds, OverwriteKernelspec, OverwriteCells, CheckCellMetadata]
c.Autograde.autograde_preprocessors = [
    JudgedExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput, SaveAutoGrades,
    AssignLatePenalties, CheckCellMetadata]
# SanitizeFeedback last: the results table HideTests writes quotes the students' error messages.
c.GenerateFeedback.preprocessors = [GetGrades, HideTests, CSSHTMLHeaderPreprocessor, SanitizeFeedback]
