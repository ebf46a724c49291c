"""The nbgrader course the verbs work on: its folders, its configuration, its gradebook.

By default the course root is this package's folder (``autograder/``); every verb
takes ``--course PATH`` for another one (a course copy, a test fixture), which must
hold a ``nbgrader_config.py`` and ``source/<assignment>/``.

Example
-------
>>> course = Course()                                  # doctest: +SKIP
>>> course.assignments()                               # doctest: +SKIP
['hw1', 'hw2']
>>> with course.gradebook() as gb:                     # doctest: +SKIP
...     print([s.id for s in gb.students])
"""
from __future__ import annotations

import dataclasses
import logging
import shutil
import warnings
from pathlib import Path

from nbgrader.api import Gradebook
from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from sqlalchemy.exc import SAWarning
from traitlets.config import Config, PyFileConfigLoader

# Creating a submission in nbgrader's gradebook (autograde, and the grade verb's merge) makes
# SQLAlchemy 2 warn once per submission and once per notebook, e.g. "Object of type
# <SubmittedAssignment> not in session, add operation along 'Student.submissions' will not proceed"
# (its autoflush runs while nbgrader builds the objects, which it adds right after): noise for a
# TA. Only that warning, and only from nbgrader, is ignored; every other warning stays as it was.
warnings.filterwarnings("ignore", message=r"Object of type <\w+> not in session, \w+ operation along ",
                        category=SAWarning, module=r"nbgrader\.")
# Assignments go out through notebooks/ and come back through `collect`, not nbgrader's
# exchange folder, whose absence nbgrader's API reports as CRITICAL on every verb.
logging.getLogger("traitlets").addFilter(
    lambda record: "Unwritable directory, please contact your instructor" not in record.getMessage())

PACKAGE_ROOT = Path(__file__).resolve().parent


@dataclasses.dataclass(frozen=True)
class Course:
    """An nbgrader course root and the paths and objects the verbs need."""

    root: Path = PACKAGE_ROOT

    def __post_init__(self):
        object.__setattr__(self, "root", Path(self.root).resolve())
        if not (self.root / "nbgrader_config.py").is_file():
            raise ValueError(f"course must be an nbgrader course root with nbgrader_config.py, "
                             f"got {self.root}")

    def config(self, **overrides) -> Config:
        """The course's nbgrader configuration, rooted at :attr:`root`; ``overrides`` as
        ``{"Execute.timeout": 10}``."""
        cfg = PyFileConfigLoader("nbgrader_config.py", path=str(self.root)).load_config()
        cfg.CourseDirectory.root = str(self.root)
        for key, value in overrides.items():
            section, name = key.rsplit(".", 1)
            cfg[section][name] = value
        return cfg

    def api(self, **overrides) -> NbGraderAPI:
        cfg = self.config(**overrides)
        return NbGraderAPI(coursedir=CourseDirectory(config=cfg), config=cfg)

    def gradebook(self) -> Gradebook:
        return Gradebook(f"sqlite:///{self.root / 'gradebook.db'}", self.config().CourseDirectory.course_id)

    def path(self, step: str, assignment: str, student: str | None = None) -> Path:
        """``<root>/<step>/[<student>/]<assignment>``; step is source, release, submitted, autograded..."""
        return self.root / step / student / assignment if student else self.root / step / assignment

    def assignments(self) -> list[str]:
        return sorted(p.name for p in (self.root / "source").iterdir() if p.is_dir())

    def notebooks(self, assignment: str) -> list[str]:
        """The notebook names (without .ipynb) of an assignment, from its source folder."""
        return sorted(p.stem for p in self.path("source", assignment).glob("*.ipynb"))

    def students(self, assignment: str, step: str = "submitted") -> list[str]:
        """Students with a folder for ``assignment`` under ``step`` (submitted by default)."""
        base = self.root / step
        if not base.is_dir():
            return []
        return sorted(p.parent.name for p in base.glob(f"*/{assignment}") if p.is_dir())

    def derived(self, root: Path) -> "Course":
        """A new course at ``root`` configured like this one (its nbgrader_config.py loads ours)."""
        root = Path(root)
        root.mkdir(parents=True, exist_ok=True)
        (root / "nbgrader_config.py").write_text(
            "c = get_config()  # noqa: F821\n"
            f"load_subconfig({str(self.root / 'nbgrader_config.py')!r})  # noqa: F821\n")
        return Course(root)

    def copy(self, root: Path) -> "Course":
        """A new course at ``root`` with this one's sources and configuration, nothing else
        (no release, gradebook or submission): for tests, benchmarks, trying things out."""
        course = self.derived(root)
        shutil.copytree(self.root / "source", course.root / "source",
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        return course

    def check_assignments(self, assignments: list[str] | None) -> list[str]:
        known = self.assignments()
        for name in assignments or []:
            if name not in known:
                raise ValueError(f"assignment must be one of {known}, got {name!r}")
        return list(assignments or known)
