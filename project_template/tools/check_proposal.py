"""Check a project proposal (Markdown): every required section is filled in, and the group
has 3 to 5 members.

The proposal follows ``proposal.md``: a ``# Project proposal: <title>`` line, then one
``## Heading`` per section. Text inside HTML comments (``<!-- ... -->``) is guidance and
does not count as content; leftover placeholders (TODO, TBD, FIXME, lorem ipsum,
``<your text here>``) count as unfilled.

Usage (from ``project_template/``)::

    python tools/check_proposal.py              # checks proposal.md beside tools/
    python tools/check_proposal.py other.md

Exits with 0 when the proposal passes, 1 with one message per problem otherwise.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

MIN_MEMBERS, MAX_MEMBERS = 3, 5
# Required sections: heading -> what it should say (from the course's opening lecture).
SECTIONS = {
    "Members": "the group, one member per line",
    "Project type": "application, algorithmic or theoretical project (or a combination)",
    "Motivation": "what problem you are solving and why it matters",
    "Method": "which self-supervised methods you plan to apply or improve",
    "Intended experiments": "which experiments you will run",
    "Datasets": "the datasets or benchmarks you will use",
    "Prior work": "the closest related work",
}
# Required subsections of "Intended experiments".
SUBSECTIONS = {
    "Evaluation": "how you will evaluate the results",
    "Baselines": "what you will compare against",
}
PROJECT_TYPES = ("application", "algorithmic", "theoretical")
PLACEHOLDERS = re.compile(
    r"\b(?:TODO|TBD|FIXME|XXX)\b|lorem ipsum|<[^<>@:/\n]*\s[^<>@:/\n]*>", re.IGNORECASE)
LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+(.*\S)\s*$")


def split_sections(text: str, level: int) -> dict[str, str]:
    """``{heading: body}`` for the Markdown headings of exactly ``level`` ``#``s.

    Headings are matched without case, numbering ("2. Method") or a trailing colon; a
    body runs to the next heading of the same or a higher level.
    """
    sections, current = {}, None
    for line in text.splitlines():
        heading = re.match(r"^(#{1,6})\s+(.*?)\s*#*\s*$", line)
        if heading and len(heading.group(1)) <= level:
            current = None
            if len(heading.group(1)) == level:
                current = normalize(heading.group(2))
                sections[current] = ""
                continue
        if current is not None:
            sections[current] += line + "\n"
    return sections


def normalize(heading: str) -> str:
    return re.sub(r"^[\d.\s]+|[:\s]+$", "", heading).strip().lower()


def check_text(name: str, body: str | None, what: str, heading: str) -> list[str]:
    """Problems with one section's body: missing, empty, or still a placeholder.

    Placeholders are looked for in the section's own text, before any subsection
    (subsections are checked on their own).
    """
    if body is None:
        return [f"section '{name}' is missing: add a '{heading} {name}' heading with {what}"]
    if not body.strip():
        return [f"section '{name}' is empty: write {what}"]
    placeholder = PLACEHOLDERS.search(re.split(r"^#{3,6}\s", body, flags=re.MULTILINE)[0])
    if placeholder:
        return [f"section '{name}' still holds placeholder text ({placeholder.group(0)!r}): "
                f"replace it with {what}"]
    return []


def check_members(body: str) -> list[str]:
    """Problems with the member list: 3 to 5 distinct names, one list item each."""
    names = [m.group(1) for m in map(LIST_ITEM.match, body.splitlines()) if m]
    if not names:
        return ["section 'Members' lists no names: write one member per line, as '- Name Surname'"]
    problems = []
    if not MIN_MEMBERS <= len(names) <= MAX_MEMBERS:
        problems.append(f"the member list has {len(names)} name{'s' * (len(names) != 1)}; "
                        f"a group has {MIN_MEMBERS} to {MAX_MEMBERS} members")
    keys = [re.split(r"[(<,]| - ", name)[0].strip().lower() for name in names]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        problems.append(f"the member list repeats {', '.join(duplicates)}")
    return problems


def check_proposal(text: str) -> list[str]:
    """Every problem with the proposal ``text`` (Markdown), as messages; empty when it passes."""
    text = re.sub(r"<!--.*?-->", "", text, flags=re.DOTALL)
    problems = []
    title = re.search(r"^#\s+(.*\S)\s*$", text, flags=re.MULTILINE)
    if title is None:
        problems.append("the title is missing: start with '# Project proposal: <your title>'")
    elif PLACEHOLDERS.search(title.group(1)) or normalize(title.group(1)) in {"project proposal", ""}:
        problems.append(f"the title is still a placeholder ({title.group(1)!r}): name your project")

    sections = split_sections(text, level=2)
    for name, what in SECTIONS.items():
        found = check_text(name, sections.get(name.lower()), what, "##")
        problems += found
        if found:
            continue
        body = sections[name.lower()]
        if name == "Members":
            problems += check_members(body)
        elif name == "Project type" and not any(t in body.lower() for t in PROJECT_TYPES):
            problems.append("section 'Project type' names no kind of project: say application, "
                            "algorithmic or theoretical (or a combination)")
        elif name == "Intended experiments":
            subsections = split_sections(body, level=3)
            for sub, sub_what in SUBSECTIONS.items():
                problems += check_text(sub, subsections.get(sub.lower()), sub_what, "###")
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("proposal", nargs="?", type=Path,
                        default=Path(__file__).resolve().parent.parent / "proposal.md",
                        help="the proposal to check (default: proposal.md beside tools/)")
    args = parser.parse_args(argv)
    if not args.proposal.is_file():
        print(f"check_proposal: {args.proposal} does not exist", file=sys.stderr)
        return 1
    problems = check_proposal(args.proposal.read_text(encoding="utf-8"))
    name = args.proposal.name
    if problems:
        for problem in problems:
            print(f"{name}: FAILED: {problem}", file=sys.stderr)
        print(f"{name}: {len(problems)} problem{'s' * (len(problems) != 1)}", file=sys.stderr)
        return 1
    print(f"{name}: OK: every required section is filled in")
    return 0


if __name__ == "__main__":
    sys.exit(main())
