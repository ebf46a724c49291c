"""Feedback HTML that runs none of a student's HTML or JavaScript: :class:`SanitizeFeedback`.

A student writes the markdown cells (their written answers) and everything their code
displays, so the feedback page would otherwise run their ``<script>``, ``onerror=``
handlers, ``javascript:`` links, ``<iframe>`` and ``application/javascript`` outputs in
the browser of whoever opens it. :class:`SanitizeFeedback` is nbconvert's own
:class:`~nbconvert.preprocessors.SanitizeHTML` (bleach), set up for feedback and made to
cover what it misses:

- markdown (cells, ``text/markdown`` outputs, the TA's comments) is rendered with
  nbconvert's markdown renderer *before* bleach cleans it, because that renderer turns
  ``[x](javascript:...)`` into a live link; the clean HTML is written back so that the
  template's own markdown rendering passes it through unchanged (:func:`inert`);
- tables, headings, code, lists and images stay, so the autograder's results table on top
  of the feedback still renders as a table; ``image/png`` and ``image/jpeg`` outputs are
  shown as they are (the template escapes them);
- ``text/html`` outputs are cleaned; ``application/javascript``, SVG, widget and other
  outputs are removed; so is the notebook's widget state.

Unsafe tags are removed rather than shown escaped; their text stays (as text).
nbgrader_config.py runs it last in ``GenerateFeedback.preprocessors``, after
:class:`~autograder.feedback.HideTests` (whose table quotes the students' error
messages), so plain ``nbgrader generate_feedback`` gets it too.

Example
-------
>>> SanitizeFeedback().sanitize_markdown("[x](javascript:alert(1)) <b onclick='f()'>y</b>")
'<div><p><a>x</a> <b>y</b></p>&#10;</div>'
"""
from __future__ import annotations

import re

import bleach
from mistune.renderers.html import HTMLRenderer
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from nbconvert.preprocessors.sanitize import SanitizeHTML
from traitlets import default

TAGS = sorted({*bleach.ALLOWED_TAGS, "p", "div", "span", "pre", "br", "hr", "h1", "h2", "h3", "h4", "h5",
               "h6", "table", "thead", "tbody", "tfoot", "tr", "th", "td", "caption", "img", "sub", "sup",
               "del", "s", "dl", "dt", "dd", "kbd", "samp", "var", "details", "summary"})
ATTRIBUTES = {**bleach.ALLOWED_ATTRIBUTES, "*": ["class", "id"],
              "img": ["src", "alt", "title", "width", "height"],
              "th": ["align", "colspan", "rowspan"], "td": ["align", "colspan", "rowspan"]}
# bleach keeps http(s) and mailto URLs only: no javascript:, no data: (so a markdown image
# attached to a cell shows its alt text; image outputs are not affected)
NEWLINE = re.compile(r"\r\n|\r|\n")


class Renderer(IPythonRenderer):
    """nbconvert's markdown renderer, leaving image URLs as written: it would embed a cell's
    attachments (bleach drops ``data:`` URLs anyway) and fail on a missing one."""

    def image(self, text: str, url: str, title: str | None = None) -> str:
        return HTMLRenderer.image(self, text, url, title)


def inert(html: str) -> str:
    """Sanitised ``html`` as markdown that renders to itself: one line (newlines as ``&#10;``,
    the same text in HTML) inside a ``<div>``, which markdown passes through as a raw HTML block.

    >>> inert("<pre>a\\n\\n[x](javascript:f())</pre>")
    '<div><pre>a&#10;&#10;[x](javascript:f())</pre></div>'
    """
    return f"<div>{NEWLINE.sub('&#10;', html)}</div>"


class SanitizeFeedback(SanitizeHTML):
    """nbconvert's SanitizeHTML for feedback pages (see the module doc): markdown rendered
    before it is cleaned, rich outputs cleaned or removed, widget state dropped."""

    @default("enabled")
    def _enabled_default(self):
        return True   # nbconvert's preprocessors are off unless enabled, even when listed

    @default("tags")
    def _tags_default(self):
        return TAGS

    @default("attributes")
    def _attributes_default(self):
        return ATTRIBUTES

    @default("strip")
    def _strip_default(self):
        return True

    @default("sanitized_output_types")
    def _sanitized_output_types_default(self):
        return {"text/html"}   # text/markdown: rendered first, in sanitize_code_outputs

    def preprocess(self, nb, resources):
        nb.metadata.pop("widgets", None)   # widget state: the embedded widget manager renders its HTML
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, cell_index):
        comment = cell.metadata.get("nbgrader", {}).get("comment")
        if comment:
            cell.metadata.nbgrader.comment = self.sanitize_markdown(comment)
        if cell.cell_type == "markdown":
            cell.source = self.sanitize_markdown(cell.source)
            return cell, resources
        return super().preprocess_cell(cell, resources, cell_index)

    def sanitize_code_outputs(self, outputs):
        """SanitizeHTML's, with ``text/markdown`` rendered first, and without the outputs that have
        nothing left to show (they would make the template warn)."""
        markdown = [output.data.pop("text/markdown", None) if "data" in output else None
                    for output in outputs]
        outputs = super().sanitize_code_outputs(outputs)
        for output, text in zip(outputs, markdown):
            if text is not None:
                text = text if isinstance(text, str) else "".join(text)
                output.data["text/markdown"] = self.sanitize_markdown(text)
        return [output for output in outputs if "data" not in output or output.data]

    def sanitize_markdown(self, source: str) -> str:
        """``source`` rendered as nbconvert renders markdown, cleaned by bleach, made :func:`inert`."""
        html = MarkdownWithMath(renderer=Renderer(escape=False)).render(source)
        return inert(self.sanitize_html_tags(html))
