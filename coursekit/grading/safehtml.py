"""HTML that a student wrote, made safe to show: rendered with a real Markdown renderer, then cleaned
with an allow-list (nh3), never with a regular expression.

* :func:`clean` keeps only the tags and attributes of :data:`TAGS`/:data:`ATTRIBUTES`; links may go to
  ``http(s):``/``mailto:`` or to ``#anchors`` in the page, images may come from ``http(s):`` or be
  PNG/JPEG/GIF ``data:`` URLs; classes are kept only when they are the syntax-highlighting or
  table classes that nbconvert and pandas write (a student's HTML cannot borrow Formgrader's classes);
  no ``style``, ``id``, ``name`` or event handler survives.
* :func:`markdown_html` renders Markdown with nbconvert's own renderer (mistune, with ``$...$`` math
  left as text for MathJax) and cleans the result; attachments become ``data:`` URLs when they are
  PNG/JPEG, nothing else is read (no files).
* :func:`as_markdown` turns clean HTML into Markdown source that every renderer (mistune in
  nbconvert, marked in JupyterLab) passes through unchanged: one line that starts with ``<div``, i.e. a
  single CommonMark HTML block (it ends only at a blank line, and there is none: line breaks are
  written as ``&#10;``). The text in it is entity-escaped by nh3, so no renderer finds Markdown syntax
  or tags in it that it could turn into something else.
* :func:`literal_markdown` is Markdown that renders as the literal text (for short texts shown
  through ``markdown2html``, e.g. comments).
"""
from __future__ import annotations

import base64
import binascii
import re

import jinja2
import nh3
from pygments.token import STANDARD_TYPES

TAGS = {"a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del", "details", "div", "dl",
        "dt", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "input", "ins", "kbd", "li", "mark",
        "ol", "p", "pre", "q", "s", "samp", "small", "span", "strike", "strong", "sub", "summary", "sup",
        "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul", "var"}
ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title", "width", "height"},
              "td": {"align", "colspan", "rowspan"}, "th": {"align", "colspan", "rowspan"},
              "ol": {"start"}, "abbr": {"title"},
              **{t: {"class"} for t in ("code", "div", "li", "pre", "span", "table", "tr")}}
# what Markdown task lists write; the box cannot be changed
INPUT_VALUES = {"input": {"type": {"checkbox"}, "checked": {"", "checked"}}}
INPUT_SET = {"input": {"disabled": "disabled"}}
URL_SCHEMES = {"http", "https", "mailto", "data"}   # data: only for images, see _attribute
LINK_REL = "noopener noreferrer nofollow"
IMAGE_MIME = ("image/png", "image/jpeg")

# Pygments' token classes, nbconvert's 'highlight', mistune's task lists, pandas' 'dataframe', ours
CLASSES = set(STANDARD_TYPES.values()) - {""} | {"highlight", "task-list-item", "task-list-item-checkbox",
                                                  "dataframe", "coursekit-student", "coursekit-text"}
_LANGUAGE = re.compile(r"^language-[A-Za-z0-9_+#-]{1,30}$")
_DATA_IMAGE = re.compile(r"^data:image/(?:png|jpeg|gif);base64,[A-Za-z0-9+/=\s]*$")
_NUMBER = re.compile(r"^\d{1,5}%?$")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+!|~$&:\"'=-])")


def _url_ok(value: str, image: bool) -> bool:
    scheme = _SCHEME.match(value)
    if scheme is None:   # relative: only an anchor in the page
        return not image and value.startswith("#")
    name = scheme.group(1).lower()
    if name == "data":
        return image and bool(_DATA_IMAGE.match(value))
    return name in ("http", "https") or (name == "mailto" and not image)


def _attribute(tag: str, attr: str, value: str) -> str | None:
    if attr == "class":
        kept = [c for c in value.split() if c in CLASSES or _LANGUAGE.match(c)]
        return " ".join(kept) or None
    if attr in ("href", "src"):
        return value if _url_ok(value.strip(), image=attr == "src") else None
    if attr in ("width", "height", "colspan", "rowspan", "start"):
        return value if _NUMBER.match(value.strip()) else None
    return value


def clean(html: str) -> str:
    """``html`` with everything outside the allow-list removed (scripts and styles with their
    content)."""
    return nh3.clean(text(html), tags=TAGS, clean_content_tags={"script", "style", "template", "noscript",
                                                                "textarea", "title", "xmp", "iframe", "noembed",
                                                                "noframes", "plaintext", "object", "svg", "math"},
                     attributes=ATTRIBUTES, attribute_filter=_attribute, url_schemes=URL_SCHEMES,
                     tag_attribute_values=INPUT_VALUES, set_tag_attribute_values=INPUT_SET,
                     link_rel=LINK_REL, strip_comments=True)


def text(value) -> str:
    """A str that any encoder takes (lone surrogates, which JSON allows, replaced)."""
    value = str(value)
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        return value.encode("utf-8", "replace").decode("utf-8")


def attachments(value) -> dict:
    """The PNG/JPEG attachments of a Markdown cell whose data is base64: {name: {mime: data}}."""
    out = {}
    if not isinstance(value, dict):
        return out
    for name, bundle in list(value.items())[:100]:
        if not isinstance(name, str) or not isinstance(bundle, dict):
            continue
        kept = {}
        for mime in IMAGE_MIME:
            data = bundle.get(mime)
            if isinstance(data, list) and all(isinstance(d, str) for d in data):
                data = "".join(data)
            if isinstance(data, str) and _is_base64(data):
                kept[mime] = data
        if kept:
            out[text(name)] = kept
    return out


def _is_base64(data: str) -> bool:
    try:
        base64.b64decode("".join(data.split()), validate=True)
        return True
    except (binascii.Error, ValueError):
        return False


def _renderer(attached: dict):
    from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

    class Renderer(IPythonRenderer):
        """nbconvert's renderer that reads no files and embeds only checked attachments."""

        def _embed_image_or_attachment(self, src: str) -> str:
            if src.startswith("attachment:"):
                bundle = attached.get(src[len("attachment:"):], {})
                for mime in IMAGE_MIME:
                    if mime in bundle:
                        return f"data:{mime};base64,{''.join(bundle[mime].split())}"
                return ""
            return src

    return MarkdownWithMath(renderer=Renderer(escape=False, exclude_anchor_links=True, embed_images=False))


MAX_MARKDOWN = 200_000   # longer Markdown is shown as text: rendering time must not depend on the student


def markdown_html(source: str, attached: dict | None = None) -> str:
    """Markdown rendered (as nbconvert does) and cleaned."""
    source = text(source)
    if len(source) > MAX_MARKDOWN:
        return "<pre>" + nh3.clean_text(source[:MAX_MARKDOWN]) + "\n…</pre>"
    try:
        html = _renderer(attached or {}).render(source)
    except RecursionError:   # deeply nested lists/quotes: shown as text
        html = "<pre>" + nh3.clean_text(source) + "</pre>"
    return clean(html)


@jinja2.pass_context
def markdown2html_filter(context, source) -> str:
    """nbconvert's ``markdown2html`` template filter, cleaned (for Formgrader's and feedback's
    templates): attachments of the cell being rendered are embedded when PNG/JPEG."""
    cell = context.get("cell") or {}
    return markdown_html(text(source), attachments(cell.get("attachments") if hasattr(cell, "get") else None))


def as_markdown(clean_html: str, kind: str = "student") -> str:
    """Clean HTML as Markdown source that renders to exactly that HTML (one HTML block, one line)."""
    body = clean_html.replace("\r", "&#13;").replace("\n", "&#10;")
    return f'<div class="coursekit-{kind}">{body}</div>'


def markdown(source: str, attached: dict | None = None) -> str:
    """Student Markdown as safe Markdown: :func:`as_markdown` of :func:`markdown_html`."""
    return as_markdown(markdown_html(source, attached))


def plain(source: str) -> str:
    """Text shown as text (a raw cell), as safe Markdown."""
    return as_markdown("<pre>" + nh3.clean_text(text(source)) + "</pre>", "text")


def literal_markdown(value) -> str:
    """Markdown that renders as the literal text ``value``: every character Markdown or HTML could
    give a meaning is backslash-escaped (CommonMark: any ASCII punctuation may be)."""
    return _MD_SPECIAL.sub(r"\\\1", text(value))
