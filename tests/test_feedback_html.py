"""Feedback pages run none of a student's HTML or JavaScript (autograder.sanitize), yet still show the
autograder's results table and the student's images.

A student's notebook carries one payload of each kind (a ``<script>`` in a written answer, an
``onerror=`` handler, ``javascript:`` links, an ``<iframe>``, SVG with script, ``text/html``,
``text/markdown`` and ``application/javascript`` outputs, widget state, and an error message that
the results table quotes); each payload calls a function named ``xss_<n>``. The page is made by the
``feedback`` verb and by plain ``nbgrader generate_feedback``, both from a gradebook entry made here
(no kernel runs). nbconvert's template has ``<script>`` tags of its own (MathJax), so the checks are
about the payloads: no tag, attribute or URL of theirs survives; their text may stay, as text.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_output, new_raw_cell
from sqlalchemy.exc import SAWarning

from autograder.feedback import feedback, sanitized_steps
from autograder.sanitize import SanitizeFeedback

STUDENT = "mallory"
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
WRITTEN = "\n\n".join([
    "My answer: **the loss is convex**.", "<script>xss_1()</script>", '<img src="x" onerror="xss_2()">',
    "[see here](javascript:xss_3())", '<a href="javascript:xss_4()">or here</a>',
    '<iframe src="https://evil.example/xss_5"></iframe>', "<svg><script>xss_6()</script></svg>",
    '<p onmouseover="xss_7()">hover</p>', "<javascript:xss_8()>", "![pic](javascript:xss_21())"])
HTML_OUTPUT = ('<b>table</b><script>xss_9()</script><img src=x onerror=xss_10()>'
               '<iframe srcdoc="<script>xss_11()</script>"></iframe><a href="JaVaScRiPt:xss_12()">x</a>')
SVG_OUTPUT = '<svg xmlns="http://www.w3.org/2000/svg" onload="xss_13()"><script>xss_14()</script></svg>'
ERROR_MESSAGE = '<script>xss_15()</script><img src=x onerror="xss_16()">'
WIDGETS = {"application/vnd.jupyter.widget-state+json": {"version_major": 2, "version_minor": 0, "state": {
    "w": {"model_name": "HTMLModel", "state": {"value": '<img src=x onerror="xss_17()">'}}}}}


def display(data: dict):
    return new_output("display_data", data=data)


def hostile(released: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The released notebook as a student hands it back, autograded, with every payload in it."""
    nb = nbformat.from_dict(released)
    test = next(c for c in nb.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")
                and not c.metadata["nbgrader"].get("solution"))
    test.outputs = [new_output("error", ename="AssertionError", evalue=ERROR_MESSAGE, traceback=[])]
    nb.cells += [
        new_markdown_cell(WRITTEN),
        new_code_cell("plot()", outputs=[display({"image/png": PNG, "text/plain": "<Figure>"})]),
        new_code_cell("show()", outputs=[
            display({"text/html": HTML_OUTPUT, "text/plain": "table"}),
            display({"application/javascript": "xss_18()"}),
            display({"image/svg+xml": SVG_OUTPUT}),
            display({"text/markdown": "[md](javascript:xss_19())"}),
            display({"application/vnd.jupyter.widget-view+json": {"model_id": "w", "version_major": 2}})]),
        new_raw_cell("<script>xss_20()</script>", metadata={"format": "text/html"})]
    nb.metadata["widgets"] = WIDGETS
    return nb


@pytest.fixture(scope="module")
def graded(course, tmp_path_factory):
    """A course of this module's own with one autograded student, the hostile notebook: its
    gradebook holds the submission (all scores 0), as autograde would have left it."""
    mine = course.derived(tmp_path_factory.mktemp("feedback") / "course")
    for folder in ("source", "release"):
        shutil.copytree(course.root / folder, mine.root / folder)
    shutil.copy2(course.root / "gradebook.db", mine.root / "gradebook.db")
    a = mine.assignments()[0]
    notebook = mine.notebooks(a)[0]
    with mine.gradebook() as gb, warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)             # nbgrader's autoflush noise (see course.py)
        gb.update_or_create_student(STUDENT)
        gb.add_submission(a, STUDENT)
    target = mine.path("autograded", a, STUDENT) / f"{notebook}.ipynb"
    target.parent.mkdir(parents=True)
    released = nbformat.read(mine.path("release", a) / f"{notebook}.ipynb", as_version=4)
    nbformat.write(hostile(released), target)
    return mine, a, notebook


def assert_safe(html: str) -> None:
    """No payload's tag, handler or URL is in ``html``; the table and the image are."""
    for script in re.findall(r"<script\b[^>]*>(.*?)</script>", html, re.DOTALL | re.IGNORECASE):
        assert "xss_" not in script, script[:200]
    for tag in re.findall(r"<[a-zA-Z][^>]*>", html):          # every tag of the page
        assert "xss_" not in tag and "javascript:" not in tag.lower(), tag
        assert not re.search(r"\son\w+\s*=", tag), tag
    lowered = html.lower()
    for needle in ("<iframe", "<svg", "srcdoc", "xss_11", "xss_13", "xss_14", "xss_17", "xss_18",
                   "application/vnd.jupyter.widget"):             # gone entirely
        assert needle not in lowered, needle
    assert "<a>see here</a>" in html and "<a>or here</a>" in html   # the links, without their URL
    assert re.search(r"<table>\s*<thead>\s*<tr>\s*<th>test</th>\s*<th>result</th>", html), "results table"
    assert "<td>fail</td>" in html
    assert f'src="data:image/png;base64,{PNG}"' in html
    assert "<strong>the loss is convex</strong>" in html     # the written answer still reads as markdown
    assert "<b>table</b>" in html                             # harmless HTML output stays


def test_feedback_verb_neutralises_student_html(graded):
    course, a, notebook = graded
    result = feedback(course, a, [STUDENT])
    assert [p.name for p in result.files] == [f"{notebook}.html"]
    assert_safe(result.files[0].read_text())


@pytest.mark.skipif(not Path(sys.executable).with_name("nbgrader").exists(), reason="no nbgrader command")
def test_plain_nbgrader_generate_feedback_neutralises_student_html(graded):
    """nbgrader_config.py's GenerateFeedback.preprocessors: SanitizeFeedback after HideTests."""
    course, a, notebook = graded
    page = course.path("feedback", a, STUDENT) / f"{notebook}.html"
    page.unlink(missing_ok=True)
    run = subprocess.run([str(Path(sys.executable).with_name("nbgrader")), "generate_feedback", a,
                          "--student", STUDENT, "--force"], cwd=course.root, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert_safe(page.read_text())


def test_the_verb_runs_the_sanitizer_once_and_last(graded, tmp_path):
    course, _, _ = graded
    steps = sanitized_steps(course)
    assert steps[-1] is SanitizeFeedback and steps.count(SanitizeFeedback) == 1
    assert [s.__name__ for s in steps[:2]] == ["GetGrades", "HideTests"]
    early = course.derived(tmp_path / "early")                 # a configuration that runs it first
    config = early.root / "nbgrader_config.py"
    config.write_text(config.read_text() + "c.GenerateFeedback.preprocessors = "
                      "['autograder.sanitize.SanitizeFeedback', 'autograder.feedback.HideTests']\n")
    assert [s.__name__ for s in sanitized_steps(early)] == ["HideTests", "SanitizeFeedback"]


@pytest.mark.parametrize("markdown, shown", [
    ("| a | b |\n|---|---|\n| `x` | 1 < 2 |", "<td><code>x</code></td>"),
    ("# Title", '<h1 id="Title">Title<a class="anchor-link" href="#Title">'),
    ("$x < y$ and\n\n$$\\sum_i x_i$$", "$x &lt; y$"),
    ("```\n<script>\n\n[x](javascript:f())\n```", "<pre><code>&lt;script&gt;&#10;&#10;[x](javascript:f())"),
    ("![pasted](attachment:missing.png) ![web](https://example.org/a.png)",
     '<img alt="pasted"> <img src="https://example.org/a.png" alt="web">'),
])
def test_markdown_is_rendered_then_cleaned_and_renders_to_itself(markdown, shown):
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    clean = SanitizeFeedback().sanitize_markdown(markdown)
    assert shown in clean and "\n" not in clean
    assert markdown2html_mistune(clean).strip() == clean      # the template's rendering keeps it as it is
