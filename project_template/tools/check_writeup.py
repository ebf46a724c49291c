"""Check the write-up: it compiles, and its body fits in the course's 4 pages.

The body is everything from the title to ``\\bodyend`` in ``main.tex`` (figures and
tables included); the references and the contributions statement come after it and do
not count. ``\\bodyend`` (from ``sslproject.sty``) starts a new page, so that a partly
filled last page counts as a page, and writes into ``main.aux`` how many pages were
shipped out so far and the format they were set in. This script reads that record:
no guessing from the PDF's text.

Usage (from ``project_template/``)::

    python tools/check_writeup.py              # compile with latexmk, then check
    python tools/check_writeup.py --no-compile # check the last compile (main.aux)

Exits with 0 when the write-up passes, 1 with a message naming each problem otherwise.
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

PAGE_LIMIT = 4
# The format of sslproject.sty (11pt article, A4, 2.5 cm margins): the limit is measured in it.
FONT_SIZE_PT = 10.95
TEXT_WIDTH_PT = 455.24411
TEXT_HEIGHT_PT = 702.78308
LATEXMK = ["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", "-file-line-error"]
RECORD = re.compile(r"\\sslbodypages\{(\d+)\}\{([\d.]+)\}\{([\d.]+)pt\}\{([\d.]+)pt\}")
PLACEHOLDER_CODE_LINK = "github.com/your-group/your-project"


def compile_pdf(tex: Path) -> list[str]:
    """Run latexmk on ``tex``; return the problems (empty when it compiled)."""
    if shutil.which("latexmk") is None:
        return ["latexmk not found: install TeX Live (`sh tools/install_tex.sh` on Debian/Ubuntu, "
                "or see README.md), or compile on Overleaf and check there"]
    run = subprocess.run([*LATEXMK, tex.name], cwd=tex.parent, capture_output=True, text=True)
    if run.returncode == 0:
        return []
    log = tex.with_suffix(".log")
    errors = latex_errors(log.read_text(errors="replace")) if log.exists() else []
    detail = "\n".join(f"    {line}" for line in errors) or f"    {run.stdout[-1500:]}"
    return [f"LaTeX failed on {tex.name} (full log: {log.name}):\n{detail}"]


def latex_errors(log: str, limit: int = 12) -> list[str]:
    """The error lines of a LaTeX log (``file:line: message`` or ``! message``, then ``l.N``)."""
    lines = log.splitlines()
    picked = []
    for i, line in enumerate(lines):
        if line.startswith("! ") or re.match(r"^\S+\.\w+:\d+: ", line):
            picked.append(line)
            picked += [nxt for nxt in lines[i + 1:i + 4] if nxt.startswith("l.")]
    return picked[:limit]


def check_body(aux_text: str, limit: int = PAGE_LIMIT) -> list[str]:
    """Problems with the body's length and format, from the text of ``main.aux``."""
    records = RECORD.findall(aux_text)
    if not records:
        return ["no page record in main.aux: keep \\bodyend in main.tex, right before "
                "\\bibliography, and keep \\usepackage{sslproject}"]
    if len(records) > 1:
        return ["\\bodyend appears more than once: keep exactly one, right before \\bibliography"]
    pages, font, width, height = int(records[0][0]), *map(float, records[0][1:])
    problems = []
    if pages > limit:
        problems.append(f"the body runs to {pages} pages; the limit is {limit} pages "
                        "(excluding references and the contributions statement)")
    if font < FONT_SIZE_PT - 0.01 or width > TEXT_WIDTH_PT + 0.5 or height > TEXT_HEIGHT_PT + 0.5:
        problems.append(
            f"the format was changed: {font:g}pt text in a {width:.0f}pt x {height:.0f}pt block; "
            f"the course format is {FONT_SIZE_PT:g}pt (11pt) in {TEXT_WIDTH_PT:.0f}pt x "
            f"{TEXT_HEIGHT_PT:.0f}pt (A4, 2.5 cm margins), set by sslproject.sty; the page limit "
            "is measured in it, so undo the change (font size, margins, geometry, \\textheight)")
    return problems


def notes(tex: Path) -> list[str]:
    """Things worth fixing that do not fail the check."""
    found = []
    log = tex.with_suffix(".log")
    if log.exists():
        text = log.read_text(errors="replace")
        for kind in ("Citation", "Reference"):
            keys = sorted(set(re.findall(kind + r" `([^']+)' on page \d+ undefined", text)))
            if keys:
                found.append(f"undefined {kind.lower()}s: {', '.join(keys)}")
    if PLACEHOLDER_CODE_LINK in tex.read_text(errors="replace"):
        found.append("the code link is still the template's placeholder: set \\codelink{...} "
                     "to your repository (or the zip of your code)")
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tex", nargs="?", type=Path,
                        default=Path(__file__).resolve().parent.parent / "main.tex",
                        help="the write-up's main file (default: main.tex beside tools/)")
    parser.add_argument("--no-compile", action="store_true",
                        help="do not run latexmk; check the last compile's main.aux")
    parser.add_argument("--limit", type=int, default=PAGE_LIMIT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    tex = args.tex.resolve()
    if not tex.is_file():
        print(f"check_writeup: {tex} does not exist", file=sys.stderr)
        return 1

    problems = [] if args.no_compile else compile_pdf(tex)
    aux = tex.with_suffix(".aux")
    if not problems:
        if aux.exists():
            problems = check_body(aux.read_text(errors="replace"), args.limit)
        else:
            problems = [f"{aux.name} not found: compile first (`make pdf` or `latexmk -pdf {tex.name}`)"]
    for note in notes(tex):
        print(f"{tex.name}: note: {note}")
    if problems:
        for problem in problems:
            print(f"{tex.name}: FAILED: {problem}", file=sys.stderr)
        return 1
    pages = int(RECORD.search(aux.read_text(errors="replace")).group(1))
    print(f"{tex.name}: OK: the body takes {pages} of {args.limit} pages "
          "(references and the contributions statement excluded)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
