"""The sanitiser of what a student wrote (coursekit/grading/safehtml.py, sanitize.py): fast, no browser.

The browser checks (a catalog of XSS vectors in Chromium) are in tests/e2e/test_xss.py.
"""
from __future__ import annotations

import json
from html.parser import HTMLParser

import nbformat
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coursekit.grading import safehtml, sanitize

ALLOWED_ATTRS = {a for attrs in safehtml.ATTRIBUTES.values() for a in attrs} | {"rel", "type", "checked", "disabled"}


class _Tags(HTMLParser):
    """Every tag and attribute in an HTML text, as a browser's tokenizer sees them."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, str, str | None]] = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, "", None))
        self.found.extend((tag, name, value) for name, value in attrs)

    handle_startendtag = handle_starttag


def _problems(html: str) -> list:
    parser = _Tags()
    parser.feed(html)
    parser.close()
    bad = []
    for tag, attr, value in parser.found:
        if tag not in safehtml.TAGS:
            bad.append(("tag", tag))
        elif attr and (attr not in ALLOWED_ATTRS or attr.startswith("on")):
            bad.append(("attribute", tag, attr))
        elif attr in ("href", "src") and value is not None:
            v = "".join(value.split()).lower()
            if not (v.startswith(("http:", "https:", "mailto:", "#")) or
                    attr == "src" and v.startswith(("data:image/png;", "data:image/jpeg;", "data:image/gif;"))):
                bad.append(("url", tag, attr, value))
    return bad


def rendered(markdown_source: str) -> str:
    """What nbconvert (Formgrader, feedback) makes of a Markdown cell's source."""
    from nbconvert.filters.markdown_mistune import markdown2html_mistune
    return markdown2html_mistune(markdown_source)


HTMLISH = st.lists(st.sampled_from(list("<>/=\"'`~\\[]()!&#;: \n\tabcdefghijklmnopqrstuvwxyz0123456789")
                                   + ["<img", "<script", "<svg", "<a href=", "javascript:", "onerror=",
                                      "<iframe", "<math>", "<style>", "</style>", "&#x09;", "data:",
                                      "```", "~~~", "<!--", "-->", "<div>\n\n", "[x]:", "](", "$$"]),
                   max_size=40).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(HTMLISH)
def test_student_markdown_renders_only_allowed_tags(source):
    """Whatever the student wrote, the stored source rendered by nbconvert's Markdown renderer holds
    only allow-listed tags, attributes and URL schemes."""
    stored = safehtml.markdown(source)
    assert "\n" not in stored and stored.startswith("<div")
    assert not _problems(rendered(stored)), (source, stored)
    assert not _problems(safehtml.clean(source)), source


@settings(max_examples=200, deadline=None)
@given(HTMLISH)
def test_short_texts_render_as_themselves(text):
    """sanitize.markdown (comments): rendered, no HTML, link, image or code span the text could hold
    survives: only Markdown's text formatting, without a single attribute."""
    html = rendered(sanitize.markdown(text))
    parser = _Tags()
    parser.feed(html)
    formatting = {"p", "br", "pre", "code", "ul", "ol", "li", "blockquote", "hr", "em", "strong",
                  "h1", "h2", "h3", "h4", "h5", "h6"}
    assert {t for t, a, _ in parser.found} <= formatting, (text, html)
    assert not [a for t, a, _ in parser.found if a and (t, a) != ("ol", "start")], (text, html)


@pytest.mark.parametrize("vector", [
    "\\`<img src=x onerror=alert(1)>\\`", "~~~ <img src=x onerror=alert(1)> ~~~", "`` <img src=x onerror=alert(1)> `",
    "[a](javascript:alert(1))", "<javascript:alert(1)>", "[r][x]\n\n[x]: javascript:alert(1)",
    '<a href="jav&#x09;ascript:alert(1)">x</a>', "<svg onload=alert(1)>", '<iframe srcdoc="<script>x</script>">',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>", '<a href="data:text/html,x">d</a>',
    '<img src="data:image/svg+xml;base64,PHN2Zz4=">', "<style>*{}</style>", '<base href="javascript:x//">',
    '<form action="javascript:x"><button>b</button></form>', '<meta http-equiv="refresh" content="0;url=x">',
    "<details open ontoggle=alert(1)>", "<!--><img src=x onerror=alert(1)>-->",
])
def test_known_vectors_are_inert(vector):
    html = rendered(safehtml.markdown(vector))
    assert not _problems(html), html


def test_honest_markdown_still_renders():
    png = "iVBORw0KGgo="
    html = rendered(safehtml.markdown(
        "# Title\n\n*em* **strong** `a < b`\n\n```python\nx = 1\n\n\ny = 2\n```\n\n- one\n- two\n\n"
        "| a | b |\n|---|---|\n| 1 | 2 |\n\n[site](https://example.org) ![p](attachment:p.png) $x^2$ $$\\sum$$",
        safehtml.attachments({"p.png": {"image/png": png}, "s.svg": {"image/svg+xml": "PHN2Zz4="}})))
    for part in ("<h1>Title</h1>", "<em>em</em>", "<strong>strong</strong>", "<code>a &lt; b</code>",
                 '<span class="n">x</span>', "<li>one</li>", "<th>a</th>", 'href="https://example.org"',
                 f'src="data:image/png;base64,{png}"', "$x^2$", "$$\\sum$$"):
        assert part in html, (part, html)
    assert "&#10;&#10;&#10;" in html    # blank lines inside code kept, without ending the HTML block


def _notebook(cells, **meta):
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    nb.metadata.update(meta)
    return nbformat.writes(nb).encode()


def test_notebook_keeps_released_text_and_cleans_the_rest():
    released = "# Intro\n\n<div class=\"alert\">instructor's own HTML</div>"
    student = nbformat.v4.new_markdown_cell("\\`<img src=x onerror=alert(1)>\\`")
    raw = nbformat.v4.new_raw_cell("<img src=x onerror=alert(1)>")
    raw.metadata["raw_mimetype"] = "text/html"
    svg = nbformat.v4.new_markdown_cell("![a](attachment:a.svg)")
    svg.attachments = {"a.svg": {"image/svg+xml": "PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+"}}
    code = nbformat.v4.new_code_cell("x")
    code.outputs = [nbformat.v4.new_output("display_data", data={
        "text/html": "<b>bold</b><img src=x onerror=alert(1)><script>alert(1)</script>",
        "text/markdown": "\\`<img src=x onerror=alert(1)>\\`", "image/svg+xml": "<svg onload=alert(1)/>",
        "text/latex": "$x$", "application/javascript": "alert(1)", "text/plain": "<plain>"})]
    bad_meta = nbformat.v4.new_markdown_cell("text")
    bad_meta.metadata["nbgrader"] = {"grade": True, "grade_id": '"><img src=x onerror=alert(1)>', "points": 1}
    out = json.loads(sanitize.notebook_bytes(
        _notebook([nbformat.v4.new_markdown_cell(released), student, raw, svg, code, bad_meta],
                  widgets={"x": "</script>"}, title="<img>"), [], {released.strip()}))
    cells = out["cells"]
    assert cells[0]["source"] == released
    for cell in cells[1:4]:
        assert cell["cell_type"] == "markdown" and "attachments" not in cell
        assert not _problems(rendered(cell["source"]))
    data = cells[4]["outputs"][0]["data"]
    assert set(data) == {"text/html", "text/markdown", "text/plain"}
    assert data["text/html"].startswith("<b>bold</b>")
    assert not _problems(data["text/html"]) and "script" not in data["text/html"]
    assert not _problems(rendered(data["text/markdown"]))
    assert "nbgrader" not in cells[5]["metadata"]
    assert set(out["metadata"]) == {"kernelspec", "language_info"}


@pytest.mark.parametrize("raw, reason", [
    (b"\xff\xfe", "not a notebook"), (b"[" * 5000 + b"]" * 5000, "not a notebook"),
    (b'{"cells": "x"}', "no cells"), (b'{"cells": [], "x": 1' + b"1" * 5000 + b"}", "not a notebook"),
])
def test_bad_bytes_give_a_reason(raw, reason):
    with pytest.raises(ValueError, match=reason):
        sanitize.notebook_bytes(raw, [])


@settings(max_examples=200, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=30))
def test_any_cell_content_gives_a_notebook(value):
    """Wrong types anywhere in a cell (source, outputs, metadata, attachments, counts): a notebook
    or a ValueError, never another exception."""
    cells = [{"cell_type": kind, "source": value, "metadata": {"nbgrader": value}, "attachments": value,
              "outputs": [{"output_type": "display_data", "data": {"text/html": value, "image/png": value},
                           "metadata": {"image/png": {"width": value}}}, value],
              "execution_count": value, "id": value} for kind in ("markdown", "code", "raw")]
    raw = json.dumps({"cells": cells, "metadata": value}, default=str).encode()
    out = json.loads(sanitize.notebook_bytes(raw, ["/tmp/x"]))
    nbformat.validate(nbformat.from_dict(out))


def test_lone_surrogates_and_infinities():
    raw = b'{"cells": [{"cell_type": "markdown", "source": "\\ud800 <b>x</b>", "metadata": {}},' \
          b'{"cell_type": "code", "source": "", "execution_count": Infinity, "metadata": {}, "outputs": [' \
          b'{"output_type": "display_data", "data": {"image/png": "AAAA"}, "metadata": {"image/png": {"width": NaN}}}]}]}'
    out = json.loads(sanitize.notebook_bytes(raw, []))
    assert out["cells"][1]["execution_count"] is None and out["cells"][1]["outputs"][0]["metadata"] == {}
