"""Hidden tests in text students see: find them, and take them out of cell outputs.

Hidden tests run in the student's kernel, so their lines can reach the outputs: a
warning quotes the line that raised it, a traceback from a later cell quotes the
hidden helper it went through, and a student's function can print its caller's
source (IPython keeps every cell's source in ``linecache``). Feedback therefore
removes every output line that shows a hidden line (:func:`redact`), and the
feedback verb checks the written files once more (:func:`leaked`).

A *hidden line* is a stripped, non-empty line inside ``### BEGIN HIDDEN TESTS`` /
``### END HIDDEN TESTS`` that appears nowhere outside such a block, not even inside
another line (so neither ``import torch`` nor a call the narrative quotes counts).

Example
-------
>>> cells = ["x = 1\\n### BEGIN HIDDEN TESTS\\nassert secret(3) == 9\\n### END HIDDEN TESTS"]
>>> lines = hidden_lines(cells)
>>> sorted(lines)
['assert secret(3) == 9']
>>> redact("ok\\n  assert secret(3) == 9\\n", lines)
'ok\\n[a line of a hidden test was removed]\\n'
"""
from __future__ import annotations

import html
import re
from typing import Iterable

BEGIN, END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
QUOTED = 30          # a hidden line at least this long counts even inside another line
REMOVED = "[a line of a hidden test was removed]"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_GUTTER = re.compile(r"^(?:-*>\s*)?\d+\s")     # IPython's traceback gutter: "---> 12 " or "     13 "


def split_test(source: str) -> tuple[str, str]:
    """A test cell's source as ``(visible, hidden)``: the cell as students see it (the hidden
    region and its markers removed, as nbgrader's release does) and the hidden region's code.

    >>> split_test("assert f(1) == 1\\n### BEGIN HIDDEN TESTS\\nassert f(2) == 4\\n### END HIDDEN TESTS")
    ('assert f(1) == 1', 'assert f(2) == 4')
    """
    visible, hidden, inside = [], [], False
    for line in source.splitlines():
        if BEGIN in line:
            inside = True
        elif END in line:
            inside = False
        else:
            (hidden if inside else visible).append(line)
    return "\n".join(visible), "\n".join(hidden)


def hidden_lines(sources: Iterable[str]) -> set[str]:
    """The hidden lines of cell sources (all the cells of the notebooks concerned)."""
    hidden, public = set(), set()
    for source in sources:
        inside = False
        for line in source.splitlines():
            if BEGIN in line:
                inside = True
            elif END in line:
                inside = False
            elif line.strip():
                (hidden if inside else public).add(line.strip())
    public_text = "\n".join(public)
    return {line for line in hidden - public if line not in public_text}


def _shows(line: str, lines: set[str]) -> bool:
    plain = _ANSI.sub("", line).strip()
    return (plain in lines or _GUTTER.sub("", plain).strip() in lines
            or any(len(h) >= QUOTED and h in plain for h in lines))


def redact(text: str, lines: set[str]) -> str:
    """``text`` with every line that shows a hidden line replaced by a notice."""
    if not lines:
        return text
    return "".join(REMOVED + ("\n" if line.endswith("\n") else "") if _shows(line, lines) else line
                   for line in text.splitlines(keepends=True))


def leaked(text: str, lines: set[str]) -> list[str]:
    """The hidden lines found in ``text`` (HTML is read as the text a browser shows)."""
    plain = [_ANSI.sub("", line).strip() for line in html.unescape(re.sub(r"<[^>]+>", "", text)).splitlines()]
    own = set(plain) | {_GUTTER.sub("", line).strip() for line in plain}
    joined = "\n".join(plain)
    return sorted(h for h in lines if h in own or (len(h) >= QUOTED and h in joined))
